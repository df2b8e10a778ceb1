"""Exception services: upsert on the open fingerprint, resolution unblocks the handoff."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from exceptions.models import CATALOGUE, ExceptionEvent, Queue, SyncException
from exceptions.services import ExceptionNotOpen, exception_dismiss, exception_open, exception_resolve
from integration_hub.models import HandoffEvent
from tests.factories import HandoffFactory, UserFactory

pytestmark = pytest.mark.django_db


def open_unmapped(handoff: object, code: str = "SKU-42", **kwargs: object) -> SyncException:
    return exception_open(
        handoff=handoff,  # type: ignore[arg-type]
        type_code="product_not_mapped",
        fingerprint=code,
        title=f"Product {code} has no SAP material",
        message="Add the product to the crosswalk.",
        evidence={"crm_product_code": code, **kwargs},
    )


SEVEN = {"master-data", "pricing", "credit", "product-ops", "logistics", "sales-ops", "integration-ops"}


def test_it_made_all_seven_catalogue_queues_in_a_data_migration() -> None:
    # Run the migration's own function on an empty table: a transactional test elsewhere in the
    # suite may have flushed the rows the real migration wrote.
    seed = importlib.import_module("exceptions.migrations.0002_seed_queues")
    Queue.objects.all().delete()

    seed.create_queues(django_apps, None)
    seed.create_queues(django_apps, None)  # idempotent

    assert set(Queue.objects.values_list("slug", flat=True)) == SEVEN
    assert (
        MigrationRecorder(connection).migration_qs.filter(app="exceptions", name="0002_seed_queues").exists()
    )
    # The deal side's seven; accounts payable's six come from 0016_ap_queues.
    assert {entry.queue_slug for entry in CATALOGUE.values() if not entry.ap_action} == SEVEN
    assert MigrationRecorder(connection).migration_qs.filter(app="exceptions", name="0016_ap_queues").exists()


def test_it_routes_a_new_exception_to_its_catalogue_queue_with_an_event() -> None:
    exception = exception_open(
        handoff=HandoffFactory(status="validating"),
        type_code="pricing_mismatch",
        fingerprint="line-1",
        title="Price differs by 4.2 %",
        message="CRM 100.00, SAP 104.20",
        evidence={"crm": "100.00", "sap": "104.20"},
    )

    assert exception.queue.slug == "pricing"
    assert exception.fingerprint == "pricing_mismatch:line-1"
    assert exception.status == "open"
    assert list(
        ExceptionEvent.objects.filter(exception=exception).values_list("from_status", "to_status")
    ) == [("", "open")]


def test_it_updates_the_open_exception_when_a_rerun_sees_the_same_defect() -> None:
    handoff = HandoffFactory(status="validating")
    first = open_unmapped(handoff, run=1)

    again = open_unmapped(handoff, run=2)

    assert again.pk == first.pk
    assert SyncException.objects.filter(handoff=handoff, status="open").count() == 1
    again.refresh_from_db()
    assert again.occurrences == 2
    assert again.evidence["run"] == 2
    assert again.last_seen >= again.first_seen


def test_it_opens_a_new_exception_when_the_old_one_for_that_defect_was_resolved() -> None:
    handoff = HandoffFactory(status="validating")
    first = open_unmapped(handoff)
    exception_resolve(exception=first, actor=None, note="mapped")

    second = open_unmapped(handoff)

    assert second.pk != first.pk
    assert SyncException.objects.filter(handoff=handoff).count() == 2


def test_it_keeps_different_defects_apart() -> None:
    handoff = HandoffFactory(status="validating")

    open_unmapped(handoff, "SKU-1")
    open_unmapped(handoff, "SKU-2")

    assert SyncException.objects.filter(handoff=handoff, status="open").count() == 2


def test_it_rejects_an_unknown_type_code() -> None:
    with pytest.raises(ValueError, match="unknown exception type"):
        exception_open(
            handoff=HandoffFactory(), type_code="bad_vibes", fingerprint="x", title="t", message="m"
        )


def test_it_sends_a_blocked_handoff_back_to_validation_when_its_last_exception_is_resolved(
    enqueued: list[int], django_capture_on_commit_callbacks: object
) -> None:
    steward = UserFactory()
    handoff = HandoffFactory(status="blocked")
    one = open_unmapped(handoff, "SKU-1")
    two = open_unmapped(handoff, "SKU-2")

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        exception_resolve(exception=one, actor=steward, note="mapped SKU-1")
    handoff.refresh_from_db()
    assert handoff.status == "blocked"
    assert enqueued == []

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        resolved = exception_resolve(exception=two, actor=steward, note="mapped SKU-2")

    handoff.refresh_from_db()
    assert handoff.status == "validating"
    assert enqueued == [handoff.pk]
    assert (resolved.status, resolved.resolved_by, resolved.resolution_note) == (
        "resolved",
        steward,
        "mapped SKU-2",
    )
    event = HandoffEvent.objects.filter(handoff=handoff).last()
    assert (event.from_status, event.to_status, event.actor) == ("blocked", "validating", steward)
    assert ExceptionEvent.objects.filter(exception=two, to_status="resolved", actor=steward).exists()


def test_it_unblocks_on_dismissal_too() -> None:
    handoff = HandoffFactory(status="blocked")
    exception = open_unmapped(handoff)

    exception_dismiss(exception=exception, actor=None, note="duplicate")

    handoff.refresh_from_db()
    assert handoff.status == "validating"


def test_it_leaves_a_handoff_that_is_not_blocked_alone(
    enqueued: list[int], django_capture_on_commit_callbacks: object
) -> None:
    handoff = HandoffFactory(status="validating")
    exception = open_unmapped(handoff)

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        exception_resolve(exception=exception, actor=None, note="fixed")

    handoff.refresh_from_db()
    assert handoff.status == "validating"
    assert enqueued == []


def test_it_refuses_to_resolve_an_exception_twice() -> None:
    exception = open_unmapped(HandoffFactory(status="blocked"))
    exception_resolve(exception=exception, actor=None, note="fixed")

    with pytest.raises(ExceptionNotOpen):
        exception_resolve(exception=exception, actor=None, note="again")
