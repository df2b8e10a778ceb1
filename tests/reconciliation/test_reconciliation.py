"""Reconciliation: closed-won deals in Salesforce against the orders in SAP, both sandboxes over HTTP.

The pipeline turns deals into orders; the tests then change SAP behind the hub's back (a second
order for the same deal, a re-priced order, a deleted one, an order for an open deal) and check
what a run finds, that a second run refreshes instead of duplicating, and that mended findings
close themselves.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
import requests
from django.urls import reverse

from crosswalks.models import ProductMapping
from crosswalks.services import product_mapping_update
from exceptions.models import ExceptionStatus, ExceptionType, SyncException
from integration_hub import reconciliation
from integration_hub.canonical import CanonicalDeal
from integration_hub.crm.salesforce import SalesforceCrm
from integration_hub.erp.s4hana import S4HanaErp
from integration_hub.models import Handoff, HandoffStatus, ReconciliationRun, ReconciliationStatus
from integration_hub.orders import erp_order_block_set
from integration_hub.services import reconciliation_run_claim, reconciliation_run_request
from integration_hub.tasks import reconciliation_run
from tests.factories import make_cast

T = ExceptionType


@pytest.fixture
def runs_sent() -> Any:
    """Run ids handed to the broker (no worker here: the test runs the task itself)."""
    sent: list[int] = []
    with mock.patch.object(reconciliation_run, "delay", side_effect=sent.append):
        yield sent


def reconcile(days: int = 30) -> ReconciliationRun:
    run, _ = reconciliation_run_request(days=days, erp_target="s4hana", via="command")
    reconciliation_run(run.pk)
    run.refresh_from_db()
    assert run.status == ReconciliationStatus.DONE, run.error
    return run


def ordered(world: Any, kind: str = "clean") -> Handoff:
    opportunity_id, _ = world.flow.one(kind)
    handoff = world.drive(world.receive(opportunity_id))
    assert handoff.status == HandoffStatus.WRITTEN_BACK, handoff.last_error
    if world.erp.order_get(handoff.sap_sales_order).delivery_block:
        erp_order_block_set(handoff=handoff, delivery_block="")
    return handoff


def findings(handoff: Handoff, status: str = ExceptionStatus.OPEN) -> dict[str, SyncException]:
    return {e.type_code: e for e in SyncException.objects.filter(handoff__opportunity_id=handoff.opportunity_id,
                                                                  type_code__startswith="reconciliation_",
                                                                  status=status)}


def second_order(world: Any, handoff: Handoff, **changes: Any) -> str:
    """An order made directly in SAP (not by the hub) for the handoff's deal, or a changed copy of it."""
    deal = replace(CanonicalDeal.from_json(handoff.canonical), **changes)
    return str(world.erp.order_create(deal).number)


def sap_event(world: Any, number: str, event: str, **options: Any) -> None:
    response = requests.post(f"{world.sap_url}/_sandbox/events", json={"sales_order": number, "event": event, **options},
                             auth=("sandbox", "sandbox"), timeout=10)
    assert response.status_code == 201, response.text


def sap_delete(world: Any, number: str) -> None:
    order = world.erp.order_get(number)
    world.erp.order_cancel(number, etag=order.etag)


def test_it_finds_nothing_wrong_with_a_clean_deal(sync_world, runs_sent):
    handoff = ordered(sync_world)

    run = reconcile()

    assert findings(handoff) == {}
    assert run.deals_checked >= 1 and run.orders_checked >= 1
    assert set(run.counts) == {t for t in T.values if t.startswith("reconciliation_")}


def test_it_finds_a_duplicate_order_made_in_sap_and_closes_it_once_the_duplicate_is_gone(sync_world, runs_sent):
    handoff = ordered(sync_world)
    duplicate = second_order(sync_world, handoff)

    run = reconcile()
    found = findings(handoff)
    assert set(found) == {T.RECONCILIATION_DUPLICATE_ORDER}
    exception = found[T.RECONCILIATION_DUPLICATE_ORDER]
    assert {o["number"] for o in exception.evidence["orders"]} == {handoff.sap_sales_order, duplicate}
    assert exception.queue.slug == "integration-ops"
    assert run.counts[T.RECONCILIATION_DUPLICATE_ORDER] >= 1 and exception.pk in run.finding_ids

    again = reconcile()  # the same defect: the open finding is refreshed, not doubled
    assert SyncException.objects.filter(handoff=handoff, type_code=T.RECONCILIATION_DUPLICATE_ORDER).count() == 1
    exception.refresh_from_db()
    assert exception.occurrences == 2 and exception.pk in again.finding_ids

    sap_delete(sync_world, duplicate)
    mended = reconcile()
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.RESOLVED
    assert "mended" in exception.resolution_note
    assert exception.pk in mended.resolved_ids
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.WRITTEN_BACK  # a finding never sends the handoff round again


