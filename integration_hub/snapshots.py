"""Small, rarely edited tables that every deal reads, answered from the shared Django cache.

`snapshot(model, build)` gives what `build()` returns for a model (a list of its rows, the one
settings row), from the cache (Redis in production, shared by every worker) instead of the
database. A save or delete of one of the model's rows drops it everywhere (the signals that
`snapshot_tables` connects when the owning app is ready), a bulk change says so with
`snapshot_forget`, and a TTL (`HUB_SNAPSHOT_SECONDS`) bounds what a raw queryset update
could leave behind. Only tables whose every row is small and edited by people belong here:
crosswalk tables of customers or products grow with the business and are read by key instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")
_tables: set[str] = set()


def _key(model: type[Model]) -> str:
    return f"snapshot:{model._meta.label_lower}"


def snapshot(model: type[Model], build: Callable[[], T]) -> T:
    """The model's cached value, built and stored when absent (or when the model is not registered)."""
    key = _key(model)
    if key.removeprefix("snapshot:") not in _tables or settings.HUB_SNAPSHOT_SECONDS <= 0:
        return build()
    found = cache.get(key)
    if found is not None:
        return found
    value = build()
    cache.set(key, value, settings.HUB_SNAPSHOT_SECONDS)
    return value


def snapshot_forget(model: type[Model]) -> None:
    """Drop the model's snapshot, now and once more when the transaction commits (a reader in
    between may have stored the rows as they were before the change)."""
    key = _key(model)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def _changed(sender: type[Model], **_: Any) -> None:
    snapshot_forget(sender)


def snapshot_tables(*models: type[Model]) -> None:
    """Serve these models' snapshots from the cache; any row saved or deleted forgets them."""
    for model in models:
        _tables.add(model._meta.label_lower)
        post_save.connect(_changed, sender=model, dispatch_uid=f"snapshot-save-{model._meta.label_lower}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"snapshot-delete-{model._meta.label_lower}")
