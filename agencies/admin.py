"""Admin for the hub operator's staff: agencies, staff and clients (never referral data)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from agencies.models import Agency, Client, StaffMembership, User
from agencies.registration import RegistrationFault, registration_for


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active", "created_at")
    list_filter = ("kind", "active")
    search_fields = ("name",)


class StaffMembershipInline(admin.StackedInline):
    model = StaffMembership
    can_delete = False


@admin.register(User)
class HubUserAdmin(UserAdmin):
    inlines = (StaffMembershipInline,)


# DOT registers its own admin for the application model, which would show and set secrets.
admin.site.unregister(Client)


class ClientAdminForm(forms.ModelForm):
    """The same registration rule as `manage.py create_client` (agencies.registration)."""

    class Meta:
        model = Client
        # Never the secret: it is hashed on save and shown once by `manage.py create_client`.
        fields = (
            "name",
            "agency",
            "active",
            "client_type",
            "authorization_grant_type",
            "redirect_uris",
            "scopes",
            "purposes",
            "default_purpose",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        agency = data.get("agency")
        if agency is None or self.errors:
            return data
        try:
            registration = registration_for(
                kind=agency.kind,
                scopes=data.get("scopes", "").split(),
                purposes=data.get("purposes", "").split(),
                default_purpose=data.get("default_purpose", ""),
            )
        except RegistrationFault as fault:
            raise forms.ValidationError({fault.field: fault.message}) from fault
        data["scopes"] = " ".join(registration.scopes)
        data["purposes"] = " ".join(registration.purposes)
        return data


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    form = ClientAdminForm
    list_display = ("name", "client_id", "agency", "active", "scopes", "purposes")
    list_filter = ("agency__kind", "active")
    search_fields = ("name", "client_id", "agency__name")
    fields = ("client_id", *ClientAdminForm.Meta.fields)
    readonly_fields = ("client_id",)
