"""The API budget of a clean deal (issue 13), read off the sync attempts as an integration engineer
would: what each system was asked, and that a cache never decides on data SAP has since changed.

A known customer's clean deal costs Salesforce 2 calls (extract, write-back) and SAP 3 (the
simulation for prices and credit, the look-up by the deal's key, the deep insert); the rest comes
from the shared master-data cache (`integration_hub.erp.cache`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import RiskSettings
from integration_hub.models import HandoffStatus, SyncAttempt
from integration_hub.sandbox.sap import store
from integration_hub.sandbox.sap.sales import BP, CREDIT
from integration_hub.tasks import process_handoff
from tests.pipeline.conftest import World

pytestmark = pytest.mark.django_db(transaction=True)
S = HandoffStatus
# The database work of one deal, from `received` to `written back` (its arrival, the worker's
# claim, the steps, the sync attempts, the release). A low-risk deal takes no approval; a medium-risk one
# also opens an approval with its intervention window and the approver group's permissions.
SQL_LOW_RISK_CAP = 30
SQL_MEDIUM_RISK_CAP = 55
SAP_CLEAN_DEAL = {"simulate:A_SalesOrderSimulation": 1, "query:A_SalesOrder": 1, "create:A_SalesOrder": 1}


def _calls(handoff: Any) -> dict[str, Counter[str]]:
    calls: dict[str, Counter[str]] = {"salesforce": Counter(), "sap": Counter()}
    for attempt in SyncAttempt.objects.filter(handoff=handoff):
        if not attempt.operation.startswith(("metadata:", "csrf_fetch:")):  # once per process, not per deal
            calls[attempt.system][attempt.operation] += 1
    return calls


def _deal(world: World, planned: Any) -> Any:
    opportunity_id = world.flow.open_deal(planned)
    world.flow.close_won(opportunity_id)
    return world.drive(world.receive(opportunity_id))


@pytest.fixture
def known(sync_world: World) -> tuple[World, Any]:
    """A clean deal's customer, met once: the crosswalk learnt it and the cache holds its master data."""
    planned = sync_world.flow.planner.plan("clean")
    first = _deal(sync_world, planned)
    assert first.status == S.WRITTEN_BACK
    return sync_world, planned


def test_a_known_customers_clean_deal_costs_two_salesforce_and_three_sap_calls(known: tuple[World, Any]) -> None:
    world, planned = known
    handoff = _deal(world, planned)
    assert handoff.status == S.WRITTEN_BACK
    calls = _calls(handoff)
    print(f"\ncalls per clean deal, known customer: Salesforce {sum(calls['salesforce'].values())} "
          f"{dict(calls['salesforce'])}, SAP {sum(calls['sap'].values())} {dict(calls['sap'])}")
    assert sum(calls["salesforce"].values()) <= 2
    assert dict(calls["sap"]) == SAP_CLEAN_DEAL


def test_sap_refusing_credit_the_cache_would_pass_reads_the_account_again(known: tuple[World, Any]) -> None:
    world, planned = known
    partner = planned.company.business_partner
    # In SAP the account is blocked now; the cache still holds it open.
    account = store.rows(CREDIT, "CreditManagementAccount", BusinessPartner=partner)[0]
    store.delete(CREDIT, "CreditManagementAccount", BusinessPartner=partner)
    store.insert(CREDIT, "CreditManagementAccount", [{**account, "CreditAccountIsBlocked": True}])
    handoff = _deal(world, planned)
    assert handoff.status == S.BLOCKED
    assert handoff.exceptions.filter(type_code="credit_check_failed").exists()
    calls = _calls(handoff)["sap"]
    assert calls["query:CreditManagementAccount"] == 1
    assert "create:A_SalesOrder" not in calls


def _worked(world: World, planned: Any) -> tuple[Any, list[str]]:
    """A deal received and worked once by the worker task, with every SQL statement both sent."""
    opportunity_id = world.flow.open_deal(planned)
    world.flow.close_won(opportunity_id)
    with CaptureQueriesContext(connection) as queries:
        handoff = world.receive(opportunity_id)
        process_handoff(handoff.pk)
    handoff.refresh_from_db()
    return handoff, [q["sql"] for q in queries.captured_queries]


def test_a_low_risk_clean_deal_costs_at_most_30_sql_statements(known: tuple[World, Any]) -> None:
    world, planned = known
    # The admin's thresholds put this customer's deal in the low band (no approval to open).
    RiskSettings.objects.update_or_create(pk=1, defaults={"credit_medium_from_days": 3650,
                                                          "credit_high_above_days": 7300})
    handoff, statements = _worked(world, planned)
    assert (handoff.status, handoff.risk_level) == (S.WRITTEN_BACK, "low")
    print(f"\nSQL statements per low-risk clean deal, received to written back: {len(statements)}")
    assert len(statements) <= SQL_LOW_RISK_CAP, "\n".join(s[:120] for s in statements)


def test_a_medium_risk_clean_deal_with_its_approval_window_stays_under_its_cap(known: tuple[World, Any]) -> None:
    world, planned = known
    handoff, statements = _worked(world, planned)
    assert (handoff.status, handoff.risk_level) == (S.WRITTEN_BACK, "medium")
    assert handoff.approval.window_ends_at is not None
    print(f"\nSQL statements per medium-risk clean deal (approval opened): {len(statements)}")
    assert len(statements) <= SQL_MEDIUM_RISK_CAP, "\n".join(s[:120] for s in statements)


def test_a_sales_area_moved_in_sap_is_refused_once_then_read_again_and_the_order_follows_it(
        known: tuple[World, Any]) -> None:
    world, planned = known
    partner = planned.company.business_partner
    # In SAP the customer now buys in division 10; the cache still holds the old area.
    area = store.rows(BP, "A_CustomerSalesArea", Customer=partner)[0]
    store.delete(BP, "A_CustomerSalesArea", Customer=partner)
    store.insert(BP, "A_CustomerSalesArea", [{**area, "Division": "10"}])

    handoff = _deal(world, planned)

    assert handoff.status == S.WRITTEN_BACK, handoff.last_error
    calls = _calls(handoff)["sap"]
    assert calls["simulate:A_SalesOrderSimulation"] == 2  # refused as cached, then priced as read again
    assert calls["read:A_BusinessPartner"] == 1
    assert handoff.canonical["organization"]["division"] == "10"
