"""The escalation-policy and business-calendar screens: edits, previews, validation, audit, access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from exceptions.escalation import exception_deadlines, hours_label
from exceptions.models import (
    BusinessCalendar,
    EscalationLevel,
    EscalationPolicy,
    Queue,
    SettingChange,
    SettingKind,
    SyncException,
)
from tests.exceptions.conftest import ALWAYS
from tests.factories import SyncExceptionFactory


def _opened(hours_ago: float, **kw: Any) -> SyncException:
    exc = SyncExceptionFactory(type_code="customer_not_found", **kw)
    SyncException.objects.filter(pk=exc.pk).update(first_seen=timezone.now() - timedelta(hours=hours_ago))
    exc.refresh_from_db()
    return exc


def _policy_form(levels: list[dict[str, Any]], *, sla_hours: int = 4, calendar: Any = "", **fields: Any) -> dict:
    data: dict[str, Any] = {"active": "on", "condition_action": "raise_priority", "conditions": [],
                            "calendar": calendar, "sla_hours": sla_hours, "levels-TOTAL_FORMS": len(levels),
                            "levels-INITIAL_FORMS": len(levels), "levels-MIN_NUM_FORMS": 0,
                            "levels-MAX_NUM_FORMS": 1000, **fields}
    for i, level in enumerate(levels):
        for name in ("after_hours", "action", "manager", "manager_email", "reassign_to"):
            data[f"levels-{i}-{name}"] = level.get(name, "")
    return data


def _levels(queue: Queue) -> list[tuple[int, str, str]]:
    return [(row.level, hours_label(row.after_hours), row.action)
            for row in EscalationLevel.objects.filter(policy__queue=queue).order_by("level")]


FASTER = [{"after_hours": "2", "action": "raise_priority"},
          {"after_hours": "6", "action": "notify_manager", "manager_email": "boss@example.com"}]


def test_it_lets_an_admin_edit_a_policy_and_the_exception_deadlines_follow(cast: Any, client: Client,
                                                                           master_data: Queue) -> None:
    exc = _opened(1)
    client.force_login(cast.admin)
    assert "after 4 business h → notify the queue" in client.get(f"/triage/e/{exc.pk}/").content.decode()
    form = client.get("/triage/escalation/master-data/").content.decode()
    assert 'name="levels-0-after_hours" value="4"' in form and 'value="boss@example.com"' in form

    response = client.post("/triage/escalation/master-data/", _policy_form(FASTER, calendar=master_data.calendar_id))

    assert response.status_code == 302 and response["Location"] == "/triage/escalation/"
    listing = client.get("/triage/escalation/").content.decode()
    assert "Escalation of Master data saved." in listing
    assert "2 h → raise priority; 6 h → manager boss@example.com" in listing
    detail = client.get(f"/triage/e/{exc.pk}/").content.decode()
    assert "after 2 business h → raise priority" in detail
    assert "after 6 business h → notify manager boss@example.com" in detail
    first = exception_deadlines(exc)[0]
    assert abs(first.due_at - (exc.first_seen + timedelta(hours=2))) < timedelta(minutes=1)


def test_it_refuses_levels_out_of_order_and_saves_nothing(cast: Any, client: Client, master_data: Queue) -> None:
    client.force_login(cast.admin)
    backwards = [{"after_hours": "8", "action": "notify_lead"}, {"after_hours": "4", "action": "raise_priority"}]

    response = client.post("/triage/escalation/master-data/",
                           _policy_form(backwards, sla_hours=12, calendar=master_data.calendar_id))

    assert response.status_code == 422
    html = response.content.decode()
    assert "Level 2 fires after 4 h, which is not later than level 1 (8 h)" in html
    assert 'class="level-row has-error"' in html
    assert _levels(master_data) == [(1, "4", "notify_lead"), (2, "8", "notify_manager")]
    master_data.refresh_from_db()
    assert master_data.sla_hours == 4  # the queue half of the form is not saved either
    assert not SettingChange.objects.exists()


@pytest.mark.parametrize(
    ("level", "message"),
    [
        ({"after_hours": "4", "action": "notify_manager"},
         "Level 1 notifies a manager: pick one or enter an email address."),
        ({"after_hours": "4", "action": "reassign"}, "Level 1 reassigns: pick who to reassign to."),
        ({"after_hours": "0", "action": "notify_lead"}, "Level 1: the hours must be more than 0."),
    ],
)
def test_it_explains_what_a_level_is_missing(cast: Any, client: Client, master_data: Queue, level: dict,
                                             message: str) -> None:
    client.force_login(cast.admin)
    response = client.post("/triage/escalation/master-data/", _policy_form([level]))
    assert response.status_code == 422 and message in response.content.decode()
    assert len(_levels(master_data)) == 2


def test_it_only_reassigns_to_someone_who_can_work_the_queue(cast: Any, client: Client, master_data: Queue) -> None:
    client.force_login(cast.admin)
    to_outsider = [{"after_hours": "4", "action": "reassign", "reassign_to": cast.outsider.pk}]
    response = client.post("/triage/escalation/master-data/", _policy_form(to_outsider))
    # The outsider is not even offered: the form refuses the choice before the service does.
    assert response.status_code == 422 and "Select a valid choice" in response.content.decode()
    to_steward = [{"after_hours": "4", "action": "reassign", "reassign_to": cast.master_data_steward.pk}]
    assert client.post("/triage/escalation/master-data/", _policy_form(to_steward)).status_code == 302
    level = EscalationLevel.objects.get(policy__queue=master_data)
    assert level.reassign_to == cast.master_data_steward


def test_it_records_before_and_after_in_the_audit_row(cast: Any, client: Client, master_data: Queue) -> None:
    client.force_login(cast.admin)
    client.post("/triage/escalation/master-data/", _policy_form(FASTER, sla_hours=6, calendar=""))

    change = SettingChange.objects.get(kind=SettingKind.ESCALATION_POLICY)
    assert change.actor == cast.admin and change.action == "update"
    assert [(lv["after_hours"], lv["action"]) for lv in change.before["levels"]] == [("4", "notify_lead"),
                                                                                     ("8", "notify_manager")]
    assert [(lv["after_hours"], lv["action"]) for lv in change.after["levels"]] == [("2", "raise_priority"),
                                                                                    ("6", "notify_manager")]
    clock = SettingChange.objects.get(kind=SettingKind.QUEUE, object_id=master_data.pk)
    assert clock.before == {"calendar": "Around the clock", "sla_hours": 4}
    assert clock.after == {"calendar": None, "sla_hours": 6}
    history = client.get("/triage/escalation/master-data/").content.decode()
    assert "<del>4 h → notify lead; 8 h → manager boss@example.com</del>" in history
    assert "<ins>2 h → raise priority; 6 h → manager boss@example.com</ins>" in history
    assert "<del>4</del> → <ins>6</ins>" in history  # SLA hours
    # Saving again without a change adds no row.
    client.post("/triage/escalation/master-data/", _policy_form(FASTER, sla_hours=6, calendar=""))
    assert SettingChange.objects.count() == 2


def test_it_previews_deadlines_under_the_edited_policy_without_saving(cast: Any, client: Client,
                                                                     master_data: Queue) -> None:
    exc = _opened(3)
    client.force_login(cast.admin)
    page = client.get("/triage/escalation/master-data/").content.decode()
    assert f"#{exc.pk}" in page and "due now" not in page  # 3 h in: L1 (4 h) is still ahead

    response = client.post("/triage/escalation/master-data/",
                           {**_policy_form(FASTER, calendar=master_data.calendar_id), "preview": "1"},
                           headers={"HX-Request": "true", "HX-Target": "escalation-preview"})

    html = response.content.decode()
    assert response.status_code == 200 and 'id="escalation-preview"' in html and "<html" not in html
    assert "2 h → raise priority <span class=\"when\">due now</span>" in html
    assert "6 h → notify manager boss@example.com" in html
    assert _levels(master_data) == [(1, "4", "notify_lead"), (2, "8", "notify_manager")]
    assert not SettingChange.objects.exists()
    backwards = [{"after_hours": "8", "action": "notify_lead"}, {"after_hours": "4", "action": "notify_lead"}]
    html = client.post("/triage/escalation/master-data/", {**_policy_form(backwards), "preview": "1"},
                       headers={"HX-Request": "true", "HX-Target": "escalation-preview"}).content.decode()
    assert "These timers cannot be saved" in html and "Level 2 fires after 4 h" in html


def test_it_adds_and_removes_level_rows_without_saving(cast: Any, client: Client, master_data: Queue) -> None:
    client.force_login(cast.admin)
    two = [{"after_hours": "4", "action": "notify_lead"},
           {"after_hours": "8", "action": "notify_manager", "manager_email": "boss@example.com"}]

    added = client.post("/triage/escalation/master-data/", {**_policy_form(two), "add_level": "1"})

    html = added.content.decode()
    assert added.status_code == 200 and "<html" in html  # without JS: the whole page, one row more
    assert 'name="levels-2-after_hours" value="12"' in html and 'name="levels-TOTAL_FORMS" value="3"' in html
    removed = client.post("/triage/escalation/master-data/", {**_policy_form(two), "remove_level": "0"},
                          headers={"HX-Request": "true", "HX-Target": "escalation-levels"})
    html = removed.content.decode()
    assert "<html" not in html and 'id="escalation-levels"' in html
    assert 'name="levels-0-after_hours" value="8"' in html and "levels-1-after_hours" not in html
    assert removed["HX-Trigger-After-Swap"] == "levelsChanged"
    assert len(_levels(master_data)) == 2 and not SettingChange.objects.exists()


# -- calendars ---------------------------------------------------------------------------------------
def _calendar_form(**fields: Any) -> dict[str, Any]:
    return {"name": "Berlin office", "time_zone": "Europe/Berlin", "weekdays": ["0", "1", "2", "3", "4"],
            "day_start": "08:00", "day_end": "16:30", "holidays": "", **fields}


def test_it_names_the_holiday_typo_and_saves_nothing(cast: Any, client: Client) -> None:
    client.force_login(cast.admin)
    response = client.post("/triage/calendars/new/",
                           _calendar_form(holidays="2026-12-24\n2026-13-01, 2026-12-25\nchristmas"))
    assert response.status_code == 422
    html = response.content.decode()
    assert "2026-13-01 is not a date (YYYY-MM-DD)" in html and "christmas is not a date (YYYY-MM-DD)" in html
    assert not BusinessCalendar.objects.filter(name="Berlin office").exists()
    assert not SettingChange.objects.exists()


def test_it_saves_a_calendar_with_its_holidays_sorted_once(cast: Any, client: Client) -> None:
    client.force_login(cast.admin)
    response = client.post("/triage/calendars/new/",
                           _calendar_form(holidays="2026-12-31, 2026-12-24\n2026-12-24\n\n"))
    assert response.status_code == 302 and response["Location"] == "/triage/calendars/"
    calendar = BusinessCalendar.objects.get(name="Berlin office")
    assert calendar.holidays == ["2026-12-24", "2026-12-31"] and calendar.weekdays == [0, 1, 2, 3, 4]
    change = SettingChange.objects.get(kind=SettingKind.CALENDAR, object_id=calendar.pk)
    assert change.action == "create" and change.after["time_zone"] == "Europe/Berlin" and change.actor == cast.admin
    listing = client.get("/triage/calendars/").content.decode()
    assert "Berlin office" in listing and "Mon–Fri" in listing and "08:00–16:30" in listing

    edit = client.post(f"/triage/calendars/{calendar.pk}/", _calendar_form(holidays="2026-12-24", day_end="07:00"))
    assert edit.status_code == 422 and "The working day must end after it starts (08:00)." in edit.content.decode()
    client.post(f"/triage/calendars/{calendar.pk}/", _calendar_form(holidays="2026-12-24\n2027-01-01"))
    page = client.get(f"/triage/calendars/{calendar.pk}/").content.decode()
    assert "+2027-01-01 −2026-12-31" in page  # the history names the holidays added and removed


def test_it_previews_when_a_new_exception_would_reach_4_and_8_business_hours(cast: Any, client: Client) -> None:
    client.force_login(cast.admin)
    calendar = BusinessCalendar.objects.create(name="Around the clock", **ALWAYS)
    before = timezone.now()
    page = client.get(f"/triage/calendars/{calendar.pk}/").content.decode()
    after = timezone.now()
    assert "would reach <b>4 business hours</b> at" in page and "would reach <b>8 business hours</b>" in page
    assert any((t + timedelta(hours=4)).strftime("%a %-d %b, %H:%M UTC") in page for t in (before, after))
    fresh = client.get("/triage/calendars/new/").content.decode()  # a new calendar previews its defaults
    assert "Now in UTC" in fresh and "would reach <b>8 business hours</b>" in fresh
    html = client.post(f"/triage/calendars/{calendar.pk}/",
                       {**_calendar_form(name="Around the clock", time_zone="Asia/Tokyo", holidays="2026-02-30"),
                        "preview": "1"}, headers={"HX-Request": "true", "HX-Target": "calendar-preview"}).content.decode()
    assert "<html" not in html and "2026-02-30 is not a date (YYYY-MM-DD)" in html
    html = client.post(f"/triage/calendars/{calendar.pk}/", {**_calendar_form(time_zone="Asia/Tokyo"), "preview": "1"},
                       headers={"HX-Request": "true", "HX-Target": "calendar-preview"}).content.decode()
    assert "Now in Asia/Tokyo" in html and "JST" in html
    calendar.refresh_from_db()
    assert calendar.time_zone == "UTC" and calendar.name == "Around the clock"


# -- access ------------------------------------------------------------------------------------------
SCREENS = ["/triage/escalation/", "/triage/escalation/master-data/", "/triage/calendars/",
           "/triage/calendars/new/", "/triage/calendars/{pk}/"]


@pytest.mark.parametrize("who", ["outsider", "pricing_analyst"])
def test_it_hides_every_screen_from_non_admins(cast: Any, client: Client, master_data: Queue, who: str) -> None:
    client.force_login(getattr(cast, who))
    pk = master_data.calendar_id
    for url in SCREENS:
        assert client.get(url.format(pk=pk)).status_code == 404, url
    assert client.post("/triage/escalation/master-data/", _policy_form(FASTER)).status_code == 404
    assert client.post("/triage/calendars/new/", _calendar_form()).status_code == 404
    assert client.post(f"/triage/calendars/{pk}/", _calendar_form()).status_code == 404
    assert _levels(master_data)[0] == (1, "4", "notify_lead")
    assert not BusinessCalendar.objects.filter(name="Berlin office").exists()
    assert "/triage/escalation/" not in client.get("/triage/").content.decode()


def test_it_shows_the_admin_the_new_screens_in_the_sidebar(cast: Any, client: Client) -> None:
    client.force_login(cast.admin)
    html = client.get("/triage/").content.decode()
    assert 'href="/triage/escalation/">Escalation policies' in html
    assert 'href="/triage/calendars/">Business calendars' in html


def test_it_refuses_posts_without_the_csrf_token(cast: Any, master_data: Queue) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.admin)
    assert client.post("/triage/escalation/master-data/", _policy_form(FASTER)).status_code == 403
    assert client.post("/triage/calendars/new/", _calendar_form()).status_code == 403
    assert client.post(f"/triage/calendars/{master_data.calendar_id}/", _calendar_form()).status_code == 403
    assert _levels(master_data)[0] == (1, "4", "notify_lead")
    assert not BusinessCalendar.objects.filter(name="Berlin office").exists()
    assert not SettingChange.objects.exists()
    # With the token the page carries, the same post goes through.
    page = client.get("/triage/escalation/master-data/")
    token = page.context["csrf_token"]
    assert client.post("/triage/escalation/master-data/", {**_policy_form(FASTER), "csrfmiddlewaretoken": str(token)}
                       ).status_code == 302


def test_it_refuses_to_reassign_to_someone_outside_the_queue_whoever_calls(cast: Any, master_data: Queue) -> None:
    from django.core.exceptions import ValidationError

    from exceptions.policies import escalation_policy_save

    policy = EscalationPolicy.objects.get(queue=master_data)
    level = EscalationLevel(level=1, after_hours=4, action="reassign", reassign_to=cast.outsider)
    with pytest.raises(ValidationError) as error:
        escalation_policy_save(policy=policy, levels=[level], actor=cast.admin)
    assert "Level 1 reassigns to outsider, who cannot work the Master data queue." in error.value.messages
    assert len(_levels(master_data)) == 2 and not SettingChange.objects.exists()


def test_it_previews_the_sla_due_time_in_business_hours_of_the_draft_calendar(master_data: Queue) -> None:
    from datetime import UTC, datetime

    from exceptions.policies import escalation_policy_preview

    friday_4pm = datetime(2026, 12, 4, 16, tzinfo=UTC)
    opened = SyncExceptionFactory(type_code="customer_not_found")
    SyncException.objects.filter(pk=opened.pk).update(first_seen=friday_4pm)
    office = BusinessCalendar.objects.create(name="Office hours")  # Mon–Fri 09–17 UTC
    policy = EscalationPolicy.objects.get(queue=master_data)
    levels = list(policy.levels.all())

    preview = escalation_policy_preview(queue=master_data, policy=policy, levels=levels, calendar=office, sla_hours=4,
                                        limit=5, now=datetime(2026, 12, 7, 11, tzinfo=UTC))

    [row] = preview.rows
    # One hour on Friday, three on Monday from 09:00: due Monday 12:00, not Friday 20:00.
    assert row.sla_due == datetime(2026, 12, 7, 12, tzinfo=UTC) and row.sla_breached is False
