"""Faults that must lose nothing and duplicate nothing, in-process against both sandboxes:
SAP down (the circuit breaker), a publish that never reaches the broker, a rolled-back
transaction, two beats at once, and countdowns the broker could not hold."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import requests
from django.db import transaction
from django.test import Client
from django.utils import timezone
from kombu.exceptions import OperationalError

from integration_hub import dispatch, triggers
from integration_hub.breaker import PARKED
from integration_hub.metrics import metrics_registry
from integration_hub.models import (
    BreakerState,
    CircuitBreaker,
    Handoff,
    HandoffStatus,
    PollWatermark,
    SyncAttempt,
)
from integration_hub.services import handoff_receive
from integration_hub.tasks import process_handoff
from tests.concurrency import at_once
from tests.factories import make_cast
from tests.pipeline.conftest import ORG_ID

S = HandoffStatus


def sap_calls() -> int:
    return SyncAttempt.objects.filter(system="sap").count()


def work_due(handoffs: list[Handoff]) -> None:
    """One worker pass over whatever is due, as the countdowns and the sweeper would wake it."""
    for handoff in handoffs:
        handoff.refresh_from_db()
        if handoff.status in (S.WRITTEN_BACK, S.BLOCKED, S.FAILED, S.AWAITING_APPROVAL):
            continue
        if handoff.next_attempt_at is None or handoff.next_attempt_at <= timezone.now():
            process_handoff(handoff.pk)


def test_it_parks_deals_while_sap_is_down_and_drains_them_when_it_returns(sync_world, settings, prometheus_client):
    settings.HUB_BREAKER_FAILURE_THRESHOLD = 3
    settings.HUB_BREAKER_COOLDOWN_SECONDS = 1.0
    settings.HUB_BREAKER_COOLDOWN_MAX_SECONDS = 2.0
    handoffs = [sync_world.receive(sync_world.flow.one("clean")[0]) for _ in range(8)]
    before = sap_calls()
    sync_world.fault("sap", operation="*", kind="status", status=503, message="Service Unavailable")

    # Several seconds of outage: every handoff keeps being woken whenever it is due.
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        work_due(handoffs)
        time.sleep(0.1)
    during = sap_calls() - before
    print(f"\nSAP down 6 s, 8 deals woken whenever due: {during} SAP calls (breaker opens after "
          f"{settings.HUB_BREAKER_FAILURE_THRESHOLD})")

    for handoff in handoffs:
        handoff.refresh_from_db()
    assert {h.status for h in handoffs} <= {S.RECEIVED, S.VALIDATING}  # parked: not failed, not blocked
    assert all(h.last_error.startswith(PARKED) for h in handoffs)
    assert len({h.next_attempt_at for h in handoffs}) == len(handoffs)  # jittered: no stampede at the reopening
    breaker = CircuitBreaker.objects.get(target="s4hana")
    assert breaker.state in (BreakerState.OPEN, BreakerState.HALF_OPEN) and breaker.trips >= 2
    # Three failures open it, then one probe per cool-down (1 s, then 2 s): a handful of calls,
    # where 8 deals retrying on their own would have made dozens.
    assert during <= settings.HUB_BREAKER_FAILURE_THRESHOLD + 6, during
    cast = make_cast()
    web = Client()
    web.force_login(cast.admin)
    overview = web.get("/triage/").content.decode()
    assert 'data-breaker="s4hana"' in overview and "8 deals wait without calling SAP" in overview
    scraped = prometheus_client.get("/metrics").content.decode()
    assert 'hub_circuit_breaker_state{target="s4hana"} 2.0' in scraped or \
        'hub_circuit_breaker_state{target="s4hana"} 1.0' in scraped
    assert 'hub_handoffs_parked{target="s4hana"} 8.0' in scraped

    requests.delete(f"{sync_world.sap_url}/_sandbox/faults", auth=("sandbox", "sandbox"), timeout=5)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(h.status == S.WRITTEN_BACK for h in handoffs):
        work_due(handoffs)
        time.sleep(0.1)
    assert [h.status for h in handoffs] == [S.WRITTEN_BACK] * len(handoffs)
    assert all(len(sync_world.orders_for(h.opportunity_id)) == 1 for h in handoffs)
    assert CircuitBreaker.objects.get(target="s4hana").state == BreakerState.CLOSED
    assert 'data-breaker' not in web.get("/triage/").content.decode()


def test_it_acks_and_keeps_the_deal_when_the_broker_is_down_then_the_sweeper_sends_it(sync_world, settings):
    settings.HUB_SWEEP_GRACE_SECONDS = 0
    settings.HUB_BROKER_RETRY_SECONDS = 0  # try the broker again at once (the sweep below)
    opportunity_id, _ = sync_world.flow.one("clean")
    down = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with mock.patch.object(process_handoff, "delay", side_effect=down) as publish:
        handoff, created = handoff_receive(org_id=ORG_ID, opportunity_id=opportunity_id, source="webhook",
                                           actor_label="webhook")
    assert publish.called  # the wake-up was tried and failed, the caller never saw it
    assert created and Handoff.objects.filter(pk=handoff.pk, status=S.RECEIVED).exists()
    assert sync_world.enqueued == []

    assert triggers.sweep() == 1
    assert sync_world.enqueued == [handoff.pk]
    assert sync_world.drive(handoff).status == S.WRITTEN_BACK
    assert len(sync_world.orders_for(opportunity_id)) == 1


def test_a_rolled_back_transaction_publishes_nothing(sync_world):
    opportunity_id, _ = sync_world.flow.one("clean")
    with pytest.raises(RuntimeError), transaction.atomic():
        handoff_receive(org_id=ORG_ID, opportunity_id=opportunity_id, source="webhook", actor_label="webhook")
        raise RuntimeError("the request failed after the row was written")
    assert not Handoff.objects.filter(opportunity_id=opportunity_id).exists()
    assert sync_world.enqueued == []


def test_it_refuses_a_countdown_the_broker_could_not_hold(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 20}
    settings.HUB_MAX_COUNTDOWN_SECONDS = 60
    assert dispatch.max_countdown() == 10
    with pytest.raises(ValueError, match="visibility timeout"):
        dispatch.send_now(dispatch.PROCESS_HANDOFF, 1, countdown=30)


def test_two_beats_sweep_each_handoff_once(sync_world, settings):
    settings.HUB_SWEEP_GRACE_SECONDS = 0
    rows = [Handoff.objects.create(org_id=ORG_ID, opportunity_id=sync_world.flow.one("clean")[0], source="webhook")
            for _ in range(6)]
    Handoff.objects.filter(pk__in=[r.pk for r in rows]).update(updated_at=timezone.now() - timedelta(minutes=5))

    counts = at_once(triggers.sweep)

    assert sum(counts) == 6
    assert sorted(sync_world.enqueued) == sorted(r.pk for r in rows)  # each woken once, by one beat


def test_two_beats_read_one_poll_window_once(sync_world):
    opportunity_id, _ = sync_world.flow.one("clean")
    queries = SyncAttempt.objects.filter(system="salesforce", operation__startswith="query").count()
    gate = threading.Event()
    original = type(sync_world.salesforce).query_all

    def slow_query_all(self: Any, soql: str, **kwargs: Any) -> Any:
        gate.wait(2)  # hold the first poll inside its window while the second one arrives
        return original(self, soql, **kwargs)

    with mock.patch.object(type(sync_world.salesforce), "query_all", slow_query_all):
        timer = threading.Timer(1.0, gate.set)
        timer.start()
        created = at_once(triggers.poll_salesforce)
    assert sorted(created) == [0, 1]
    assert SyncAttempt.objects.filter(system="salesforce", operation__startswith="query").count() == queries + 1
    assert Handoff.objects.filter(opportunity_id=opportunity_id).count() == 1
    watermark = PollWatermark.objects.get(org_id=ORG_ID)
    assert watermark.claimed_by == "" and watermark.last_system_modstamp is not None


@pytest.fixture
def prometheus_client(settings) -> Client:
    settings.HUB_METRICS_TOKEN = "t0ken-for-tests"
    return Client(headers={"Authorization": "Bearer t0ken-for-tests"})


def test_metrics_registry_answers_without_breakers(db):
    names = {metric.name for metric in metrics_registry().collect()}
    assert "hub_circuit_breaker_state" in names
