"""Delivery guarantees with a real Celery worker on Redis: at least once in, at most one order out."""

from __future__ import annotations

import requests

from integration_hub.models import Handoff, HandoffEvent, HandoffStatus
from integration_hub.sandbox.salesforce.models import SfOutboundMessage
from integration_hub.sandbox.salesforce.outbound import dispatch_pending
from integration_hub.triggers import poll_salesforce, sweep
from tests.pipeline.conftest import wait_for

S = HandoffStatus
WEBHOOK = "/api/v1/hooks/salesforce/outbound-message/?token=sandbox"


def _settled(opportunity_id: str) -> Handoff | None:
    handoff = Handoff.objects.filter(opportunity_id=opportunity_id).first()
    return handoff if handoff and handoff.status in {S.WRITTEN_BACK, S.BLOCKED, S.FAILED} else None


def test_it_makes_one_order_from_three_deliveries_of_the_same_message_plus_the_poll(
    world, worker, live_server, settings
):
    settings.HUB_WEBHOOK_SECRET = "sandbox"
    settings.SANDBOX_OUTBOUND_MESSAGE_URL = live_server.url + WEBHOOK
    opportunity_id, _ = world.flow.one("clean")

    assert dispatch_pending() == 1  # the sandbox's own delivery, acked by the hub
    body = SfOutboundMessage.objects.get(record_id=opportunity_id).last_payload
    assert opportunity_id in body
    for _ in range(2):  # Salesforce redelivers; the hub must ack and change nothing
        reply = requests.post(live_server.url + WEBHOOK, data=body.encode(),
                              headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}, timeout=10)
        assert reply.status_code == 200
        assert "<Ack>true</Ack>" in reply.text
    poll_salesforce()

    handoff = wait_for(lambda: _settled(opportunity_id), timeout=45)
    assert handoff.status == S.WRITTEN_BACK, handoff.last_error
    assert Handoff.objects.filter(opportunity_id=opportunity_id).count() == 1
    assert len(world.orders_for(opportunity_id)) == 1


def test_it_makes_one_order_after_the_worker_is_killed_mid_create(world, worker, settings):
    settings.HUB_CLAIM_LEASE_SECONDS = 3
    settings.HUB_SWEEP_GRACE_SECONDS = 0
    # SAP takes 1.5 s to create: long enough to kill the worker while it waits, shorter than the lease.
    world.fault("sap", operation="API_SALES_ORDER_SRV/A_SalesOrder:POST", kind="latency", latency_ms=1500, times=1)
    opportunity_id, _ = world.flow.one("clean")
    handoff = world.receive(opportunity_id)

    # Kill once SAP has the create request in hand (the fault counted a hit), before it answers.
    wait_for(lambda: world.faults("sap")[0]["hits"] == 1, timeout=30, interval=0.02)
    worker.kill_hard()
    worker.start()

    def swept_and_settled() -> Handoff | None:
        sweep()
        return _settled(opportunity_id)

    handoff = wait_for(swept_and_settled, timeout=45, interval=0.5)
    assert handoff.status == S.WRITTEN_BACK, handoff.last_error
    assert len(world.orders_for(opportunity_id)) == 1
    # The second worker found the first one's order instead of creating another.
    assert HandoffEvent.objects.filter(handoff=handoff, to_status=S.CREATED, reason__contains="already holds").exists()


def test_it_re_enqueues_work_a_lost_message_left_behind(world, worker, settings):
    settings.HUB_SWEEP_GRACE_SECONDS = 0
    opportunity_id, _ = world.flow.one("clean")
    # The row is durable but its wake-up never reached the broker.
    handoff = Handoff.objects.create(org_id="00D000000000001EAA", opportunity_id=opportunity_id, source="webhook")
    assert sweep() == 1
    handoff = wait_for(lambda: _settled(opportunity_id), timeout=45)
    assert handoff.status == S.WRITTEN_BACK
    assert len(world.orders_for(opportunity_id)) == 1
