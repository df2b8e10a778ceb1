from django.apps import AppConfig


class ApConfig(AppConfig):
    name = "integration_hub.ap"
    label = "ap"
    verbose_name = "Accounts payable"
    default_auto_field = "django.db.models.BigAutoField"
