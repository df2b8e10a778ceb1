"""Benchmarks of the way back and of reconciliation (`make bench`): figures printed, never a gate.

1. SAP event → Salesforce field: orders move on in SAP (`POST /_sandbox/events`) while a real
   Celery beat and worker run the status poll; the time until Salesforce shows the new delivery
   status, p50/p95, against the target "one poll interval + 5 s".
2. Reconciliation: windows of 1,000 and 5,000 closed-won deals, each with its handoff and its SAP
   order, reconciled against both sandboxes over HTTP: seconds per 1,000 deals, calls made, and
   the hub's peak memory (which must not grow with the window: both systems are paged).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from exceptions.models import SyncException
from integration_hub.connectors.salesforce import SalesforceClient
from integration_hub.models import ErpStatusWrite, Handoff, HandoffStatus, SyncAttempt
from integration_hub.sandbox.dealflow import DealFlow
from integration_hub.sandbox.salesforce.models import SfRecord
from integration_hub.sandbox.salesforce.store import allocate_ids
from integration_hub.sandbox.sap import store as sap_store
from integration_hub.sandbox.sap.models import NumberRange, SapEntity
from integration_hub.services import reconciliation_run_request
from integration_hub.tasks import reconciliation_run
from tests.bench.test_bench import Stack, _pct, _wait_all, stack  # noqa: F401

pytestmark = [pytest.mark.bench, pytest.mark.timeout(1200)]
POLL_SECONDS = 5
SO = "API_SALES_ORDER_SRV"


def _orders(flow: DealFlow, count: int) -> list[Handoff]:
    ids = []
    for _ in range(count):
        opportunity_id = flow.open_deal(flow.planner.plan("clean"))
        flow.close_won(opportunity_id)
        ids.append(opportunity_id)
    _wait_all(ids, 300)
    return list(Handoff.objects.filter(opportunity_id__in=ids, status=HandoffStatus.WRITTEN_BACK))


def test_bench_sap_event_to_salesforce(stack: Stack) -> None:  # noqa: F811
    stack.env["HUB_ERP_STATUS_POLL_SECONDS"] = str(POLL_SECONDS)
    salesforce = SalesforceClient.from_settings()
    flow = DealFlow(salesforce, seed=4242)
    stack.start_worker(concurrency=2)
    # A medium-risk deal's order carries a delivery block until its window ends: not deliverable yet.
    handoffs = [h for h in _orders(flow, 36)
                if not sap_store.rows(SO, "A_SalesOrder", SalesOrder=h.sap_sales_order)[0].get("DeliveryBlockReason")]
    stack.workers.append(stack.spawn("beat", [
        sys.executable, "-m", "celery", "-A", "integration_hub", "beat", "-l", "WARNING", "-s", str(stack.log_dir / "beat-schedule")]))
    # The first poll writes every new order's opening status; events come after it.
    deadline = time.monotonic() + 60
    while Handoff.objects.filter(pk__in=[h.pk for h in handoffs], erp_status_synced_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the first status poll never wrote the new orders"
        time.sleep(0.5)

    sent: dict[str, float] = {}
    for handoff in handoffs:
        response = requests.post(f"{stack.sap_url}/_sandbox/events", auth=("sandbox", "sandbox"), timeout=10,
                                 json={"sales_order": handoff.sap_sales_order, "event": "deliver"})
        assert response.status_code == 201, response.text
        sent[handoff.opportunity_id] = time.time()
        time.sleep(0.3)  # events spread over a few poll intervals
    # When Salesforce stored the field: its own SystemModstamp of the write (polling the field
    # from here would add this loop's own query time to the figure).
    seen: dict[str, float] = {}
    quoted = ", ".join(f"'{i}'" for i in sent)
    deadline = time.monotonic() + POLL_SECONDS * 6 + 30
    while len(seen) < len(sent) and time.monotonic() < deadline:
        rows = salesforce.query_all(
            f"SELECT Id, ERP_Delivery_Status__c, SystemModstamp FROM Opportunity WHERE Id IN ({quoted})")
        for row in rows:
            if row["ERP_Delivery_Status__c"] == "Delivered":
                stamp = parse_datetime(str(row["SystemModstamp"]).replace("+0000", "+00:00"))
                assert stamp is not None
                seen.setdefault(row["Id"], stamp.timestamp())
        time.sleep(0.5)
    latencies = [seen[i] - sent[i] for i in seen]
    print(f"\nSAP event → Salesforce field ({len(latencies)}/{len(sent)} orders, poll every {POLL_SECONDS} s): "
          f"p50 {_pct(latencies, 0.5):.2f} s, p95 {_pct(latencies, 0.95):.2f} s, max {max(latencies):.2f} s "
          f"(target ≤ poll interval + 5 s = {POLL_SECONDS + 5} s)")
    # The hub's own measure (the dashboard's and /metrics'): ERP change time → CRM write landed.
    written = [(w.created_at - w.erp_changed_at).total_seconds() for w in ErpStatusWrite.objects.filter(
        kind="deal", written=True, erp_changed_at__isnull=False, view__delivery_status="Delivered",
        handoff__opportunity_id__in=list(sent))]
    print(f"  as the hub records it (ERP LastChangeDateTime → write landed, {len(written)} records): "
          f"p50 {_pct(written, 0.5):.2f} s, p95 {_pct(written, 0.95):.2f} s")
    salesforce.close()


def _clone(handoffs: list[Handoff], total: int) -> list[str]:
    """`total` closed-won deals, each with its handoff and its SAP order, copied from real ones
    (the pipeline would take minutes to make thousands; the wire and the hub read them as any)."""
    templates = []
    for handoff in handoffs:
        opportunity = SfRecord.objects.get(record_id=handoff.opportunity_id)
        order = sap_store.rows(SO, "A_SalesOrder", SalesOrder=handoff.sap_sales_order)[0]
        items = sap_store.rows(SO, "A_SalesOrderItem", SalesOrder=handoff.sap_sales_order)
        templates.append((handoff, opportunity, order, items))
    new_ids = allocate_ids("006", total - len(handoffs))
    records, orders, lines, rows = [], [], [], []
    first_number = sap_store.next_number("sales_order", 5000000)
    for n, new_id in enumerate(new_ids):
        handoff, opportunity, order, items = templates[n % len(templates)]
        number = str(first_number + 1 + n)
        records.append(SfRecord(sobject="Opportunity", record_id=new_id, fields={**opportunity.fields, "Id": new_id},
                                created_date=opportunity.created_date, system_modstamp=opportunity.system_modstamp))
        orders.append({**order, "SalesOrder": number, "PurchaseOrderByCustomer": new_id})
        lines += [{**item, "SalesOrder": number, "PurchaseOrderByCustomer": new_id} for item in items]
        canonical = {**handoff.canonical, "opportunity_id": new_id} if "opportunity_id" in handoff.canonical \
            else handoff.canonical
        rows.append(Handoff(org_id=handoff.org_id, opportunity_id=new_id, status=HandoffStatus.WRITTEN_BACK,
                            source=handoff.source, canonical=canonical, sap_sales_order=number,
                            erp_target=handoff.erp_target, risk_level=handoff.risk_level))
    SfRecord.objects.bulk_create(records, batch_size=1000)
    sap_store.insert(SO, "A_SalesOrder", orders)
    sap_store.insert(SO, "A_SalesOrderItem", lines)
    Handoff.objects.bulk_create(rows, batch_size=1000)
    # Move the number range past the copies, so SAP never hands out a copied number again.
    NumberRange.objects.filter(name="sales_order").update(next_number=F("next_number") + len(new_ids) + 1)
    return [h.opportunity_id for h in handoffs] + new_ids


def _reconcile(days: int = 30) -> tuple[Any, float, dict[str, tuple[int, float]], int]:
    last = SyncAttempt.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    tracemalloc.start()
    started = time.perf_counter()
    run, _ = reconciliation_run_request(days=days, erp_target="s4hana", via="command")
    reconciliation_run(run.pk)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    run.refresh_from_db()
    assert run.status == "done", run.error
    calls = {row["system"]: (row["n"], row["ms"] / 1000) for row in SyncAttempt.objects.filter(pk__gt=last)
             .values("system").annotate(n=Count("pk"), ms=Sum("duration_ms"))}
    return run, elapsed, calls, peak


def test_bench_reconciliation(stack: Stack) -> None:  # noqa: F811
    salesforce = SalesforceClient.from_settings()
    flow = DealFlow(salesforce, seed=777)
    stack.start_worker(concurrency=2)
    handoffs = _orders(flow, 5)
    stack.stop_workers()
    assert handoffs, "no deal became an order"
    recent = timezone.now() - timedelta(days=45)
    print()
    for total in (1000, 5000):
        already = Handoff.objects.filter(status=HandoffStatus.WRITTEN_BACK, created_at__gte=recent).count()
        _clone(handoffs, total - already + len(handoffs))
        run, elapsed, calls, peak = _reconcile()
        findings = SyncException.objects.filter(type_code__startswith="reconciliation_", status="open").count()
        print(f"reconciliation of {run.deals_checked} deals / {run.orders_checked} orders: {elapsed:.1f} s "
              f"= {elapsed / run.deals_checked * 1000:.1f} s per 1,000 deals; calls (count, seconds waiting) {calls}; "
              f"peak hub memory {peak / 1e6:.1f} MB; {findings} open findings")
    print(f"(sandbox rows: {SapEntity.objects.filter(entity_set='A_SalesOrder').count()} SAP orders, "
          f"{SfRecord.objects.filter(sobject='Opportunity').count()} opportunities)")
    salesforce.close()
