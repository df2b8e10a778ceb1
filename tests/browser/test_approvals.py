"""An approver clears two high-risk deals in a real browser: reads the context, approves one,
rejects the other."""

from __future__ import annotations

from decimal import Decimal

from approvals.models import Approval, ApprovalStatus
from integration_hub.models import HandoffStatus
from tests.approvals.conftest import cast, close_deal_worth  # noqa: F401
from tests.conftest import browser_login, screenshot
from tests.pipeline.conftest import sync_world, world  # noqa: F401


def test_it_lets_an_approver_approve_one_deal_and_reject_another(sync_world, cast, browser_context, live_server):  # noqa: F811
    handoffs = [sync_world.drive(sync_world.receive(close_deal_worth(sync_world.flow, Decimal(v))))
                for v in ("300000", "420000")]
    assert all(h.status == HandoffStatus.AWAITING_APPROVAL for h in handoffs)
    first, second = (Approval.objects.get(handoff=h) for h in handoffs)

    page = browser_login(browser_context, live_server, cast.approver)
    page.goto("/approvals/")
    assert page.locator(".appr-table tbody tr").count() == 2
    screenshot(page, "approvals-queue")

    page.click(f"a[href='/approvals/{first.pk}/']")
    assert "Risk factors" in page.inner_text("main")
    assert "Deal value" in page.inner_text(".factors")
    assert "Credit & AR aging" in page.inner_text("main")
    screenshot(page, "approvals-detail")
    page.fill("textarea[name=note]", "Strategic account, credit is clean")
    page.click("button[value=approve]")
    page.wait_for_selector(".outcome")
    assert "Approved" in page.inner_text("#decision")
    screenshot(page, "approvals-approved")

    page.goto(f"/approvals/{second.pk}/")
    page.fill("textarea[name=note]", "Deal value above what finance signed off")
    page.click("button[value=reject]")
    page.wait_for_selector(".outcome")
    assert "Rejected" in page.inner_text("#decision")
    screenshot(page, "approvals-rejected")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED)
    assert first.handoff.status == HandoffStatus.READY
    assert second.handoff.status == HandoffStatus.CANCELLED
    opportunity = sync_world.opportunity(second.handoff.opportunity_id)
    assert opportunity["ERP_Sync_Status__c"] == "Rejected"


def test_it_says_why_a_cancel_without_a_note_is_refused_and_shows_the_release_at_once(
        sync_world, cast, browser_context, live_server):  # noqa: F811
    handoff = sync_world.drive(sync_world.receive(close_deal_worth(sync_world.flow, Decimal("80000"))))
    approval = Approval.objects.get(handoff=handoff)
    assert approval.status == ApprovalStatus.WINDOW_OPEN

    page = browser_login(browser_context, live_server, cast.approver)
    page.goto(f"/approvals/{approval.pk}/")
    assert "Block releases" in page.inner_text("#approval-kpis")
    page.click("button[value=cancel]")
    page.wait_for_selector("#decision [role=alert]")
    assert "say why" in page.inner_text("#decision [role=alert]")
    assert page.locator("#decision").count() == 1
    screenshot(page, "approvals-cancel-refused")
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.WINDOW_OPEN

    page.click("button[value=release]")
    page.wait_for_selector("#decision .outcome")
    page.wait_for_selector("#approval-kpis [data-released-at]")
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.RELEASED
    assert "Block released" in page.inner_text("#approval-kpis")
    assert "Block releases" not in page.inner_text("#approval-kpis")
    screenshot(page, "approvals-released")
