from __future__ import annotations

from django.apps import AppConfig


class SalesforceSandboxConfig(AppConfig):
    name = "integration_hub.sandbox.salesforce"
    label = "sandbox_salesforce"
    verbose_name = "Salesforce sandbox"
