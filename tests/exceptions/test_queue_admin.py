"""Administering a queue (its leads: guardian `administer_queue`): members and leads, the queue's
own escalation policy, and nothing beyond their queues; in the browser and the API alike."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from exceptions.models import ExceptionEvent, SettingChange, SettingKind, SyncException
from exceptions.services import exception_assign, queue_ensure
from tests.exceptions.test_escalation_views import _policy_form
from tests.factories import Cast, SyncExceptionFactory

pytestmark = pytest.mark.django_db


def web(user: object, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)  # type: ignore[arg-type]
    return client


def api(user: object) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)  # type: ignore[arg-type]
    return client


def credit_hold(**kwargs: Any) -> SyncException:
    return SyncExceptionFactory(type_code="credit_check_failed", fingerprint=f"credit_check_failed:{kwargs}",
                                **kwargs)


def test_it_lets_a_lead_add_a_member_who_then_works_the_queue(cast: Cast) -> None:
    lead = web(cast.credit_manager)
    assert web(cast.outsider).get("/triage/q/credit/").status_code == 404

    response = lead.post("/triage/q/credit/members/", {"username": "outsider", "role": "member"}, follow=True)

    assert "outsider is a member of Credit management." in response.content.decode()
    assert web(cast.outsider).get("/triage/q/credit/").status_code == 200
    page = lead.get("/triage/q/credit/members/").content.decode()
    assert 'data-member="outsider"' in page and "added outsider as a member" in page
    change = SettingChange.objects.get(kind=SettingKind.MEMBERS)
    assert change.actor == cast.credit_manager and change.after == {"user": "outsider", "role": "member"}


def test_it_hands_a_removed_members_open_exceptions_back_to_the_queue(cast: Cast) -> None:
    queue = queue_ensure(slug="credit")
    web(cast.credit_manager).post("/triage/q/credit/members/", {"username": "outsider", "role": "member"})
    held = credit_hold(title="Hold A")
    exception_assign(exception=held, assignee=cast.outsider, actor=cast.credit_manager)

    response = web(cast.credit_manager).post("/triage/q/credit/members/", {"username": "outsider", "role": ""},
                                             follow=True)

    assert "outsider left Credit management; 1 open exception went back to the queue." in response.content.decode()
    held.refresh_from_db()
    assert held.assignee is None
    assert ExceptionEvent.objects.filter(exception=held, kind="assign", actor=cast.credit_manager).count() == 2
    assert not queue.members.filter(pk=cast.outsider.pk).exists()
    assert web(cast.outsider).get("/triage/q/credit/").status_code == 404
    assert "removed outsider (1 open exception unassigned)" in web(cast.credit_manager).get(
        "/triage/q/credit/members/").content.decode()


def test_it_makes_a_member_a_lead_who_can_then_administer(cast: Cast) -> None:
    lead = web(cast.credit_manager)
    lead.post("/triage/q/credit/members/", {"username": "approver", "role": "member"})
    assert web(cast.approver).get("/triage/q/credit/members/").status_code == 404

    lead.post("/triage/q/credit/members/", {"username": "approver", "role": "lead"})

    assert web(cast.approver).get("/triage/q/credit/members/").status_code == 200
    assert "made approver a lead" in lead.get("/triage/q/credit/members/").content.decode()


def test_it_keeps_a_lead_from_dropping_their_own_lead_role(cast: Cast) -> None:
    response = web(cast.credit_manager).post("/triage/q/credit/members/",
                                             {"username": "credit_manager", "role": "member"}, follow=True)
    assert "You cannot remove your own lead role; ask another lead or an admin." in response.content.decode()
    assert queue_ensure(slug="credit").leads.filter(pk=cast.credit_manager.pk).exists()
    assert not SettingChange.objects.filter(kind=SettingKind.MEMBERS).exists()


def test_it_names_an_unknown_person(cast: Cast) -> None:
    response = web(cast.credit_manager).post("/triage/q/credit/members/", {"username": "nobody", "role": "member"},
                                             follow=True)
    assert "There is no user called &#x27;nobody&#x27;." in response.content.decode()


@pytest.mark.parametrize("who", ["outsider", "pricing_analyst", "master_data_steward"])
def test_it_gives_404_on_a_queues_people_to_anyone_who_does_not_administer_it(cast: Cast, who: str) -> None:
    person = getattr(cast, who)
    assert web(person).get("/triage/q/credit/members/").status_code == 404
    assert web(person).post("/triage/q/credit/members/", {"username": who, "role": "lead"}).status_code == 404
    assert api(person).get("/api/v1/queues/credit/members/").status_code == 404
    assert api(person).post("/api/v1/queues/credit/members/", {"username": who, "role": "lead"},
                            format="json").status_code == 404
    assert not queue_ensure(slug="credit").leads.filter(pk=person.pk).exists()


def test_it_gives_a_lead_404_on_queues_they_do_not_lead(cast: Cast) -> None:
    lead = web(cast.credit_manager)
    assert lead.get("/triage/q/pricing/members/").status_code == 404
    assert lead.get("/triage/escalation/pricing/").status_code == 404
    assert lead.get("/triage/calendars/").status_code == 404
    assert api(cast.credit_manager).get("/api/v1/escalation-policies/pricing/").status_code == 404


def test_it_lets_a_lead_set_their_own_queues_escalation(cast: Cast) -> None:
    lead = web(cast.credit_manager)
    listing = lead.get("/triage/escalation/").content.decode()
    assert "Credit management" in listing and "Pricing" not in listing
    assert lead.get("/triage/escalation/credit/").status_code == 200

    response = lead.post("/triage/escalation/credit/", _policy_form(
        [{"after_hours": "2", "action": "notify_lead"}, {"after_hours": "6", "action": "raise_priority"}], sla_hours=6))

    assert response.status_code == 302
    credit = queue_ensure(slug="credit")
    credit.refresh_from_db()
    assert credit.sla_hours == 6
    assert [(lvl.level, float(lvl.after_hours)) for lvl in credit.escalation_policy.levels.all()] == [(1, 2.0), (2, 6.0)]
    rest = api(cast.credit_manager).get("/api/v1/escalation-policies/").json()
    assert [row["queue"] for row in rest["results"]] == ["credit"]


def test_it_manages_members_through_the_api(cast: Cast) -> None:
    rest = api(cast.credit_manager)
    answer = rest.post("/api/v1/queues/credit/members/", {"username": "outsider", "role": "lead"}, format="json")
    assert answer.status_code == 200
    assert {"username": "outsider", "name": "outsider", "role": "lead", "open_assigned": 0} in answer.json()
    gone = rest.post("/api/v1/queues/credit/members/", {"username": "outsider", "role": None}, format="json")
    assert "outsider" not in [m["username"] for m in gone.json()]
    bad = rest.post("/api/v1/queues/credit/members/", {"username": "nobody", "role": "member"}, format="json")
    assert bad.status_code == 400 and bad.json()["username"] == ["There is no user called 'nobody'."]


def test_it_enforces_csrf_on_the_members_form(cast: Cast) -> None:
    response = web(cast.credit_manager, csrf=True).post("/triage/q/credit/members/",
                                                        {"username": "outsider", "role": "member"})
    assert response.status_code == 403
    assert not queue_ensure(slug="credit").members.filter(pk=cast.outsider.pk).exists()


def test_it_shows_a_lead_their_queue_admin_links_and_a_member_none(cast: Cast) -> None:
    lead_page = web(cast.credit_manager).get("/triage/q/credit/").content.decode()
    assert 'href="/triage/q/credit/members/"' in lead_page and 'href="/triage/escalation/credit/"' in lead_page
    member_page = web(cast.pricing_analyst).get("/triage/q/pricing/").content.decode()
    assert "/members/" not in member_page and "/triage/escalation/" not in member_page
