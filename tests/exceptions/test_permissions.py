"""One rule per decision, whatever the channel: whom an exception may be given to (screen, API,
bulk action, bulk job) and whose settings history a person may read (screens and API)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from exceptions.models import (
    BusinessCalendar,
    EscalationLevel,
    EscalationPolicy,
    EventKind,
    Queue,
    SyncException,
)
from exceptions.policies import (
    business_calendar_save,
    escalation_policy_save,
    queue_calendar_set,
    queue_membership_set,
)
from exceptions.services import queue_ensure, queue_member_add
from tests.factories import Cast, SyncExceptionFactory, UserFactory

pytestmark = pytest.mark.django_db


def web(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def api(user: object) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)  # type: ignore[arg-type]
    return client


# -- whom an exception may be given to -----------------------------------------------------------------
def _screen(actor: Any, exception: SyncException, username: str) -> None:
    web(actor).post(reverse("exceptions:assign", args=[exception.pk]), {"assignee": username})


def _api(actor: Any, exception: SyncException, username: str) -> None:
    api(actor).post(f"/api/v1/exceptions/{exception.pk}/assign/", {"assignee": username}, format="json")


def _bulk(actor: Any, exception: SyncException, username: str) -> None:
    api(actor).post("/api/v1/exceptions/bulk/", {"ids": [exception.pk], "action": "assign", "assignee": username},
                    format="json")


def _bulk_job(actor: Any, exception: SyncException, username: str) -> None:
    web(actor).post(reverse("exceptions:bulk", args=["pricing"]),
                    {"ids": [exception.pk], "action": "assign", "assignee": username})


CHANNELS: dict[str, Callable[[Any, SyncException, str], None]] = {
    "screen": _screen, "api": _api, "bulk": _bulk, "bulk job": _bulk_job}


@pytest.fixture
def people(cast: Cast) -> dict[str, Any]:
    """A colleague in the pricing queue, a former one whose account is switched off, the outsider."""
    pricing = queue_ensure(slug="pricing")
    colleague = UserFactory(username="pricing_colleague")
    queue_member_add(queue=pricing, user=colleague)
    gone = UserFactory(username="pricing_leaver", is_active=False)
    queue_member_add(queue=pricing, user=gone)
    return {"colleague": colleague, "deactivated member": gone, "outsider": cast.outsider}


@pytest.mark.parametrize("channel", list(CHANNELS))
@pytest.mark.parametrize(("who", "accepted"), [("colleague", True), ("deactivated member", False),
                                               ("outsider", False)])
def test_it_gives_the_same_answer_about_an_assignee_on_every_channel(
    cast: Cast, people: dict[str, Any], bulk_worker: Any, channel: str, who: str, accepted: bool
) -> None:
    exception = SyncExceptionFactory(type_code="pricing_mismatch", fingerprint="pricing_mismatch:assignee")

    with bulk_worker():
        CHANNELS[channel](cast.pricing_analyst, exception, people[who].username)

    exception.refresh_from_db()
    assert exception.assignee == (people[who] if accepted else None)
    assert exception.events.filter(kind=EventKind.ASSIGN).count() == int(accepted)


# -- whose settings history ------------------------------------------------------------------------------
ALWAYS = {"time_zone": "UTC", "weekdays": [0, 1, 2, 3, 4, 5, 6], "day_start": time(0), "day_end": time(23, 59)}


@pytest.fixture
def history(cast: Cast) -> None:
    """One change of each kind: the credit lead's policy, SLA and members; the admin's master-data
    SLA and a new calendar."""
    credit, master_data = queue_ensure(slug="credit"), queue_ensure(slug="master-data")
    lead = cast.credit_manager
    escalation_policy_save(policy=EscalationPolicy(queue=credit),
                           levels=[EscalationLevel(level=1, after_hours=4, action="notify_lead")], actor=lead)
    queue_calendar_set(queue=credit, calendar=None, sla_hours=6, actor=lead)
    queue_membership_set(queue=credit, user=UserFactory(username="credit_newcomer"), role="member", actor=lead)
    queue_calendar_set(queue=master_data, calendar=None, sla_hours=9, actor=cast.admin)
    business_calendar_save(calendar=BusinessCalendar(name="Berlin office", **ALWAYS), actor=cast.admin)


def _on_the_screens(user: Any) -> set[str] | None:
    """Labels of the changes every history on the screens shows `user` (None: no screen opens)."""
    client = web(user)
    urls = [reverse("exceptions:escalation"), reverse("exceptions:calendars")]
    urls += [reverse("exceptions:escalation-edit", args=[q.slug]) for q in Queue.objects.all()]
    urls += [reverse("exceptions:members", args=[q.slug]) for q in Queue.objects.all()]
    urls += [reverse("exceptions:calendar-edit", args=[c.pk]) for c in BusinessCalendar.objects.all()]
    seen: set[str] | None = None
    for url in urls:
        response = client.get(url)
        if response.status_code == 200:
            seen = (seen or set()) | {row["change"].label for row in response.context["history"]}
    return seen


def _in_the_api(user: Any) -> set[str] | None:
    response = api(user).get(reverse("api:setting-change-list"), {"page_size": 100})
    return {row["label"] for row in response.json()["results"]} if response.status_code == 200 else None


@pytest.mark.parametrize(("who", "perm", "reads"), [
    ("admin", None, {"Credit management escalation", "Credit management calendar & SLA", "Credit management members",
                     "Master data calendar & SLA", "Berlin office"}),
    ("credit_manager", None, {"Credit management escalation", "Credit management calendar & SLA", "Credit management members"}),
    ("approver", "change_escalationpolicy", {"Credit management escalation", "Credit management calendar & SLA",
                                             "Master data calendar & SLA"}),
    ("product_ops", "change_businesscalendar", {"Berlin office"}),
    ("outsider", None, None),
])
def test_it_shows_a_person_the_same_settings_history_on_the_screens_and_in_the_api(
    cast: Cast, history: None, who: str, perm: str | None, reads: set[str] | None
) -> None:
    user = getattr(cast, who)
    if perm:
        user.user_permissions.add(Permission.objects.get(codename=perm))

    assert _on_the_screens(user) == reads
    assert _in_the_api(user) == reads
