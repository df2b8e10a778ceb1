"""/api/v1/escalation-policies/, /calendars/, /setting-changes/: what the admin screens do, through
the same services, for the same people."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from exceptions.models import (
    BusinessCalendar,
    EscalationLevel,
    ExceptionStatus,
    Queue,
    SettingChange,
    SettingKind,
    SyncException,
)
from tests.factories import Cast, SyncExceptionFactory

pytestmark = pytest.mark.django_db
POLICIES = reverse("api:escalation-policy-list")
POLICY = reverse("api:escalation-policy-detail", args=["master-data"])
PREVIEW = reverse("api:escalation-policy-preview", args=["master-data"])
CALENDARS = reverse("api:calendar-list")
CHANGES = reverse("api:setting-change-list")
FASTER = [{"after_hours": "2", "action": "raise_priority"},
          {"after_hours": "6", "action": "notify_manager", "manager_email": "boss@example.com"}]
BACKWARDS = [{"after_hours": "8", "action": "notify_lead"}, {"after_hours": "4", "action": "raise_priority"}]
OUT_OF_ORDER = ("Level 2 fires after 4 h, which is not later than level 1 (8 h): "
                "each level must wait longer than the one before.")


def client_for(user: object) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def calendar_url(pk: int) -> str:
    return reverse("api:calendar-detail", args=[pk])


def opened(hours_ago: float, **kw: Any) -> SyncException:
    exc = SyncExceptionFactory(type_code="customer_not_found", **kw)
    SyncException.objects.filter(pk=exc.pk).update(first_seen=timezone.now() - timedelta(hours=hours_ago))
    exc.refresh_from_db()
    return exc


def policy_body(levels: list[dict[str, Any]], queue: Queue, **fields: Any) -> dict[str, Any]:
    return {"active": True, "conditions": [], "condition_action": "raise_priority", "levels": levels,
            "calendar": queue.calendar_id, "sla_hours": 4, **fields}


def saved_levels(queue: Queue) -> list[tuple[int, str, str]]:
    return [(row.level, str(row.after_hours), row.action)
            for row in EscalationLevel.objects.filter(policy__queue=queue).order_by("level")]


def due(deadline: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(deadline["due_at"])


def berlin(**fields: Any) -> dict[str, Any]:
    return {"name": "Berlin office", "time_zone": "Europe/Berlin", "weekdays": [4, 0, 1, 2, 3],
            "day_start": "08:00", "day_end": "16:30", "holidays": [], **fields}


# -- policies ----------------------------------------------------------------------------------------
def test_it_lets_an_admin_change_the_levels_and_the_deadlines_follow(cast: Cast, master_data: Queue) -> None:
    exc = opened(1)
    Queue.objects.create(slug="returns", name="Returns")
    admin = client_for(cast.admin)
    deadlines = reverse("api:exception-deadlines", args=[exc.pk])
    assert [(d["level"], d["after_hours"]) for d in admin.get(deadlines).json()] == [(1, "4.00"), (2, "8.00")]

    response = admin.put(POLICY, policy_body(FASTER, master_data, sla_hours=6), format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["queue"], body["sla_hours"], body["calendar"]) == ("master-data", 6, master_data.calendar_id)
    assert [(lv["level"], lv["after_hours"], lv["action"], lv["manager_email"]) for lv in body["levels"]] == [
        (1, "2.00", "raise_priority", ""), (2, "6.00", "notify_manager", "boss@example.com")]
    after = admin.get(deadlines).json()
    assert [(d["level"], d["after_hours"], d["label"]) for d in after] == [
        (1, "2.00", "raise priority"), (2, "6.00", "notify manager boss@example.com")]
    assert abs(due(after[0]) - (exc.first_seen + timedelta(hours=2))) < timedelta(minutes=1)
    listed = {row["queue"]: row for row in admin.get(POLICIES).json()["results"]}
    assert [lv["after_hours"] for lv in listed["master-data"]["levels"]] == ["2.00", "6.00"]
    assert (listed["returns"]["id"], listed["returns"]["active"], listed["returns"]["levels"]) == (None, True, [])
    assert admin.get(POLICY).json() == body


def test_it_patches_one_field_and_keeps_the_rest(cast: Cast, master_data: Queue) -> None:
    exc = opened(1)
    admin = client_for(cast.admin)

    response = admin.patch(POLICY, {"sla_hours": 12}, format="json")

    assert response.status_code == 200 and response.json()["sla_hours"] == 12
    assert saved_levels(master_data) == [(1, "4.00", "notify_lead"), (2, "8.00", "notify_manager")]
    assert list(SettingChange.objects.values_list("kind", flat=True)) == [SettingKind.QUEUE]
    off = admin.patch(POLICY, {"active": False, "calendar": None}, format="json").json()
    assert (off["active"], off["calendar"], len(off["levels"])) == (False, None, 2)
    assert admin.get(reverse("api:exception-deadlines", args=[exc.pk])).json() == []  # an inactive policy has none


def test_it_refuses_levels_out_of_order_and_saves_nothing(cast: Cast, master_data: Queue) -> None:
    response = client_for(cast.admin).put(POLICY, policy_body(BACKWARDS, master_data, sla_hours=12), format="json")

    assert response.status_code == 400
    assert response.json() == {"levels": [OUT_OF_ORDER]}
    assert saved_levels(master_data) == [(1, "4.00", "notify_lead"), (2, "8.00", "notify_manager")]
    master_data.refresh_from_db()
    assert master_data.sla_hours == 4  # the queue's half is not saved either
    assert not SettingChange.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"levels": [{"after_hours": "4", "action": "notify_manager"}]}, "levels",
         "Level 1 notifies a manager: pick one or enter an email address."),
        ({"levels": [{"after_hours": "4", "action": "reassign"}]}, "levels",
         "Level 1 reassigns: pick who to reassign to."),
        ({"levels": [{"after_hours": "0", "action": "notify_lead"}]}, "levels",
         "Level 1: the hours must be more than 0."),
        ({"levels": [{"after_hours": "4", "action": "reassign", "reassign_to": "outsider"}]}, "levels",
         "Level 1 reassigns to outsider, who cannot work the Master data queue."),
        ({"levels": [{"level": 1, "after_hours": "4", "action": "notify_lead"},
                     {"level": 3, "after_hours": "8", "action": "notify_lead"}]}, "levels",
         "Levels must be numbered 1 to 2 without gaps (got 1, 3)."),
        ({"sla_hours": 0}, "sla_hours", "The SLA must be 1 to 2000 hours."),
        ({"calendar": 999999}, "calendar", "There is no calendar 999999."),
    ],
)
def test_it_explains_what_is_wrong_and_saves_nothing(cast: Cast, master_data: Queue, change: dict[str, Any],
                                                     field: str, message: str) -> None:
    response = client_for(cast.admin).put(POLICY, {**policy_body(FASTER, master_data), **change}, format="json")

    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert len(saved_levels(master_data)) == 2 and not SettingChange.objects.exists()


def test_it_reassigns_only_to_someone_who_can_work_the_queue(cast: Cast, master_data: Queue) -> None:
    level = {"after_hours": "4", "action": "reassign", "reassign_to": "master_data_steward"}

    response = client_for(cast.admin).put(POLICY, policy_body([level], master_data), format="json")

    assert response.status_code == 200
    assert response.json()["levels"][0]["reassign_to"] == "master_data_steward"
    assert EscalationLevel.objects.get(policy__queue=master_data).reassign_to == cast.master_data_steward
    unknown = client_for(cast.admin).get(reverse("api:escalation-policy-detail", args=["nowhere"]))
    assert unknown.status_code == 404


def test_it_previews_deadlines_under_the_posted_policy_without_saving(cast: Cast, master_data: Queue) -> None:
    exc = opened(3)
    opened(1, status=ExceptionStatus.RESOLVED)
    admin = client_for(cast.admin)

    response = admin.post(PREVIEW, policy_body(FASTER, master_data), format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["timers"], body["open_count"], body["limit"]) == (
        "2 h → raise priority; 6 h → manager boss@example.com", 1, 20)
    [row] = body["rows"]
    assert row["exception"] == exc.pk
    first, second = row["deadlines"]
    assert abs(due(first) - timezone.now()) < timedelta(minutes=1)  # 3 h in, a 2 h timer is due now
    assert abs(due(second) - (exc.first_seen + timedelta(hours=6))) < timedelta(minutes=1)
    assert saved_levels(master_data) == [(1, "4.00", "notify_lead"), (2, "8.00", "notify_manager")]
    assert not SettingChange.objects.exists()
    saved = admin.get(reverse("api:exception-deadlines", args=[exc.pk])).json()
    assert abs(due(saved[0]) - (exc.first_seen + timedelta(hours=4))) < timedelta(minutes=1)

    backwards = admin.post(PREVIEW, policy_body(BACKWARDS, master_data), format="json")
    assert backwards.status_code == 400 and backwards.json() == {"levels": [OUT_OF_ORDER]}
    off = admin.post(PREVIEW, policy_body(FASTER, master_data, active=False), format="json").json()
    assert (off["active"], off["rows"]) == (False, [])
    opened(2)
    assert len(admin.post(f"{PREVIEW}?limit=1", policy_body(FASTER, master_data), format="json").json()["rows"]) == 1
    too_many = admin.post(f"{PREVIEW}?limit=500", policy_body(FASTER, master_data), format="json")
    assert too_many.status_code == 400 and "limit" in too_many.json()
    assert not SettingChange.objects.exists() and len(saved_levels(master_data)) == 2


# -- calendars ---------------------------------------------------------------------------------------
def test_it_names_the_holiday_typo_and_saves_nothing(cast: Cast) -> None:
    response = client_for(cast.admin).post(
        CALENDARS, berlin(holidays=["2026-12-24", "2026-13-01", "2026-12-25", "christmas"]), format="json")

    assert response.status_code == 400
    assert response.json() == {"holidays": ["2026-13-01 is not a date (YYYY-MM-DD)",
                                            "christmas is not a date (YYYY-MM-DD)"]}
    assert not BusinessCalendar.objects.filter(name="Berlin office").exists()
    assert not SettingChange.objects.exists()


def test_it_saves_and_edits_a_calendar_like_the_screen(cast: Cast, master_data: Queue) -> None:
    admin = client_for(cast.admin)

    created = admin.post(CALENDARS, berlin(holidays=["2026-12-31", "2026-12-24", "2026-12-24"]), format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["weekdays"], body["holidays"]) == ([0, 1, 2, 3, 4], ["2026-12-24", "2026-12-31"])
    assert (body["day_start"], body["day_end"], body["queues"]) == ("08:00:00", "16:30:00", [])
    url = calendar_url(body["id"])
    early = admin.patch(url, {"day_end": "07:00"}, format="json")
    assert early.status_code == 400 and early.json() == {"day_end": ["The working day must end after it starts (08:00)."]}
    zone = admin.put(url, berlin(time_zone="Europe/Atlantis"), format="json")
    assert zone.status_code == 400 and zone.json() == {
        "time_zone": ["“Europe/Atlantis” is not a time zone (e.g. Europe/Berlin)."]}
    twin = admin.post(CALENDARS, berlin(name="Around the clock"), format="json")
    assert twin.status_code == 400 and twin.json() == {"name": ["Another calendar is called “Around the clock”."]}
    assert admin.get(url).json()["holidays"] == ["2026-12-24", "2026-12-31"]

    edited = admin.patch(url, {"holidays": ["2027-01-01", "2026-12-24"]}, format="json")
    assert edited.status_code == 200 and edited.json()["holidays"] == ["2026-12-24", "2027-01-01"]
    listed = {c["name"]: c for c in admin.get(CALENDARS).json()["results"]}
    assert listed["Around the clock"]["queues"] == ["master-data"] and "Berlin office" in listed
    assert list(SettingChange.objects.filter(kind=SettingKind.CALENDAR).values_list("action", flat=True)) == [
        "update", "create"]


# -- access ------------------------------------------------------------------------------------------
def every_request(client: APIClient, queue: Queue) -> list[Any]:
    calendar = calendar_url(queue.calendar_id)
    body = policy_body(FASTER, queue)
    return [
        client.get(POLICIES), client.get(POLICY), client.put(POLICY, body, format="json"),
        client.patch(POLICY, {"sla_hours": 9}, format="json"), client.post(PREVIEW, body, format="json"),
        client.get(CALENDARS), client.post(CALENDARS, berlin(), format="json"), client.get(calendar),
        client.put(calendar, berlin(), format="json"), client.patch(calendar, {"day_end": "12:00"}, format="json"),
        client.get(CHANGES),
    ]


@pytest.mark.parametrize("who", ["pricing_analyst", "outsider"])
def test_it_hides_every_endpoint_from_non_admins(cast: Cast, master_data: Queue, who: str) -> None:
    client_for(cast.admin).patch(POLICY, {"sla_hours": 5}, format="json")  # a change to keep hidden

    answers = every_request(client_for(getattr(cast, who)), master_data)

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert saved_levels(master_data)[0] == (1, "4.00", "notify_lead")
    assert Queue.objects.get(pk=master_data.pk).sla_hours == 5
    assert not BusinessCalendar.objects.filter(name="Berlin office").exists()
    assert BusinessCalendar.objects.get(pk=master_data.calendar_id).day_end == time(23, 59, 59)
    assert SettingChange.objects.count() == 1


def test_it_lets_holders_of_a_model_permission_in_like_the_screens(cast: Cast, master_data: Queue) -> None:
    client_for(cast.admin).post(CALENDARS, berlin(), format="json")
    cast.approver.user_permissions.add(Permission.objects.get(codename="change_escalationpolicy"))
    client = client_for(cast.approver)

    assert client.patch(POLICY, {"sla_hours": 6}, format="json").status_code == 200
    assert client.get(CALENDARS).status_code == 404  # calendars take their own permission
    trail = client.get(CHANGES).json()["results"]
    assert [(c["kind"], c["actor"]) for c in trail] == [("queue", "approver")]  # not the calendar's history

    cast.product_ops.user_permissions.add(Permission.objects.get(codename="change_businesscalendar"))
    keeper = client_for(cast.product_ops)
    assert keeper.get(POLICIES).status_code == 404
    assert keeper.post(CALENDARS, berlin(name="Lisbon"), format="json").status_code == 201
    assert {c["kind"] for c in keeper.get(CHANGES).json()["results"]} == {"calendar"}


def test_it_enforces_csrf_on_session_requests(cast: Cast, master_data: Queue) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(cast.admin)

    refused = [client.put(POLICY, policy_body(FASTER, master_data), format="json"),
               client.post(PREVIEW, policy_body(FASTER, master_data), format="json"),
               client.post(CALENDARS, berlin(), format="json")]

    assert [r.status_code for r in refused] == [403] * 3 and "CSRF" in refused[0].json()["detail"]
    assert saved_levels(master_data)[0] == (1, "4.00", "notify_lead") and not SettingChange.objects.exists()
    assert client.get(POLICY).status_code == 200  # reads need no token
    client.cookies["csrftoken"] = "k" * 32
    accepted = client.put(POLICY, policy_body(FASTER, master_data), format="json", headers={"X-CSRFToken": "k" * 32})
    assert accepted.status_code == 200 and saved_levels(master_data)[0] == (1, "2.00", "raise_priority")


# -- the audit trail ---------------------------------------------------------------------------------
def test_it_lists_the_audit_trail_with_who_changed_what(cast: Cast, master_data: Queue) -> None:
    admin = client_for(cast.admin)
    policy_id = admin.put(POLICY, policy_body(FASTER, master_data, sla_hours=6, calendar=None), format="json").json()["id"]
    calendar = admin.post(CALENDARS, berlin(), format="json").json()
    admin.put(POLICY, policy_body(FASTER, master_data, sla_hours=6, calendar=None), format="json")  # no change: no row

    response = admin.get(CHANGES)

    assert response.status_code == 200
    trail = response.json()["results"]
    assert [(c["kind"], c["label"], c["action"], c["actor"]) for c in trail] == [
        ("calendar", "Berlin office", "create", "admin"),
        ("queue", "Master data calendar & SLA", "update", "admin"),
        ("escalation_policy", "Master data escalation", "update", "admin"),
    ]
    assert (trail[0]["object_id"], trail[1]["before"], trail[1]["after"]) == (
        calendar["id"], {"calendar": "Around the clock", "sla_hours": 4}, {"calendar": None, "sla_hours": 6})
    [policy] = admin.get(CHANGES, {"kind": "escalation_policy", "object_id": policy_id}).json()["results"]
    assert [(lv["after_hours"], lv["action"]) for lv in policy["before"]["levels"]] == [
        ("4", "notify_lead"), ("8", "notify_manager")]
    assert [(lv["after_hours"], lv["action"]) for lv in policy["after"]["levels"]] == [
        ("2", "raise_priority"), ("6", "notify_manager")]
    assert admin.get(CHANGES, {"kind": "queue", "object_id": master_data.pk + 1000}).json()["results"] == []
    junk = admin.get(CHANGES, {"kind": "rules"})
    assert junk.status_code == 400 and "kind" in junk.json()
