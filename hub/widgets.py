"""GOV.UK Frontend's inputs as Django widgets, for every form of the web pages (one place for
their classes: govuk-input, govuk-textarea, govuk-select; WEB-NOTES.md), and the choice fields
several forms ask alike."""

from django import forms
from django.utils.translation import gettext_lazy as _

from referrals.states import RISK_LEVELS, RISK_TOOLS


def text_input(width: str = "", **attrs: str) -> forms.TextInput:
    """A text input; `width` is one of GOV.UK's fixed widths (10, 20, ...) or "" for the full."""
    css = f"govuk-input govuk-input--width-{width}" if width else "govuk-input"
    return forms.TextInput(attrs={"class": css, **attrs})


def textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"class": "govuk-textarea", "rows": rows})


def select() -> forms.Select:
    return forms.Select(attrs={"class": "govuk-select"})


def date_input() -> forms.DateInput:
    """The browser's date picker, which submits YYYY-MM-DD."""
    return forms.DateInput(attrs={"type": "date", "class": "govuk-input govuk-input--width-10"})


def datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(
        attrs={"type": "datetime-local", "class": "govuk-input govuk-input--width-20"}
    )


def risk_tool_field(empty: str = _("None")) -> forms.ChoiceField:
    """The coded risk tools (referrals.states.RISK_TOOLS), optional."""
    return forms.ChoiceField(
        label=_("Risk assessment tool"),
        required=False,
        choices=[("", empty), *((tool, tool) for tool in RISK_TOOLS)],
        widget=select(),
    )


def risk_level_field(
    label: str = _("Risk level"), empty: str = _("Not assessed")
) -> forms.ChoiceField:
    """The levels of every tool (each tool's own are checked by the API's serializers)."""
    return forms.ChoiceField(
        label=label,
        required=False,
        choices=[("", empty), *((level, level) for level in RISK_LEVELS)],
        widget=select(),
    )
