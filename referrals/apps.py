from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from referrals.models import Programme, Referral

        auditlog.register(Programme)
        # Status, ids and parties only: never a referral's personal data in the change log.
        auditlog.register(
            Referral,
            include_fields=[
                "id",
                "status",
                "referrer",
                "provider",
                "programme",
                "partner_service",
            ],
            m2m_fields={"observers"},
        )
