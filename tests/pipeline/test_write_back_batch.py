"""Write-backs in a burst (issue 13): created deals go back to Salesforce together, through
`composite/sobjects`, at most 200 records a call — fewer than one call per deal — and a record
Salesforce refuses fails only its own deal.

Salesforce sandbox over HTTP; the handoffs are rows in `created` as the pipeline leaves them.
"""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

import pytest

from integration_hub import pipeline
from integration_hub.celery import app as celery_app
from integration_hub.dispatch import PROCESS_HANDOFF, WRITE_BACKS_FLUSH
from integration_hub.metrics import celery_queues
from integration_hub.models import Handoff, HandoffStatus, SyncAttempt, salesforce_id_18
from integration_hub.sandbox.salesforce import store
from integration_hub.tasks import process_handoff
from tests.pipeline.conftest import ORG_ID, World

pytestmark = pytest.mark.django_db(transaction=True)
S = HandoffStatus


def _created(count: int) -> list[Handoff]:
    """`count` deals whose SAP orders exist and whose write-back is due."""
    rows = []
    for n in range(count):
        record = store.record_create(sobject="Opportunity", data={
            "Name": f"Burst deal {n}", "StageName": "Closed Won", "CloseDate": "2026-12-31"})
        rows.append(Handoff(org_id=ORG_ID, opportunity_id=salesforce_id_18(record.record_id), source="webhook",
                            status=S.CREATED, sap_sales_order=f"{5100000 + n}"))
    return Handoff.objects.bulk_create(rows)


def _composites() -> list[SyncAttempt]:
    return list(SyncAttempt.objects.filter(system="salesforce", operation="composite:sobjects").order_by("pk"))


def test_a_burst_of_250_write_backs_goes_out_as_two_composite_calls_of_at_most_200(world: World) -> None:
    handoffs = _created(250)

    sent = pipeline.write_backs_flush(worker="flush-test")

    assert sent == 250
    calls = _composites()
    assert [len(call.response["body"]) for call in calls] == [200, 50]
    assert all(call.method == "PATCH" and call.ok for call in calls)
    assert Handoff.objects.filter(status=S.WRITTEN_BACK).count() == 250
    assert not Handoff.objects.exclude(claimed_by="").exists()  # every claim given back
    for handoff in (handoffs[0], handoffs[199], handoffs[249]):
        opportunity = world.opportunity(handoff.opportunity_id)
        assert opportunity["SAP_Sales_Order__c"] == handoff.sap_sales_order
        assert opportunity["ERP_Sync_Status__c"] == "Created"
        event = handoff.events.get(to_status=S.WRITTEN_BACK)
        assert "one composite call for" in event.reason


def test_a_record_salesforce_refuses_fails_its_own_deal_and_the_others_are_written_back(world: World) -> None:
    refused, *others = _created(3)
    world.fault("salesforce", operation=f"composite:sobjects:Opportunity:{refused.opportunity_id}",
                kind="status", status=400, message="Opportunity is locked for audit", times=1)

    pipeline.write_backs_flush(worker="flush-test")

    refused.refresh_from_db()
    assert refused.status == S.FAILED
    assert "Opportunity is locked for audit" in refused.last_error
    assert {h.status for h in Handoff.objects.filter(pk__in=[h.pk for h in others])} == {S.WRITTEN_BACK}
    assert len(_composites()) == 1


def test_salesforce_down_for_the_batch_leaves_every_deal_to_retry_and_nothing_written(world: World) -> None:
    handoffs = _created(3)
    world.fault("salesforce", operation="composite:sobjects", kind="status", status=503, times=1)

    with mock.patch.object(process_handoff, "apply_async"):
        pipeline.write_backs_flush(worker="flush-test")

    for handoff in handoffs:
        handoff.refresh_from_db()
        assert handoff.status == S.CREATED
        assert handoff.attempts == 1 and handoff.next_attempt_at is not None
        assert handoff.claimed_by == ""


def test_with_a_linger_the_pipeline_hands_created_deals_to_one_flush(sync_world: World, settings: Any) -> None:
    settings.HUB_WRITEBACK_LINGER_SECONDS = 30  # the window outlasts the three deals
    asked: list[tuple[str, float | None]] = []
    deals = []
    with mock.patch.object(pipeline, "send_now", side_effect=lambda name, countdown=None: asked.append(
            (name, countdown)) or True):
        for _ in range(3):
            opportunity_id = sync_world.flow.open_deal(sync_world.flow.planner.plan("clean"))
            sync_world.flow.close_won(opportunity_id)
            deals.append(sync_world.drive(sync_world.receive(opportunity_id), max_rounds=1))
    assert [d.status for d in deals] == [S.CREATED] * 3
    assert all(d.claimed_by == "" for d in deals)  # handed to the batch, not held
    assert asked == [(pipeline.WRITE_BACKS_FLUSH, 30)]  # one flush for the window, not one per deal

    # The flush the deals asked for, when its window has come: it asks for one trailing flush, for
    # a deal whose worker saw this one as still to come.
    with mock.patch.object(pipeline, "send_now", side_effect=lambda name, countdown=None: asked.append(
            (name, countdown)) or True), mock.patch.object(pipeline.time, "time", return_value=time.time() + 31):
        assert pipeline.write_backs_flush(worker="flush-test") == 3
    assert asked[1:] == [(pipeline.WRITE_BACKS_FLUSH, 30)]
    # A deal created now finds that trailing flush waiting and asks for none of its own: one flush
    # waits at a time, so a burst's write-backs gather into few calls.
    with mock.patch.object(pipeline, "send_now", side_effect=lambda name, countdown=None: asked.append(
            (name, countdown)) or True), mock.patch.object(pipeline.time, "time", return_value=time.time() + 32):
        pipeline.write_backs_flush_soon()
    assert asked[1:] == [(pipeline.WRITE_BACKS_FLUSH, 30)]

    assert len(_composites()) == 1
    for deal in deals:
        deal.refresh_from_db()
        assert deal.status == S.WRITTEN_BACK
        assert sync_world.opportunity(deal.opportunity_id)["SAP_Sales_Order__c"] == deal.sap_sales_order



def test_a_flush_is_not_queued_behind_the_deals_still_to_process() -> None:
    """In a burst the default queue holds every deal still to process; the flush that writes back
    the ones already created goes to a queue of its own, which every worker reads too (a worker
    started without -Q consumes every declared queue, in turn)."""
    assert celery_app.amqp.router.route({}, WRITE_BACKS_FLUSH)["queue"].name == "writeback"
    assert celery_app.amqp.router.route({}, PROCESS_HANDOFF)["queue"].name == "celery"
    assert set(celery_app.amqp.queues) == {"celery", "writeback"}
    assert celery_queues() == ["celery", "writeback"]  # the queue-depth metric shows both
