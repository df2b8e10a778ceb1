from __future__ import annotations

from django.apps import AppConfig


class SapSandboxConfig(AppConfig):
    name = "integration_hub.sandbox.sap"
    label = "sandbox_sap"
    verbose_name = "Sap sandbox"
