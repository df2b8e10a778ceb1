"""The Celery app. PostgreSQL is the source of truth; the broker only wakes workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_init
from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

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


@worker_init.connect
def _worker_commits_without_waiting_for_the_disk(**kwargs: Any) -> None:
    """A worker's PostgreSQL sessions commit with `synchronous_commit = off` (unless
    HUB_WORKER_SYNCHRONOUS_COMMIT): a commit returns before its WAL reaches the disk, so a step
    does not wait on an fsync for each transition and sync attempt.

    A PostgreSQL crash (not a worker's: kill -9 loses nothing committed) can then forget the last
    fraction of a second of worker writes, never half of one. Each is re-derived when the sweeper
    re-runs the handoff from the status PostgreSQL kept: the order is looked up before it is created
    (NetSuite's is an upsert), a write-back is written again, an exception opens again. What arrives
    from outside (webhooks, uploads) and what people decide is written by the web, which keeps
    waiting for the disk. The pool processes forked after this inherit the handler.
    """
    if not settings.HUB_WORKER_SYNCHRONOUS_COMMIT:
        connection_created.connect(_commit_asynchronously, dispatch_uid="worker-async-commit")


def _commit_asynchronously(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
