from __future__ import annotations

from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class IntegrationHubConfig(AppConfig):
    name = "integration_hub"
    label = "integration_hub"
    verbose_name = "Integration hub"

    def ready(self) -> None:
        # Importing settings writes nothing; the embedded files get their folders once Django
        # starts, before the first connection or request needs them.
        database = settings.DATABASES["default"]
        name = str(database.get("NAME") or "")
        if database["ENGINE"] == "django.db.backends.sqlite3" and name and not name.startswith(
                (":memory:", "file:")):
            # SQLite cannot create the folder its file lives in.
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        if settings.DEBUG or settings.HUB_SANDBOX:
            # WhiteNoise warns about a missing STATIC_ROOT; in production `collectstatic` makes it
            # (and the folder may not be writable at all).
            Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