def test_it_finds_an_amount_changed_in_sap_beyond_the_tolerance(sync_world, runs_sent, settings):
    handoff = ordered(sync_world)
    net = sync_world.erp.order_get(handoff.sap_sales_order).net_amount
    settings.HUB_RECONCILIATION_TOLERANCE_PERCENT = 0.5

    within, beyond = ((net * Decimal(f)).quantize(Decimal("0.01")) for f in ("1.003", "1.02"))

    sap_event(sync_world, handoff.sap_sales_order, "change_amount", total_net_amount=str(within))
    reconcile()
    assert findings(handoff) == {}  # 0.3 % is within the tolerance

    sap_event(sync_world, handoff.sap_sales_order, "change_amount", total_net_amount=str(beyond))
    reconcile()
    drift = findings(handoff)[T.RECONCILIATION_AMOUNT_DRIFT]
    assert drift.evidence["order"] == handoff.sap_sales_order
    assert Decimal(drift.evidence["order_net"]) == beyond
    assert drift.evidence["percent"] == "2.00"

    sap_event(sync_world, handoff.sap_sales_order, "change_amount", total_net_amount=str(net))
    reconcile()
    drift.refresh_from_db()
    assert drift.status == ExceptionStatus.RESOLVED


def test_it_finds_a_missing_order_unless_an_open_exception_explains_it(sync_world, runs_sent):
    handoff = ordered(sync_world)
    sap_delete(sync_world, handoff.sap_sales_order)
    blocked = sync_world.drive(sync_world.receive(sync_world.flow.one("product_not_mapped")[0]))
    assert blocked.status == HandoffStatus.BLOCKED

    run = reconcile()

    missing = findings(handoff)[T.RECONCILIATION_MISSING_ORDER]
    assert missing.evidence["deal"] == handoff.opportunity_id
    assert missing.pk in run.finding_ids
    assert findings(blocked) == {}  # its product_not_mapped exception says why it has no order


def test_it_receives_a_closed_won_deal_the_hub_never_saw_and_reports_it_missing(sync_world, runs_sent):
    opportunity_id, _ = sync_world.flow.one("clean")  # closed won, but no webhook or poll reached the hub

    reconcile()

    handoff = Handoff.objects.get(opportunity_id=opportunity_id)
    assert handoff.source == "reconcile"
    assert handoff.pk in sync_world.enqueued  # sent down the pipeline
    assert T.RECONCILIATION_MISSING_ORDER in findings(handoff)

    sync_world.drive(handoff)
    reconcile()
    assert findings(handoff) == {}
    assert T.RECONCILIATION_MISSING_ORDER in findings(handoff, ExceptionStatus.RESOLVED)


def test_it_finds_an_orphan_order_for_a_deal_that_is_not_closed_won(sync_world, runs_sent):
    handoff = ordered(sync_world)
    planned = sync_world.flow.planner.plan("clean")
    open_deal = sync_world.flow.open_deal(planned)  # still in negotiation
    orphan = second_order(sync_world, handoff, opportunity_id=open_deal)

    reconcile()

    orphan_handoff = Handoff.objects.get(opportunity_id=open_deal)
    found = findings(orphan_handoff)
    assert set(found) == {T.RECONCILIATION_ORPHAN_ORDER}
    assert [o["number"] for o in found[T.RECONCILIATION_ORPHAN_ORDER].evidence["orders"]] == [orphan]
    assert findings(handoff) == {}

    sap_delete(sync_world, orphan)
    reconcile()
    assert findings(orphan_handoff) == {}


