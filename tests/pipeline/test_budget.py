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

from integration_hub.models import HandoffStatus, SyncAttempt
from integration_hub.sandbox.sap import store
from integration_hub.sandbox.sap.sales import CREDIT
from tests.pipeline.conftest import World

pytestmark = pytest.mark.django_db(transaction=True)
S = HandoffStatus
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
