"""Who sees and decides what: assignment rules, guardian object permissions (404 for everyone
else, UI and API alike), four-eyes, delegation, SLA escalation."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from approvals.models import Approval, ApprovalStatus, ApproverRule, Delegation, RiskAssessment
from approvals.selectors import approval_list
from approvals.services import FourEyesViolation, approval_decide, approval_escalate, approval_open
from integration_hub.models import HandoffStatus
from tests.factories import HandoffFactory, UserFactory

OWNER_EMAIL = "rep@sandbox.example.com"
MONDAY_10 = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.get_current_timezone())


def _high_approval(*, value="300000", country="US", sales_org="1710", now=None) -> Approval:
    handoff = HandoffFactory(status=HandoffStatus.AWAITING_APPROVAL, canonical={
        "name": "Acme – Enterprise", "currency": "USD", "lines": [],
        "organization": {"name": "Acme Corp", "crm_account_id": "001A", "sales_organization": sales_org},
        "ship_to": {"country": country}})
    factors = [{"code": "deal_value", "label": "Deal value", "level": "high", "value": value,
                "evidence": {"amount": value}}]
    risk = RiskAssessment.objects.create(handoff=handoff, level="high", factors=factors, scored_at=timezone.now(),
                                         deal_owner_email=OWNER_EMAIL)
    return approval_open(handoff=handoff, assessment=risk, now=now)


@pytest.fixture
def owner(cast):
    user = UserFactory(username="rep", email=OWNER_EMAIL.upper())
    user.groups.add(cast.approvers)
    return user


def test_it_shows_an_approval_to_its_group_and_404s_everyone_else(client, cast):
    approval = _high_approval()
    client.force_login(cast.approver)
    assert client.get(reverse("approvals:detail", args=[approval.pk])).status_code == 200
    assert approval.customer_name in client.get(reverse("approvals:queue")).content.decode()

    client.force_login(cast.outsider)
    assert client.get(reverse("approvals:detail", args=[approval.pk])).status_code == 404
    response = client.post(reverse("approvals:decide", args=[approval.pk]), {"action": "approve"})
    assert response.status_code == 404
    assert approval.customer_name not in client.get(reverse("approvals:queue")).content.decode()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_it_404s_the_api_for_another_groups_approval(cast):
    approval = _high_approval()
    api = APIClient()
    api.force_authenticate(cast.outsider)
    assert api.get("/api/v1/approvals/").json()["count"] == 0
    assert api.get(f"/api/v1/approvals/{approval.pk}/").status_code == 404
    assert api.post(f"/api/v1/approvals/{approval.pk}/decide/", {"action": "approve"}).status_code == 404

    api.force_authenticate(cast.approver)
    assert api.get("/api/v1/approvals/").json()["count"] == 1
    detail = api.get(f"/api/v1/approvals/{approval.pk}/").json()
    assert detail["factors"][0]["code"] == "deal_value"
    response = api.post(f"/api/v1/approvals/{approval.pk}/decide/", {"action": "approve", "note": "ok"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    assert response.json()["handoff_status"] == HandoffStatus.READY


def test_it_refuses_a_decision_on_your_own_deal(client, cast, owner):
    approval = _high_approval()
    with pytest.raises(FourEyesViolation):
        approval_decide(approval=approval, actor=owner, action="approve")

    api = APIClient()
    api.force_authenticate(owner)
    assert api.post(f"/api/v1/approvals/{approval.pk}/decide/", {"action": "approve"}).status_code == 403
    client.force_login(owner)
    page = client.get(reverse("approvals:detail", args=[approval.pk])).content.decode()
    assert "Four-eyes" in page and 'value="approve"' not in page
    assert client.post(reverse("approvals:decide", args=[approval.pk]), {"action": "approve"},
                       HTTP_HX_REQUEST="true").status_code == 403
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_it_asks_for_a_reason_to_reject(cast):
    approval = _high_approval()
    api = APIClient()
    api.force_authenticate(cast.approver)
    response = api.post(f"/api/v1/approvals/{approval.pk}/decide/", {"action": "reject"})
    assert response.status_code == 409 and "why" in response.json()["detail"]


def test_it_routes_by_region_sales_org_and_amount_band(cast):
    emea = Group.objects.create(name="EMEA approvers")
    big = UserFactory(username="cfo")
    ApproverRule.objects.create(name="EMEA", priority=10, region="DE", approver_group=emea)
    ApproverRule.objects.create(name="US big deals", priority=20, region="US", sales_organization="1710",
                                min_amount=Decimal("1000000"), approver_user=big)
    assert _high_approval(country="DE").assigned_group == emea
    assert _high_approval(value="2000000").assigned_user == big
    assert _high_approval(value="300000").assigned_group == cast.approvers  # no rule: default group


def test_it_lets_a_delegate_decide_while_the_approver_is_out(cast):
    boss = UserFactory(username="boss")
    ApproverRule.objects.create(name="all", approver_user=boss)
    approval = _high_approval()
    assert not approval_list(cast.outsider, status="open").exists()

    Delegation.objects.create(delegator=boss, delegate=cast.outsider, starts_at=timezone.now() - timedelta(hours=1),
                              ends_at=timezone.now() + timedelta(days=3))
    assert list(approval_list(cast.outsider, status="open")) == [approval]
    approval_decide(approval=approval, actor=cast.outsider, action="approve")
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED and approval.decided_by == cast.outsider


def test_it_escalates_when_the_business_hours_sla_passes(cast):
    finance = Group.objects.create(name="Finance leads")
    lead = UserFactory(username="lead")
    lead.groups.add(finance)
    ApproverRule.objects.create(name="all", approver_group=cast.approvers, escalate_to=finance)
    approval = _high_approval(now=MONDAY_10)
    assert approval.due_at == MONDAY_10 + timedelta(hours=4)  # 240 business minutes, same day
    friday_4pm = datetime(2025, 3, 7, 16, 0, tzinfo=MONDAY_10.tzinfo)
    assert _high_approval(now=friday_4pm).due_at == datetime(2025, 3, 10, 12, 0, tzinfo=MONDAY_10.tzinfo)

    assert not approval_list(lead).exists()
    approval_escalate(approval=approval, now=approval.due_at + timedelta(minutes=1))
    approval.refresh_from_db()
    assert approval.escalated_at is not None
    assert approval in approval_list(lead)
    assert "escalated to Finance leads" in approval.events.last().reason
