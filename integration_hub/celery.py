"""The Celery app. PostgreSQL is the source of truth; the broker only wakes workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_hub.settings")

app = Celery("integration_hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The filesystem broker's folders (settings.py puts them all under var/).
FILESYSTEM_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


@app.on_after_configure.connect
def _make_broker_folders(sender: Celery, source: Any, **kwargs: Any) -> None:
    """The embedded broker's folders, made when a process (web or worker) first configures Celery.

    Kombu's filesystem transport lists and writes them without creating them (and makes the control
    folder without its parents).
    """
    if not str(source.broker_url or "").startswith("filesystem:"):
        return
    options = source.broker_transport_options or {}
    for key in FILESYSTEM_FOLDERS:
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
