from django.apps import AppConfig


class SharingPoliciesConfig(AppConfig):
    name = "sharing_policies"
    verbose_name = "Sharing policies"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from sharing_policies.models import Agreement, AgreementVersion

        auditlog.register(Agreement)
        auditlog.register(AgreementVersion)
