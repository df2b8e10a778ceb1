"""Business hours, escalation timers and conditions, the concurrent sweep, digests."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from rest_framework.test import APIClient

from exceptions.calendar import CalendarSpec, business_add, business_elapsed, business_subtract
from exceptions.escalation import escalation_sweep, exception_deadlines
from exceptions.models import (
    BusinessCalendar,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    EventKind,
    Notification,
    Priority,
    SyncException,
)
from exceptions.notifications import post_chat
from exceptions.services import (
    exception_assign,
    exception_unwait,
    exception_wait,
    queue_ensure,
    queue_member_add,
    queue_member_remove,
)
from integration_hub.models import HandoffStatus
from tests.concurrency import at_once
from tests.factories import HandoffFactory, SyncExceptionFactory, UserFactory

UTC_CAL = CalendarSpec()
MON = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Day 0 = Monday 23 Nov 2026, UTC."""
    return MON + timedelta(days=day, hours=hour, minutes=minute)


# -- business hours ----------------------------------------------------------------------------------
def test_it_carries_business_time_over_a_weekend() -> None:
    friday_4pm = at(4, 16)
    assert business_add(UTC_CAL, friday_4pm, timedelta(hours=2)) == at(7, 10)
    assert business_elapsed(UTC_CAL, friday_4pm, at(7, 10)) == timedelta(hours=2)
    # Started on a Saturday night: the clock starts Monday 09:00.
    assert business_add(UTC_CAL, at(5, 22), timedelta(hours=1)) == at(7, 10)


def test_it_skips_holidays() -> None:
    calendar = CalendarSpec(holidays=(date(2026, 11, 30),))  # the Monday after
    assert business_add(calendar, at(4, 16), timedelta(hours=2)) == at(8, 10)
    assert business_elapsed(calendar, at(4, 16), at(8, 10)) == timedelta(hours=2)
    assert business_elapsed(calendar, at(7, 0), at(7, 23)) == timedelta(0)


def test_it_counts_business_time_backwards_as_it_counts_forwards() -> None:
    monday_10am = at(7, 10)
    # Two hours back from Monday 10:00 is Friday 16:00: the weekend does not count.
    assert business_subtract(UTC_CAL, monday_10am, timedelta(hours=2)) == at(4, 16)
    holiday = CalendarSpec(holidays=(date(2026, 11, 27),))  # that Friday off: Thursday 16:00
    assert business_subtract(holiday, monday_10am, timedelta(hours=2)) == at(3, 16)
    assert business_subtract(UTC_CAL, at(5, 12), timedelta(hours=1)) == at(4, 16)  # from a Saturday
    assert business_subtract(UTC_CAL, monday_10am, timedelta(0)) == monday_10am
    for hours in (0.25, 1, 8, 9, 17.5, 40, 41):
        start = business_subtract(UTC_CAL, monday_10am, timedelta(hours=hours))
        assert business_elapsed(UTC_CAL, start, monday_10am) == timedelta(hours=hours)
        assert business_elapsed(UTC_CAL, start + timedelta(seconds=1), monday_10am) < timedelta(hours=hours)


def test_it_follows_the_local_clock_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    calendar = CalendarSpec(time_zone="Europe/Berlin", weekdays=tuple(range(7)))
    saturday_4pm = datetime(2026, 3, 28, 16, tzinfo=berlin)  # CET; Sunday is CEST
    due = business_add(calendar, saturday_4pm, timedelta(hours=2))
    assert due == datetime(2026, 3, 29, 10, tzinfo=berlin)
    assert due == datetime(2026, 3, 29, 8, tzinfo=UTC)
    assert business_elapsed(calendar, saturday_4pm, due) == timedelta(hours=2)


def test_it_uses_the_queues_calendar_row() -> None:
    calendar = BusinessCalendar(name="x", time_zone="America/New_York", weekdays=[0, 1, 2, 3, 4],
                                day_start=time(8), day_end=time(12), holidays=["2026-11-26"])
    # Wednesday 11:00 New York + 3 h: 1 h Wednesday, Thanksgiving off, 2 h Friday.
    start = datetime(2026, 11, 25, 11, tzinfo=ZoneInfo("America/New_York"))
    assert business_add(calendar, start, timedelta(hours=3)) == datetime(
        2026, 11, 27, 10, tzinfo=ZoneInfo("America/New_York"))


# -- timers ------------------------------------------------------------------------------------------
@pytest.fixture
def lead(db: None) -> object:
    user = UserFactory(username="md_lead")
    queue_member_add(queue=queue_ensure(slug="master-data"), user=user, lead=True)
    return user


