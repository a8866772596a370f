from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from agencies.models import Agency, Client, StaffMembership

        auditlog.register(Agency)
        # Where a person last looked at the change feed is no change to their membership.
        auditlog.register(StaffMembership, exclude_fields=["changes_seen"])
        # Never the secret (the default mask would keep half of it visible).
        auditlog.register(Client, exclude_fields=["client_secret"])

        from agencies import signals

        # Deactivating a person, a client or an agency revokes their tokens at once.
        signals.connect()
