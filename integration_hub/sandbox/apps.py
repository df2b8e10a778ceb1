from __future__ import annotations

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "integration_hub.sandbox"
    label = "sandbox"
    verbose_name = "Sandboxes (fault injection)"