def _policy(slug: str, *, levels: list[tuple[int, int, str]] = (), conditions: list[str] = (),
            notify_only: bool = False, manager_email: str = "boss@example.com") -> EscalationPolicy:
    queue = queue_ensure(slug=slug)
    EscalationPolicy.objects.filter(queue=queue).delete()
    policy = EscalationPolicy.objects.create(queue=queue, conditions=list(conditions), notify_only=notify_only)
    for level, hours, action in levels:
        EscalationLevel.objects.create(policy=policy, level=level, after_hours=hours, action=action,
                                       manager_email=manager_email if action == "notify_manager" else "")
    return policy


def _exception(type_code: str = "customer_not_found", *, opened: datetime, canonical: dict | None = None,
               evidence: dict | None = None, **kw: object) -> SyncException:
    handoff = HandoffFactory(status=HandoffStatus.BLOCKED, canonical=canonical or {})
    exc = SyncExceptionFactory(type_code=type_code, handoff=handoff, evidence=evidence or {}, **kw)
    SyncException.objects.filter(pk=exc.pk).update(first_seen=opened, last_seen=opened)
    exc.refresh_from_db()
    return exc


TWO_LEVELS = [(1, 4, "notify_lead"), (2, 8, "notify_manager")]


def test_it_escalates_level_by_level_in_business_hours(lead: object) -> None:
    _policy("master-data", levels=TWO_LEVELS)
    exc = _exception(opened=at(0, 11))  # Monday 11:00 → L1 Monday 15:00, L2 Tuesday 11:00

    deadlines = exception_deadlines(exc, now=at(0, 12))
    assert [(d.level, d.due_at) for d in deadlines] == [(1, at(0, 15)), (2, at(1, 11))]

    assert escalation_sweep(now=at(0, 14, 59))["fired"] == 0
    assert escalation_sweep(now=at(0, 18))["fired"] == 1
    assert [m.to for m in mail.outbox] == [["md_lead@example.com"]]
    assert escalation_sweep(now=at(1, 10, 59))["fired"] == 0  # the evening and night do not count
    assert escalation_sweep(now=at(1, 11))["fired"] == 1
    assert mail.outbox[-1].to == ["boss@example.com"]
    assert escalation_sweep(now=at(3, 11))["fired"] == 0  # nothing fires twice
    assert list(exc.escalation_steps.values_list("level", flat=True)) == [1, 2]
    assert exc.events.filter(kind=EventKind.ESCALATE).count() == 2
    assert all(d.fired for d in exception_deadlines(exc, now=at(3, 11)))


def test_it_pauses_the_timers_while_waiting_on_someone_outside(lead: object) -> None:
    _policy("master-data", levels=TWO_LEVELS)
    exc = _exception(opened=at(0, 9))
    exception_wait(exception=exc, actor=lead, on="customer's AP team", now=at(0, 10))
    assert escalation_sweep(now=at(1, 9, 30))["fired"] == 0
    assert exception_deadlines(exc, now=at(1, 9, 30))[0].due_at is None  # paused: no due time
    exception_unwait(exception=exc, actor=lead, now=at(1, 10))  # 8 business hours paused
    exc.refresh_from_db()
    assert exc.paused_seconds == 8 * 3600
    # 1 h before the wait + 2 h after it: 3 h, not yet 4.
    assert escalation_sweep(now=at(1, 12))["fired"] == 0
    assert exception_deadlines(exc, now=at(1, 12))[0].due_at == at(1, 13)
    assert escalation_sweep(now=at(1, 13))["fired"] == 1


def test_it_does_not_time_closed_exceptions(lead: object) -> None:
    _policy("master-data", levels=TWO_LEVELS)
    _exception(opened=at(0, 9), status="resolved")
    assert escalation_sweep(now=at(3, 9))["fired"] == 0


def _reassigning_to(user: object) -> EscalationPolicy:
    policy = _policy("master-data")
    EscalationLevel.objects.create(policy=policy, level=1, after_hours=4, action="reassign", reassign_to=user)
    return policy


def test_it_reassigns_like_a_person_does_with_escalation_as_the_actor(lead: object) -> None:
    worker = UserFactory(username="md_worker")
    queue_member_add(queue=queue_ensure(slug="master-data"), user=worker)
    _reassigning_to(worker)
    exc = _exception(opened=at(0, 9))

    assert escalation_sweep(now=at(0, 14))["fired"] == 1

    exc.refresh_from_db()
    assert exc.assignee == worker
    assign = exc.events.get(kind=EventKind.ASSIGN)
    assert (assign.actor, assign.actor_label, assign.reason) == (None, "escalation",
                                                                 "assigned to md_worker (was nobody)")
    assert "reassigned to md_worker" in exc.events.get(kind=EventKind.ESCALATE).reason
    assert "was assigned to you" in next(m for m in mail.outbox if m.to == ["md_worker@example.com"]).body


