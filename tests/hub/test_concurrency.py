"""Concurrent triggers for the same deal end on one row (real transactions, real threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from exceptions.models import SyncException
from exceptions.services import exception_open
from integration_hub.models import Handoff, HandoffEvent, OutboundNotification
from integration_hub.services import handoff_receive
from tests.factories import ORG_ID, HandoffFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(target: object, count: int) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            target(index)  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_it_creates_one_handoff_when_webhook_and_poll_race() -> None:
    def receive(index: int) -> None:
        handoff_receive(
            org_id=ORG_ID,
            opportunity_id="0065g00000AbCdEAAV",
            source="webhook" if index % 2 else "poll",
            notification_id="04l5g000001XyZaAAK" if index % 2 else None,
            actor_label="race",
        )

    assert run_together(receive, 8) == []
    assert Handoff.objects.count() == 1
    assert HandoffEvent.objects.count() == 1
    assert OutboundNotification.objects.count() == 1


def test_it_keeps_one_open_exception_when_two_workers_see_the_same_defect() -> None:
    handoff = HandoffFactory(status="validating")

    def report(index: int) -> None:
        exception_open(
            handoff=handoff,
            type_code="product_not_mapped",
            fingerprint="SKU-42",
            title="SKU-42 has no SAP material",
            message="",
            evidence={"worker": index},
        )

    assert run_together(report, 6) == []
    exception = SyncException.objects.get()
    assert exception.occurrences == 6
