"""The escalation-policy and calendar editors in a real browser (screenshots kept as artifacts)."""

from __future__ import annotations

from datetime import time, timedelta

from django.utils import timezone
from playwright.sync_api import expect

from exceptions.models import (
    BusinessCalendar,
    EscalationLevel,
    EscalationPolicy,
    SettingChange,
    SyncException,
)
from exceptions.services import queue_ensure
from tests.conftest import browser_login, screenshot
from tests.factories import SyncExceptionFactory, make_cast


def test_it_lets_an_admin_edit_a_policy_level_with_a_live_preview(browser_context, live_server):  # type: ignore[no-untyped-def]
    people = make_cast()
    queue = queue_ensure(slug="master-data")
    queue.calendar = BusinessCalendar.objects.create(
        name="Around the clock", time_zone="Europe/Berlin", weekdays=list(range(7)), day_start=time(0),
        day_end=time(23, 59, 59), holidays=["2026-12-24", "2026-12-25"])
    queue.save()
    EscalationPolicy.objects.filter(queue=queue).delete()
    policy = EscalationPolicy.objects.create(queue=queue, conditions=["strategic_account"])
    EscalationLevel.objects.create(policy=policy, level=1, after_hours=4, action="notify_lead")
    EscalationLevel.objects.create(policy=policy, level=2, after_hours=8, action="notify_manager",
                                   manager_email="boss@example.com")
    for hours in (1, 3, 30):
        exc = SyncExceptionFactory(type_code="customer_not_found", title=f"Customer of deal opened {hours} h ago")
        SyncException.objects.filter(pk=exc.pk).update(first_seen=timezone.now() - timedelta(hours=hours))

    page = browser_login(browser_context, live_server, people.admin)
    page.goto("/triage/")
    page.click("text=Escalation policies")
    page.wait_for_url("**/triage/escalation/")
    page.click("#escalation-policies a:has-text('Master data') >> nth=0")
    page.wait_for_url("**/triage/escalation/master-data/")
    assert page.locator("#escalation-preview li.due").count() == 2  # the 30 h one: both levels due

    page.fill("input[name=levels-0-after_hours]", "2")
    page.locator("input[name=levels-0-after_hours]").press("Tab")
    # A locator wait, not wait_for_function("…"): a string predicate is eval, which the CSP refuses.
    expect(page.locator("#escalation-preview li.due")).to_have_count(3)
    page.click("text=+ level")
    page.wait_for_selector("input[name=levels-2-after_hours]")
    assert page.input_value("input[name=levels-2-after_hours]") == "12"
    page.select_option("select[name=levels-2-action]", "raise_priority")
    page.wait_for_selector("#escalation-preview li:has-text('12 h → raise priority')")
    screenshot(page, "escalation-policy-editor")
    assert EscalationLevel.objects.filter(policy=policy).count() == 2  # nothing saved yet

    page.click(".form-actions >> text=Save policy")
    page.wait_for_url("**/triage/escalation/")
    assert page.locator("#escalation-policies >> text=2 h → notify lead; 8 h → manager boss@example.com; 12 h → raise priority").count() == 1
    screenshot(page, "escalation-policies")
    assert [(lv.level, int(lv.after_hours), lv.action) for lv in policy.levels.order_by("level")] == [
        (1, 2, "notify_lead"), (2, 8, "notify_manager"), (3, 12, "raise_priority")]

    page.goto(f"/triage/calendars/{queue.calendar_id}/")
    assert page.locator("#calendar-preview >> text=would reach").count() == 2
    screenshot(page, "business-calendar-preview")
    page.fill("textarea[name=holidays]", "2026-12-24\n2026-12-25\n2026-13-01")
    page.locator("textarea[name=holidays]").press("Tab")
    page.wait_for_selector("#calendar-preview >> text=2026-13-01 is not a date (YYYY-MM-DD)")
    screenshot(page, "business-calendar-editor")
    page.click(".form-actions >> text=Save calendar")
    assert page.locator(".field.has-error >> text=2026-13-01 is not a date (YYYY-MM-DD)").count() == 1
    assert not SettingChange.objects.filter(kind="calendar").exists()
    page.goto("/triage/escalation/master-data/")
    screenshot(page, "escalation-policy-history")
