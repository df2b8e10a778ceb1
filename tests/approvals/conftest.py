"""Approvals fixtures: the pipeline world, a cast of approvers, and deals of a chosen risk."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from integration_hub.sandbox.dealflow import PlannedLine, sap_unit_price
from tests.factories import UserFactory
from tests.pipeline.conftest import sync_world, world  # noqa: F401


@pytest.fixture
def cast(db):
    approvers, _ = Group.objects.get_or_create(name="Approvers")
    others, _ = Group.objects.get_or_create(name="APAC approvers")
    approver = UserFactory(username="approver", email="approver@hub.example.com")
    approver.groups.add(approvers)
    outsider = UserFactory(username="outsider", email="outsider@hub.example.com")
    outsider.groups.add(others)
    return type("Cast", (), {"approver": approver, "outsider": outsider, "approvers": approvers})


def _big_company(planner):
    """A US customer with a big credit line and no material overdue AR: only the value is risky."""
    def overdue_share(c):
        return sum((a for a, d in c.open_items if d >= 30), Decimal(0)) / c.credit_limit
    return next(c for c in planner.clean_companies
                if c.credit_limit >= 1_000_000 and c.sales_area.currency == "USD" and overdue_share(c) < Decimal("0.1"))


def close_deal_worth(flow, amount: Decimal) -> str:
    """Close a clean deal worth at least `amount` for a customer that carries no other risk."""
    planned = flow.planner.plan("clean")
    company = _big_company(flow.planner)
    from integration_hub.sandbox import catalog

    product = max(flow.planner.clean_products, key=lambda p: sap_unit_price(p, company))
    price = sap_unit_price(product, company)
    planned.company = company
    planned.payment_terms = catalog.PAYMENT_TERMS[company.payment_terms]
    planned.lines = [PlannedLine(product, max(1, math.ceil(amount / price)), price)]
    opportunity_id = flow.open_deal(planned)
    flow.close_won(opportunity_id)
    return opportunity_id
