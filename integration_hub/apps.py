from __future__ import annotations

from django.apps import AppConfig


class IntegrationHubConfig(AppConfig):
    name = "integration_hub"
    label = "integration_hub"
    verbose_name = "Integration hub"