def test_it_does_not_reassign_to_someone_who_left_the_queue_since_the_policy_was_saved(lead: object) -> None:
    leaver = UserFactory(username="md_leaver")
    queue = queue_ensure(slug="master-data")
    queue_member_add(queue=queue, user=leaver)
    _reassigning_to(leaver)
    queue_member_remove(queue=queue, user=leaver, actor=lead)
    exc = _exception(opened=at(0, 9))

    assert escalation_sweep(now=at(0, 14))["fired"] == 1

    exc.refresh_from_db()
    assert exc.assignee is None and not exc.events.filter(kind=EventKind.ASSIGN).exists()
    assert "not reassigned: md_leaver can no longer work the Master data queue" in exc.events.get(
        kind=EventKind.ESCALATE).reason
    assert [m.to for m in mail.outbox] == [["md_lead@example.com"]]  # the lead hears of it


# -- immediate conditions ---------------------------------------------------------------------------
def test_it_escalates_pricing_at_once_on_big_variance_or_big_deal(cast: object) -> None:
    _policy("pricing", conditions=["variance_gt_10", "amount_gt_100k"])
    small = _exception("pricing_mismatch", opened=at(0, 9), evidence={"variance_percent": "5.0"},
                       canonical={"amount": "50000"})
    varied = _exception("pricing_mismatch", opened=at(0, 9), evidence={"variance_percent": "-12.5"},
                        canonical={"amount": "50000"})
    big = _exception("pricing_mismatch", opened=at(0, 9), evidence={"variance_percent": "3"},
                     canonical={"amount": "150000.00"})
    assert escalation_sweep(now=at(0, 9, 1))["fired"] == 2
    assert set(EscalationStep.objects.values_list("exception_id", "level")) == {(varied.pk, 0), (big.pk, 0)}
    varied.refresh_from_db()
    small.refresh_from_db()
    assert varied.priority == Priority.HIGH and small.priority == Priority.NORMAL
    assert "Price variance > 10 %" in varied.escalation_steps.get().reason


@pytest.mark.parametrize(
    ("slug", "type_code", "condition", "kwargs", "fires"),
    [
        ("credit", "credit_check_failed", "strategic_account",
         {"canonical": {"organization": {"strategic_account": True}}}, True),
        ("credit", "credit_check_failed", "strategic_account", {"canonical": {"organization": {}}}, False),
        ("logistics", "address_invalid", "international",
         {"canonical": {"organization": {"sales_organization": "1710"}, "ship_to": {"country": "DE"}}}, True),
        ("logistics", "address_invalid", "international",
         {"canonical": {"organization": {"sales_organization": "1710"}, "ship_to": {"country": "US"}}}, False),
        ("integration-ops", "sap_creation_error", "third_retry_failed", {"evidence": {"attempts": 3}}, True),
        ("integration-ops", "sap_creation_error", "third_retry_failed", {"evidence": {"attempts": 2}}, False),
    ],
)
def test_it_escalates_catalogue_conditions_immediately(
    cast: object, slug: str, type_code: str, condition: str, kwargs: dict, fires: bool
) -> None:
    _policy(slug, conditions=[condition])
    _exception(type_code, opened=at(0, 9), **kwargs)
    assert escalation_sweep(now=at(0, 9, 1))["fired"] == int(fires)


def test_it_escalates_the_unmapped_backlog_past_five(cast: object) -> None:
    _policy("product-ops", conditions=["unmapped_backlog_gt_5"])
    for _ in range(5):
        _exception("product_not_mapped", opened=at(0, 9))
    assert escalation_sweep(now=at(0, 9, 1))["fired"] == 0
    _exception("product_not_mapped", opened=at(0, 9))
    assert escalation_sweep(now=at(0, 9, 2))["fired"] == 6


def test_it_only_notifies_in_notify_only_mode(cast: object) -> None:
    _policy("pricing", conditions=["amount_gt_100k"], notify_only=True)
    exc = _exception("pricing_mismatch", opened=at(0, 9), canonical={"amount": "250000"})
    assert escalation_sweep(now=at(0, 10))["fired"] == 1
    exc.refresh_from_db()
    assert exc.priority == Priority.NORMAL
    assert "notify-only" in exc.events.get(kind=EventKind.ESCALATE).reason


