"""A credit lead runs their queue's people in a real browser (screenshot kept as an artifact)."""

from __future__ import annotations

from exceptions.services import exception_assign, queue_ensure
from tests.conftest import browser_login, screenshot
from tests.factories import SyncExceptionFactory, UserFactory, make_cast


def test_it_lets_a_credit_lead_add_a_colleague_and_hand_back_a_leavers_work(browser_context, live_server):  # type: ignore[no-untyped-def]
    people = make_cast()
    UserFactory(username="dana", first_name="Dana", last_name="Okafor")
    leaver = UserFactory(username="lee", first_name="Lee", last_name="Park")
    queue = queue_ensure(slug="credit")
    queue.members.add(leaver)
    held = SyncExceptionFactory(type_code="credit_check_failed", fingerprint="credit_check_failed:C1",
                                title="Open AR plus this order exceed the credit limit")
    exception_assign(exception=held, assignee=leaver, actor=people.credit_manager)

    page = browser_login(browser_context, live_server, people.credit_manager)
    page.goto("/triage/q/credit/")
    page.click("header >> text=Members")
    page.wait_for_url("**/triage/q/credit/members/")
    page.fill("#add-username", "dana")
    page.select_option(".add-member select[name=role]", "lead")
    page.click(".add-member button")
    page.wait_for_selector("text=dana is a lead of Credit management.")
    page.click("tr[data-member='lee'] >> text=Remove")
    page.wait_for_selector("text=1 open exception went back to the queue")
    assert page.locator("tr[data-member='lee']").count() == 0
    assert page.locator("tr[data-member='dana'] .badge").inner_text() == "lead"
    screenshot(page, "queue-members")
    held.refresh_from_db()
    assert held.assignee is None
