"""The hub's web pages for people (issue 14): the sign-in page, the root URL, the signed-in home
page and the accessibility statement. Layout in hub/templates/hub/base.html; styles and scripts
built by `make assets` (WEB-NOTES.md)."""

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ObjectDoesNotExist
from django.forms.boundfield import BoundField
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe


class GovukBoundField(BoundField):
    """A field rendered as a GOV.UK input: red when it has an error (Django itself adds
    aria-invalid and the aria-describedby that names the error message)."""

    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        if self.errors:
            widget = widget or self.field.widget
            attrs["class"] = f"{widget.attrs.get('class', '')} govuk-input--error".strip()
        return attrs


class SignInForm(AuthenticationForm):
    """Django's sign-in form with GOV.UK inputs and GOV.UK's wording for errors."""

    bound_field_class = GovukBoundField
    # GOV.UK forms validate on the server only: the browser's own bubbles skip the error summary.
    use_required_attribute = False
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Enter a correct user name and password. Both are case-sensitive."),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        username, password = self.fields["username"], self.fields["password"]
        username.label = _("User name")
        username.error_messages["required"] = _("Enter your user name")
        password.label = _("Password")
        password.error_messages["required"] = _("Enter your password")
        # No autofocus: the first Tab must reach the skip link, and after a failed attempt the
        # error summary takes focus (GOV.UK's guidance on autofocus).
        username.widget.attrs.pop("autofocus", None)
        username.widget.attrs.update(
            {"class": "govuk-input", "autocomplete": "username", "spellcheck": "false"}
        )
        password.widget.attrs.update({"class": "govuk-input", "autocomplete": "current-password"})


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "registration/login.html"
    next_page = "root"


@require_safe
def root(request: HttpRequest) -> HttpResponse:
    """The sign-in page for someone signed out; their home page for someone signed in."""
    if request.user.is_authenticated:
        return redirect("home")
    return redirect("login")


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    try:
        membership = request.user.membership
    except ObjectDoesNotExist:
        membership = None
    return render(request, "hub/home.html", {"membership": membership})


@require_safe
def accessibility_statement(request: HttpRequest) -> HttpResponse:
    return render(request, "hub/accessibility.html")
