from __future__ import annotations

from django.apps import AppConfig


class NetSuiteSandboxConfig(AppConfig):
    name = "integration_hub.sandbox.netsuite"
    label = "sandbox_netsuite"
    verbose_name = "NetSuite sandbox"
