from __future__ import annotations

from django.apps import AppConfig


class CrosswalksConfig(AppConfig):
    name = "crosswalks"
    label = "crosswalks"
