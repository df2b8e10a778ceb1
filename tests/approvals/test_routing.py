"""Medium and high deals through the real pipeline, against both sandboxes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from approvals.models import Approval, ApprovalEvent, ApprovalStatus
from approvals.services import approval_decide, approval_release, approval_windows_due
from exceptions.models import Notification
from integration_hub.models import HandoffStatus, SyncAttempt
from tests.approvals.conftest import close_deal_worth

S = HandoffStatus
A = ApprovalStatus


def _order(world, handoff):
    return world.sap.get_sales_order(handoff.sap_sales_order, expand=False)


def test_it_keeps_a_small_clean_deal_fully_automatic(sync_world):
    opportunity_id = close_deal_worth(sync_world.flow, Decimal("20000"))
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    assert handoff.status == S.WRITTEN_BACK
    assert handoff.risk_level == "low"
    assert handoff.risk.level == "low" and len(handoff.risk.factors) == 5
    assert not Approval.objects.filter(handoff=handoff).exists()
    assert not _order(sync_world, handoff).get("DeliveryBlockReason")


def test_it_blocks_a_medium_deal_and_releases_the_block_when_the_window_closes(sync_world, cast):
    handoff = sync_world.drive(sync_world.receive(close_deal_worth(sync_world.flow, Decimal("80000"))))
    assert handoff.status == S.WRITTEN_BACK, handoff.last_error
    assert handoff.risk_level == "medium"
    assert _order(sync_world, handoff)["DeliveryBlockReason"] == "01"
    approval = Approval.objects.get(handoff=handoff)
    assert approval.status == A.WINDOW_OPEN and approval.window_ends_at is not None
    assert approval.assigned_group == cast.approvers

    assert approval_windows_due(now=approval.window_ends_at - timedelta(seconds=1)) == []
    later = approval.window_ends_at + timedelta(seconds=1)
    assert approval_windows_due(now=later) == [approval.pk]
    approval_release(approval=approval, now=later)

    approval.refresh_from_db()
    assert approval.status == A.RELEASED
    assert not _order(sync_world, handoff).get("DeliveryBlockReason")
    assert "window closed" in approval.events.last().reason


def test_it_keeps_the_block_when_the_approver_holds_within_the_window(sync_world, cast):
    handoff = sync_world.drive(sync_world.receive(close_deal_worth(sync_world.flow, Decimal("80000"))))
    approval = Approval.objects.get(handoff=handoff)
    approval_decide(approval=approval, actor=cast.approver, action="hold", note="customer disputes the invoice")

    assert approval_windows_due(now=approval.window_ends_at + timedelta(hours=48)) == []
    approval.refresh_from_db()
    assert approval.status == A.HELD
    assert _order(sync_world, handoff)["DeliveryBlockReason"] == "01"
    event = approval.events.last()
    assert event.actor == cast.approver and event.factors_seen[0]["code"] == "deal_value"


def test_it_rereads_a_stale_etag_when_releasing_the_block(sync_world, cast):
    handoff = sync_world.drive(sync_world.receive(close_deal_worth(sync_world.flow, Decimal("80000"))))
    approval = Approval.objects.get(handoff=handoff)
    sync_world.fault("sap", operation="API_SALES_ORDER_SRV/A_SalesOrder:PATCH", kind="stale_etag", times=1)

    approval_release(approval=approval, actor=cast.approver)

    approval.refresh_from_db()
    assert approval.status == A.RELEASED and approval.decided_by == cast.approver
    assert not _order(sync_world, handoff).get("DeliveryBlockReason")
    patches = SyncAttempt.objects.filter(handoff=handoff, operation="update:A_SalesOrder")
    assert [p.ok for p in patches] == [False, True]
    assert any("stale" in step for p in patches for step in p.healing)


def test_it_creates_nothing_for_a_high_deal_until_it_is_approved(sync_world, cast):
    opportunity_id = close_deal_worth(sync_world.flow, Decimal("300000"))
    handoff = sync_world.drive(sync_world.receive(opportunity_id))

    assert handoff.status == S.AWAITING_APPROVAL
    assert sync_world.orders_for(opportunity_id) == []
    assert sync_world.opportunity(opportunity_id)["ERP_Sync_Status__c"] == "Pending Approval"
    approval = Approval.objects.get(handoff=handoff)
    assert approval.status == A.PENDING and approval.due_at > timezone.now()
    notice = Notification.objects.get(kind="approval", recipient=cast.approver.email)
    assert f"/approvals/{approval.pk}/" in notice.text

    approval_decide(approval=approval, actor=cast.approver, action="approve", note="strategic account")
    handoff.refresh_from_db()
    assert handoff.status == S.READY
    handoff = sync_world.drive(handoff)
    assert handoff.status == S.WRITTEN_BACK
    assert len(sync_world.orders_for(opportunity_id)) == 1
    assert not _order(sync_world, handoff).get("DeliveryBlockReason")
    event = ApprovalEvent.objects.filter(approval=approval, to_status=A.APPROVED).get()
    assert event.actor == cast.approver and event.factors_seen


def test_it_writes_a_rejection_back_to_salesforce_and_cancels_the_handoff(sync_world, cast):
    opportunity_id = close_deal_worth(sync_world.flow, Decimal("300000"))
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    approval = Approval.objects.get(handoff=handoff)

    approval_decide(approval=approval, actor=cast.approver, action="reject", note="discount not approved by finance")

    handoff.refresh_from_db()
    assert handoff.status == S.CANCELLED
    opportunity = sync_world.opportunity(opportunity_id)
    assert opportunity["ERP_Sync_Status__c"] == "Rejected"
    assert "discount not approved by finance" in opportunity["ERP_Hold_Reason__c"]
    assert sync_world.orders_for(opportunity_id) == []


def test_it_deletes_the_blocked_order_when_the_approver_cancels_within_the_window(sync_world, cast):
    opportunity_id = close_deal_worth(sync_world.flow, Decimal("80000"))
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    assert _order(sync_world, handoff)["DeliveryBlockReason"] == "01"
    approval = Approval.objects.get(handoff=handoff)

    approval_decide(approval=approval, actor=cast.approver, action="cancel", note="customer withdrew the PO")

    handoff.refresh_from_db()
    assert handoff.status == S.CANCELLED
    assert sync_world.orders_for(opportunity_id) == []
    opportunity = sync_world.opportunity(opportunity_id)
    assert opportunity["ERP_Sync_Status__c"] == "Cancelled"
    assert "customer withdrew the PO" in opportunity["ERP_Hold_Reason__c"]


def test_it_finishes_a_release_a_crashed_worker_left_half_done(sync_world, cast, settings):
    settings.HUB_CLAIM_LEASE_SECONDS = 60
    handoff = sync_world.drive(sync_world.receive(close_deal_worth(sync_world.flow, Decimal("80000"))))
    approval = Approval.objects.get(handoff=handoff)
    # The worker claimed the release, then died before SAP answered.
    Approval.objects.filter(pk=approval.pk).update(status=A.RELEASING, updated_at=timezone.now() - timedelta(minutes=5))

    assert approval.pk in approval_windows_due(now=timezone.now())
    approval_release(approval=approval)

    approval.refresh_from_db()
    assert approval.status == A.RELEASED
    assert not _order(sync_world, handoff).get("DeliveryBlockReason")
