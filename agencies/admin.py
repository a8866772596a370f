"""Admin for the hub operator's staff: agencies, staff and clients (never referral data)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from agencies.models import Agency, Client, StaffMembership, User


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


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ("name", "client_id", "agency", "scopes", "default_purpose")
    list_filter = ("agency__kind",)
    search_fields = ("name", "client_id", "agency__name")
    # The secret is hashed on save and shown once by `manage.py create_client`; the admin
    # never shows or sets it.
    exclude = ("client_secret", "hash_client_secret", "user")
    readonly_fields = ("client_id",)
