"""Handoff services: idempotent receive, lifecycle transitions, CAS claims, redacted sync attempts."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integration_hub.connectors.base import CallRecord
from integration_hub.models import (
    Handoff,
    HandoffEvent,
    IllegalTransition,
    OutboundNotification,
    SyncAttempt,
    TransformationLog,
)
from integration_hub.services import (
    handoff_claim,
    handoff_receive,
    handoff_release,
    handoff_transition,
    handoffs_due,
    sync_attempt_add_healing,
    sync_attempt_record,
    transformation_log_add,
)
from tests.factories import ORG_ID, HandoffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_receives_a_deal_once_whatever_triggers_it(
    enqueued: list[int], django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        first, created = handoff_receive(
            org_id=ORG_ID,
            opportunity_id="0065g00000AbCdE",
            source="webhook",
            notification_id="04l000000000001",
            actor_label="webhook",
        )
        again, created_again = handoff_receive(
            org_id=ORG_ID[:15], opportunity_id="0065g00000AbCdEAAV", source="poll", actor_label="poll"
        )

    assert created is True
    assert created_again is False
    assert again.pk == first.pk
    assert first.source == "webhook"
    assert Handoff.objects.count() == 1
    assert HandoffEvent.objects.filter(handoff=first).count() == 1
    assert enqueued == [first.pk]


def test_it_changes_nothing_for_a_notification_id_seen_before() -> None:
    handoff, _ = handoff_receive(
        org_id=ORG_ID,
        opportunity_id="0065g00000AbCdEAAV",
        source="webhook",
        notification_id="04l000000000001",
        actor_label="webhook",
    )
    before = Handoff.objects.get().updated_at

    again, created = handoff_receive(
        org_id=ORG_ID,
        opportunity_id="0065g00000AbCdEAAV",
        source="webhook",
        notification_id="04l000000000001",
        actor_label="webhook",
    )

    assert (again.pk, created) == (handoff.pk, False)
    assert Handoff.objects.get().updated_at == before
    assert OutboundNotification.objects.count() == 1


def test_it_records_each_new_notification_id_of_a_known_deal() -> None:
    handoff, _ = handoff_receive(
        org_id=ORG_ID,
        opportunity_id="0065g00000AbCdEAAV",
        source="webhook",
        notification_id="04l000000000001",
        actor_label="webhook",
    )
    handoff_receive(
        org_id=ORG_ID,
        opportunity_id="0065g00000AbCdEAAV",
        source="webhook",
        notification_id="04l000000000002",
        actor_label="webhook",
    )

    assert set(OutboundNotification.objects.values_list("handoff_id", flat=True)) == {handoff.pk}
    assert OutboundNotification.objects.count() == 2


def test_it_rejects_an_unknown_source() -> None:
    with pytest.raises(ValueError, match="unknown handoff source"):
        handoff_receive(org_id=ORG_ID, opportunity_id="0065g00000AbCdEAAV", source="email", actor_label="x")


def test_it_moves_a_handoff_along_the_lifecycle_with_an_event_per_step() -> None:
    user = UserFactory()
    handoff = HandoffFactory()

    handoff_transition(handoff=handoff, to_status="validating", actor_label="worker", reason="extracted")
    handoff_transition(handoff=handoff, to_status="ready", actor_label="worker")
    handoff_transition(handoff=handoff, to_status="creating", actor_label="worker")
    handoff_transition(handoff=handoff, to_status="created", actor=user, sap_sales_order="4500000123")

    handoff.refresh_from_db()
    assert handoff.status == "created"
    assert handoff.sap_sales_order == "4500000123"
    steps = list(HandoffEvent.objects.filter(handoff=handoff).values_list("from_status", "to_status"))
    assert steps == [
        ("received", "validating"),
        ("validating", "ready"),
        ("ready", "creating"),
        ("creating", "created"),
    ]
    assert HandoffEvent.objects.filter(handoff=handoff).last().actor == user


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("received", "created"),
        ("written_back", "validating"),
        ("cancelled", "received"),
        ("blocked", "creating"),
        ("received", "nonsense"),
    ],
)
def test_it_raises_on_an_illegal_transition_and_writes_nothing(start: str, target: str) -> None:
    handoff = HandoffFactory(status=start)

    with pytest.raises(IllegalTransition, match=f"cannot go from '{start}' to '{target}'"):
        handoff_transition(handoff=handoff, to_status=target, actor_label="worker")

    handoff.refresh_from_db()
    assert handoff.status == start
    assert not HandoffEvent.objects.filter(handoff=handoff).exists()


def test_it_checks_transitions_against_the_stored_status_not_a_stale_copy() -> None:
    handoff = HandoffFactory(status="ready")
    stale = Handoff.objects.get(pk=handoff.pk)
    handoff_transition(handoff=handoff, to_status="cancelled", actor_label="ops")

    with pytest.raises(IllegalTransition):
        handoff_transition(handoff=stale, to_status="creating", actor_label="worker")


def test_it_lets_only_one_worker_claim_a_handoff() -> None:
    handoff = HandoffFactory(status="ready")

    first = handoff_claim(handoff_id=handoff.pk, from_statuses=["ready"], worker="w1")
    second = handoff_claim(handoff_id=handoff.pk, from_statuses=["ready"], worker="w2")

    assert first is not None and first.claimed_by == "w1"
    assert second is None
    assert handoff_release(handoff_id=handoff.pk, worker="w2") is False
    assert handoff_release(handoff_id=handoff.pk, worker="w1") is True
    assert handoff_claim(handoff_id=handoff.pk, from_statuses=["ready"], worker="w2") is not None


def test_it_does_not_claim_a_handoff_in_another_status() -> None:
    handoff = HandoffFactory(status="blocked")

    assert handoff_claim(handoff_id=handoff.pk, from_statuses=["ready", "validating"], worker="w1") is None


def test_it_never_stores_a_token_in_a_sync_attempt() -> None:
    handoff = HandoffFactory()
    record = CallRecord(
        system="sap",
        operation="create:A_SalesOrder",
        method="POST",
        url="https://sap.example/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder?token=abc123secret",
        request_headers={
            "Authorization": "Basic dXNlcjpwYXNz",
            "x-csrf-token": "CSRF-TOKEN-VALUE",
            "Accept": "application/json",
        },
        request_body={
            "PurchaseOrderByCustomer": "0065g00000AbCdEAAV",
            "password": "hunter2",
            "note": "Bearer eyJhbGciOi.secret",
        },
        status=201,
        response_headers={"Set-Cookie": "SAP_SESSIONID=sessionvalue"},
        response_body={"d": {"SalesOrder": "4500000123"}},
        duration_ms=42.5,
    )

    attempt = sync_attempt_record(
        handoff=handoff, record=record, healing=["refetched CSRF token x-csrf-token=NEWTOKEN"]
    )

    stored = json.dumps(
        [attempt.url, attempt.request, attempt.response, attempt.healing, attempt.error_message]
    )
    for secret in (
        "abc123secret",
        "dXNlcjpwYXNz",
        "CSRF-TOKEN-VALUE",
        "hunter2",
        "eyJhbGciOi",
        "sessionvalue",
    ):
        assert secret not in stored
    attempt.refresh_from_db()
    assert attempt.ok is True
    assert attempt.status_code == 201
    assert attempt.request["body"]["PurchaseOrderByCustomer"] == "0065g00000AbCdEAAV"
    assert attempt.response["body"] == {"d": {"SalesOrder": "4500000123"}}


def test_it_records_a_failed_call_and_the_healing_that_followed() -> None:
    record = CallRecord(
        system="sap",
        operation="create:A_SalesOrder",
        method="POST",
        url="https://sap.example/x",
        status=403,
        error_class="CsrfTokenExpired",
        error_message="CSRF token expired; token=oldvalue",
    )

    attempt = sync_attempt_record(handoff=None, record=record)
    sync_attempt_add_healing(attempt=attempt, step={"action": "refetch_csrf_token"})

    attempt = SyncAttempt.objects.get(pk=attempt.pk)
    assert attempt.ok is False
    assert "oldvalue" not in attempt.error_message
    assert attempt.healing == [{"action": "refetch_csrf_token"}]


def test_it_logs_a_transformation_with_its_confidence() -> None:
    handoff = HandoffFactory()

    transformation_log_add(
        handoff=handoff,
        field_path="transaction.line_item.material",
        source_value="Enterprise License - Annual",
        result_value="MAT-EL-001",
        rule="product crosswalk",
        confidence=0.98,
    )

    log = TransformationLog.objects.get()
    assert log.confidence == Decimal("0.980")
    assert log.result_value == "MAT-EL-001"
    with pytest.raises(ValueError, match="outside"):
        transformation_log_add(
            handoff=handoff, field_path="x", source_value=1, result_value=1, rule="r", confidence=1.5
        )


def test_it_finds_work_a_lost_message_left_behind() -> None:
    now = timezone.now()
    due = HandoffFactory(status="ready", next_attempt_at=now - timedelta(seconds=1))
    later = HandoffFactory(status="creating", next_attempt_at=now + timedelta(minutes=5))
    held = HandoffFactory(
        status="ready", next_attempt_at=now - timedelta(seconds=1), claimed_at=now, claimed_by="w1"
    )
    waiting = HandoffFactory(status="blocked", next_attempt_at=now - timedelta(seconds=1))
    Handoff.objects.filter(pk=due.pk).update(updated_at=now - timedelta(minutes=5))
    stale = HandoffFactory(status="received")
    Handoff.objects.filter(pk=stale.pk).update(updated_at=now - timedelta(minutes=5))

    found = set(handoffs_due(now=now, stale_after_seconds=60).values_list("pk", flat=True))

    assert found == {due.pk, stale.pk}
    assert not found & {later.pk, held.pk, waiting.pk}
