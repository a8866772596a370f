from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Referral hub"

    def ready(self) -> None:
        from hub import schema  # noqa: F401  (registers the OpenAPI extensions)