# -- concurrency and notifications -----------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_it_escalates_once_when_two_sweeps_run_at_once() -> None:
    lead = UserFactory(username="md_lead")
    queue_member_add(queue=queue_ensure(slug="master-data"), user=lead, lead=True)
    _policy("master-data", levels=TWO_LEVELS)
    exceptions = [_exception(opened=at(0, 9)) for _ in range(5)]
    results = at_once(lambda: escalation_sweep(now=at(2, 9), flush=False))
    assert sum(r["fired"] for r in results) == 10  # 5 exceptions × 2 levels, once each
    assert EscalationStep.objects.count() == 10
    for exc in exceptions:
        assert exc.events.filter(kind=EventKind.ESCALATE).count() == 2
    assert Notification.objects.filter(kind="escalation").count() == 10
    connection.close()


def test_it_batches_notifications_into_one_digest_per_recipient(lead: object, settings: object) -> None:
    settings.HUB_CHAT_WEBHOOK_URL = "http://127.0.0.1:9/hook"
    _policy("master-data", levels=[(1, 4, "notify_lead")])
    exceptions = [_exception(opened=at(0, 9)) for _ in range(3)]
    worker = UserFactory(username="md_worker")
    queue_member_add(queue=queue_ensure(slug="master-data"), user=worker)
    exception_assign(exception=exceptions[0], assignee=worker, actor=lead)
    exception_assign(exception=exceptions[1], assignee=lead, actor=lead)  # self-assignment: no notice
    with mock.patch("exceptions.notifications.post_chat") as post:
        outcome = escalation_sweep(now=at(0, 14))
    assert outcome == {"fired": 3, "digests": 2}
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {"md_lead@example.com", "md_worker@example.com"}
    assert by_recipient["md_lead@example.com"].body.count("\n") == 2  # three lines, one email
    assert "3 exception updates" in by_recipient["md_lead@example.com"].subject
    assert "assigned to you" in by_recipient["md_worker@example.com"].body
    assert post.call_count == 2
    assert post.call_args.kwargs["timeout"] == settings.HUB_CHAT_WEBHOOK_TIMEOUT
    assert escalation_sweep(now=at(0, 15)) == {"fired": 0, "digests": 0}  # nothing sent twice


def test_it_shows_every_deadline_on_the_detail_screen(lead: object, client: object) -> None:
    _policy("master-data", levels=TWO_LEVELS)
    exc = _exception(opened=at(0, 11))
    client.force_login(lead)
    page = client.get(f"/triage/e/{exc.pk}/").content.decode()
    assert "Escalation" in page
    assert page.count('<li class="deadline') == 2  # every level, not only the next
    assert "notify manager boss@example.com" in page and "Pause: waiting outside" in page
    response = client.post(f"/triage/e/{exc.pk}/wait/", {"on": "customer AP"})
    assert response.status_code == 302
    exc.refresh_from_db()
    assert exc.waiting_on == "customer AP" and exc.waiting_since is not None
    assert "timers paused" in client.get(f"/triage/e/{exc.pk}/").content.decode()


def test_it_pauses_and_lists_deadlines_through_the_api(lead: object, cast: object) -> None:
    _policy("master-data", levels=TWO_LEVELS)
    exc = _exception(opened=at(0, 11))
    api = APIClient()
    api.force_authenticate(cast.outsider)
    assert api.get(f"/api/v1/exceptions/{exc.pk}/deadlines/").status_code == 404
    assert api.post(f"/api/v1/exceptions/{exc.pk}/wait/", {"waiting": True}, format="json").status_code == 404
    api.force_authenticate(lead)
    levels = api.get(f"/api/v1/exceptions/{exc.pk}/deadlines/").json()
    assert [d["level"] for d in levels] == [1, 2] and all(d["due_at"] for d in levels)
    response = api.post(f"/api/v1/exceptions/{exc.pk}/wait/", {"waiting": True, "on": "legal"}, format="json")
    assert response.status_code == 200 and response.json()["waiting_on"] == "legal"
    assert [d["due_at"] for d in api.get(f"/api/v1/exceptions/{exc.pk}/deadlines/").json()] == [None, None]
    response = api.post(f"/api/v1/exceptions/{exc.pk}/wait/", {"waiting": False}, format="json")
    assert response.json()["waiting_since"] is None


def test_it_posts_chat_digests_to_a_webhook_on_loopback() -> None:
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    post_chat(f"http://127.0.0.1:{server.server_port}/hook", {"text": "3 exception updates"}, timeout=2)
    thread.join(timeout=5)
    server.server_close()
    assert received == [{"text": "3 exception updates"}]
    with pytest.raises(ValueError):
        post_chat("file:///etc/passwd", {"text": "x"}, timeout=1)
