"""Routing rules and escalation deadlines in a real browser (screenshots kept as artifacts)."""

from __future__ import annotations

from exceptions.models import EscalationLevel, EscalationPolicy, RoutingRule
from exceptions.services import queue_ensure
from tests.conftest import browser_login, screenshot
from tests.factories import SyncExceptionFactory, make_cast


def test_it_lets_an_admin_preview_and_save_a_routing_rule(browser_context, live_server):  # type: ignore[no-untyped-def]
    people = make_cast()
    pricing = [SyncExceptionFactory(type_code="pricing_mismatch", title=f"Price variance on deal {i}") for i in range(3)]
    SyncExceptionFactory(type_code="product_not_mapped")
    page = browser_login(browser_context, live_server, people.admin)
    page.goto("/triage/routing/new/")
    page.fill("input[name=name]", "Pricing goes to credit")
    page.select_option("select[name=queue]", str(queue_ensure(slug="credit").pk))
    page.check("input[name=type_codes][value=pricing_mismatch]")
    page.wait_for_selector("#routing-preview tr.moved")
    assert page.locator("#routing-preview tr.moved").count() == 3
    screenshot(page, "routing-rule-preview")
    assert not RoutingRule.objects.exists()
    page.click("text=Save rule")
    page.wait_for_url("**/triage/routing/")
    assert page.locator("text=Pricing goes to credit").count() >= 1
    screenshot(page, "routing-rules")
    for exc in pricing:
        exc.refresh_from_db()
        assert exc.queue.slug == "credit"

    policy = EscalationPolicy.objects.get_or_create(queue=queue_ensure(slug="credit"))[0]
    EscalationLevel.objects.create(policy=policy, level=1, after_hours=4, action="notify_lead")
    EscalationLevel.objects.create(policy=policy, level=2, after_hours=8, action="notify_manager",
                                   manager_email="cfo@example.com")
    page.goto(f"/triage/e/{pricing[0].pk}/")
    assert page.locator("li.deadline").count() == 2
    screenshot(page, "exception-escalation-deadlines")
