"""The admin belongs to the hub operator (issue 12, item 3).

Only an active staff member (`is_staff`) of the active hub operator agency may use it; anyone
else who signs in is shown the admin's sign-in page again, as Django does for non-staff.
`ADMIN_ENABLED=0` leaves it unmounted (hub.urls). Sign-in failures lock out (django-axes) and
are recorded (audit.signals).
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

# The agency kind's value, not agencies.models: this module is loaded with INSTALLED_APPS,
# before any model may be imported.
HUB_OPERATOR = "hub_operator"


class HubAdminSite(AdminSite):
    site_header = "Referral hub administration"
    site_title = "Referral hub"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        membership = getattr(user, "membership", None)
        return bool(
            membership is not None
            and membership.agency.kind == HUB_OPERATOR
            and membership.agency.active
        )


class HubAdminConfig(AdminConfig):
    default_site = "hub.admin_site.HubAdminSite"
