"""Reads and writes of `NsRecord` rows, internal ids and document numbers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from integration_hub.sandbox.netsuite.models import NsRecord, NsSequence

Row = dict[str, Any]

# Where each table's internal ids start (seeded rows sit below these).
ID_START = {"customer": 5001, "item": 2001, "transaction": 10001, "term": 101, "currency": 101, "subsidiary": 101,
            "priceLevel": 101}


def next_value(name: str, start: int) -> int:
    """Draw the next value of a sequence (row-locked, so processes never collide)."""
    with transaction.atomic():
        # ON CONFLICT DO NOTHING: two first requests at once must not both try to create the row.
        NsSequence.objects.bulk_create([NsSequence(name=name, next_value=start)], ignore_conflicts=True)
        sequence = NsSequence.objects.select_for_update().get(name=name)
        value = sequence.next_value
        sequence.next_value = value + 1
        sequence.save(update_fields=["next_value"])
    return value


def next_id(table: str) -> int:
    return next_value(f"id:{table}", ID_START.get(table, 1001))


def of_types(record_types: Iterable[str]) -> QuerySet[NsRecord]:
    return NsRecord.objects.filter(record_type__in=list(record_types))


def find(record_types: Iterable[str], key: str, *, lock: bool = False) -> NsRecord | None:
    """The record `key` names: an internal id, or `eid:<externalId>`."""
    qs = of_types(record_types)
    if lock:
        qs = qs.select_for_update()
    if key.startswith("eid:"):
        matches = list(qs.filter(external_id=key[4:])[:2])
        return matches[0] if len(matches) == 1 else None
    if not key.isdigit() or len(key) > 9:
        return None
    return qs.filter(internal_id=int(key)).first()


def rows(record_types: Iterable[str]) -> list[NsRecord]:
    return list(of_types(record_types).order_by("internal_id"))
