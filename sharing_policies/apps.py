from django.apps import AppConfig


class SharingPoliciesConfig(AppConfig):
    name = "sharing_policies"
    verbose_name = "Sharing policies"
