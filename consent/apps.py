from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from consent.models import Consent

        # Status, ids and parties only: never what the provisions or evidence say.
        auditlog.register(
            Consent,
            include_fields=["id", "referral", "data_subject", "recorded_by", "withdrawn_at"],
        )