def test_it_finds_lines_that_differ_from_what_the_crosswalk_gives_today(sync_world, runs_sent):
    cast = make_cast()
    handoff = ordered(sync_world)
    line = handoff.canonical["lines"][0]
    mapping = ProductMapping.objects.get(crm_product_code__iexact=line["product_code"])
    before = [{"sap_material": c.sap_material, "quantity_factor": c.quantity_factor, "unit": c.unit}
              for c in mapping.components.all()]
    # A steward corrects the crosswalk: the product is two of its material. SAP's order still has one.
    product_mapping_update(mapping=mapping, actor=cast.admin, reason="sold in pairs",
                           components=[{**before[0], "quantity_factor": before[0]["quantity_factor"] * 2}, *before[1:]])

    reconcile()

    mismatch = findings(handoff)[T.RECONCILIATION_LINE_MISMATCH]
    doubled = Decimal(line["quantity"]) * before[0]["quantity_factor"] * 2
    assert [before[0]["sap_material"], format(doubled.normalize(), "f")] in mismatch.evidence["expected"]
    assert [before[0]["sap_material"], format(doubled.normalize(), "f")] not in mismatch.evidence["found"]

    product_mapping_update(mapping=mapping, actor=cast.admin, reason="back to one", components=before)
    reconcile()
    assert findings(handoff) == {}


def test_it_pages_through_both_systems_a_page_at_a_time(sync_world, runs_sent):
    first, second = ordered(sync_world), ordered(sync_world)
    duplicates = {h.pk: second_order(sync_world, h) for h in (first, second)}
    open_deal = sync_world.flow.open_deal(sync_world.flow.planner.plan("clean"))
    second_order(sync_world, first, opportunity_id=open_deal)

    with mock.patch.object(reconciliation, "PAGE_SIZE", 1), \
            mock.patch.object(SalesforceCrm, "closed_won_between", autospec=True,
                              side_effect=SalesforceCrm.closed_won_between) as deal_pages, \
            mock.patch.object(S4HanaErp, "orders_created_between", autospec=True,
                              side_effect=S4HanaErp.orders_created_between) as order_pages:
        run = reconcile()

    assert deal_pages.call_count >= 3 and order_pages.call_count >= 6  # one deal / one order a call
    assert all(call.kwargs["limit"] == 1 for call in deal_pages.call_args_list)
    for handoff in (first, second):
        found = findings(handoff)[T.RECONCILIATION_DUPLICATE_ORDER]
        assert duplicates[handoff.pk] in {o["number"] for o in found.evidence["orders"]}
    assert T.RECONCILIATION_ORPHAN_ORDER in findings(Handoff.objects.get(opportunity_id=open_deal))
    assert run.orders_checked >= 5


def test_a_run_is_claimed_once_and_a_second_request_gets_the_same_run(sync_world, runs_sent):
    first, created = reconciliation_run_request(days=30, erp_target="s4hana", via="beat")
    second, created_again = reconciliation_run_request(days=30, erp_target="s4hana", via="beat")
    assert created and not created_again and first.pk == second.pk
    assert runs_sent == [first.pk]
    assert reconciliation_run_claim(run_id=first.pk, worker="a") is not None
    assert reconciliation_run_claim(run_id=first.pk, worker="b") is None
    assert reconciliation_run(first.pk) is None  # a second delivery does nothing


def test_the_api_starts_a_run_and_shows_its_counts_to_integration_ops_only(sync_world, runs_sent, client):
    cast = make_cast()
    handoff = ordered(sync_world)
    second_order(sync_world, handoff)
    url = reverse("api:reconciliation-runs")

    client.force_login(cast.outsider)
    assert client.post(url, {"days": 7}, content_type="application/json").status_code == 404

    client.force_login(cast.integration_ops)
    response = client.post(url, {"days": 7}, content_type="application/json")
    assert response.status_code == 202
    run_id = response.json()["id"]
    assert runs_sent == [run_id]
    reconciliation_run(run_id)

    shown = client.get(reverse("api:reconciliation-run", args=[run_id])).json()
    assert shown["status"] == "done"
    assert shown["counts"][T.RECONCILIATION_DUPLICATE_ORDER] >= 1
    duplicate = findings(handoff)[T.RECONCILIATION_DUPLICATE_ORDER]
    assert duplicate.pk in shown["finding_ids"]

    client.force_login(cast.outsider)
    assert client.get(reverse("api:reconciliation-run", args=[run_id])).status_code == 404
    client.force_login(cast.admin)
    assert client.get(reverse("api:reconciliation-run", args=[run_id])).status_code == 200
    assert client.post(url, content_type="application/json").status_code == 202
