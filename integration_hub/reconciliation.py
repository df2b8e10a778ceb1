"""Reconciliation: every closed-won deal of a window against the ERP's orders (DESIGN.md).

A run (`ReconciliationRun`, claimed by compare-and-swap in the task) pages through both systems,
never loading either whole:
1. the CRM's deals closed won in the window, a page at a time (keyset by deal id), each page's
   orders read from the ERP in a few batched calls by the deals' keys;
2. the ERP's orders created in the window, a page at a time: a key that is a deal id not seen in
   step 1 is asked of the CRM (an order for a deal that is not closed won is an orphan);
3. the deals of findings still open from earlier runs (outside this window), so that mended ones
   close whatever window a later run looks at.

Findings are typed exceptions in the integration-ops queue, one per type and deal (the fingerprint
is the deal id, so a later run refreshes the open one instead of adding another):
`reconciliation_missing_order` (closed won, no order, nothing in the hub explains it: no other
open exception, not awaiting approval, not still on its way), `reconciliation_duplicate_order`
(more than one order carries the deal's key), `reconciliation_amount_drift` (the order's net
differs from the deal's amount by more than HUB_RECONCILIATION_TOLERANCE_PERCENT, same currency),
`reconciliation_line_mismatch` (the order's materials or quantities are not the ones the handoff's
canonical lines carry from the crosswalk) and `reconciliation_orphan_order` (an order whose key is
a deal that is not closed won). A finding the run does not see again is resolved with a note.

An exception belongs to a handoff: a deal the hub never received gets one through
`handoff_receive` (source `reconcile`), which also sends it down the pipeline — a deal whose
webhook and poll were both lost is then ordered after all, and the next run closes the finding.
Nothing here runs inside a database transaction while it talks to a system.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from crosswalks.models import ProductMapping
from crosswalks.selectors import product_mappings_active
from exceptions.models import (
    NON_HOLDING_TYPES,
    RECONCILIATION_TYPES,
    ExceptionStatus,
    ExceptionType,
    SyncException,
)
from exceptions.services import exception_open, exception_resolve
from integration_hub import ports
from integration_hub.canonical import CanonicalDeal
from integration_hub.crm.base import CrmPort, DealSummary
from integration_hub.erp.base import ErpOrder, ErpPort
from integration_hub.errors import HubError, InvalidSalesforceId
from integration_hub.models import (
    Handoff,
    HandoffSource,
    HandoffStatus,
    ReconciliationRun,
    salesforce_id_18,
)
from integration_hub.recording import working_on
from integration_hub.services import handoff_receive, reconciliation_run_finish

logger = logging.getLogger(__name__)

ACTOR = "reconciliation"
PAGE_SIZE = 200  # deals or orders read per call
# A handoff still on its way (received … creating) explains a missing order for this long.
IN_FLIGHT = frozenset({HandoffStatus.RECEIVED, HandoffStatus.VALIDATING, HandoffStatus.READY,
                       HandoffStatus.CREATING})
IN_FLIGHT_GRACE = timedelta(hours=1)
T = ExceptionType


@dataclass(frozen=True)
class Finding:
    type_code: str
    title: str
    message: str
    evidence: dict[str, Any]


@dataclass
class RunOutcome:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(sorted(RECONCILIATION_TYPES), 0))
    finding_ids: list[int] = field(default_factory=list)
    resolved_ids: list[int] = field(default_factory=list)
    deals_checked: int = 0
    orders_checked: int = 0


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _order_json(order: ErpOrder) -> dict[str, Any]:
    return {"number": order.number, "net_amount": _money(order.net_amount), "currency": order.currency,
            "created_on": order.created_on.isoformat() if order.created_on else None, "customer": order.customer}


def _quantity(value: Any) -> str:
    """1, 1.0 and 1.000 are one quantity."""
    if value is None or value == "":
        return "0"
    return format(Decimal(str(value)).normalize(), "f")


def _deal_id(key: str) -> str | None:
    """The key as an 18-character deal id, None when it is no such id (a person's PO number)."""
    try:
        return salesforce_id_18(key)
    except InvalidSalesforceId:
        return None


def _is_won(summary: DealSummary) -> bool:
    return summary.is_won or summary.stage in settings.HUB_CLOSED_WON_STAGES


def _explained(handoff: Handoff | None, *, now: datetime) -> str:
    """Why the hub knows a closed-won deal has no order yet ("" when nothing explains it)."""
    if handoff is None:
        return ""
    if handoff.status == HandoffStatus.AWAITING_APPROVAL:
        return "awaiting approval"
    if handoff.exceptions.filter(status=ExceptionStatus.OPEN).exclude(type_code__in=NON_HOLDING_TYPES).exists():
        return "an open exception holds it"
    if handoff.status in IN_FLIGHT and handoff.updated_at >= now - IN_FLIGHT_GRACE:
        return "still on its way"
    return ""


def crosswalk_materials(deal: CanonicalDeal, mappings: dict[str, ProductMapping]) -> Counter[tuple[str, str]]:
    """(material, quantity) pairs the product crosswalk gives the deal's lines today, as validation
    derives them (quantity × factor, rounded up to whole units); a line whose product has no active
    mapping any more keeps the materials its order was made from. `mappings` are the active
    mappings by lower-cased product code (`product_mappings_active`)."""
    expected: Counter[tuple[str, str]] = Counter()
    for line in deal.lines:
        mapping = mappings.get(line.product_code.lower()) if line.product_code else None
        components = list(mapping.components.all()) if mapping is not None else []
        if not components:
            expected.update((m.material, _quantity(m.quantity)) for m in line.materials)
            continue
        for component in components:
            raw = line.quantity * component.quantity_factor
            quantity = raw if raw == raw.to_integral_value() else Decimal(math.ceil(raw))
            expected[(component.sap_material, _quantity(quantity))] += 1
    return expected


def lines_compare(canonical: dict[str, Any], order: ErpOrder, mappings: dict[str, ProductMapping]
                  ) -> tuple[list[list[str]], list[list[str]]] | None:
    """(expected, found) material and quantity pairs when they differ; None when they agree or the
    handoff has no lines to compare with."""
    if not canonical:
        return None
    expected = crosswalk_materials(CanonicalDeal.from_json(canonical), mappings)
    if not expected:
        return None
    found = Counter((str(i.get("material") or ""), _quantity(i.get("quantity"))) for i in order.items)
    if expected == found:
        return None
    return sorted([list(k) for k in expected.elements()]), sorted([list(k) for k in found.elements()])


def deal_findings(summary: DealSummary, orders: list[ErpOrder], handoff: Handoff | None, *,
                  tolerance: Decimal, now: datetime, mappings: dict[str, ProductMapping]) -> list[Finding]:
    """What is wrong between one deal and the orders carrying its key."""
    deal_id = summary.deal_id
    if not _is_won(summary):
        if not orders:
            return []
        return [Finding(T.RECONCILIATION_ORPHAN_ORDER, f"Order for a deal that is not closed won ({deal_id})",
                        f"{len(orders)} ERP order(s) carry deal {deal_id}, which is at stage {summary.stage!r}.",
                        {"deal": deal_id, "stage": summary.stage, "orders": [_order_json(o) for o in orders]})]
    if not orders:
        if _explained(handoff, now=now):
            return []
        return [Finding(T.RECONCILIATION_MISSING_ORDER, f"Closed-won deal without an ERP order ({deal_id})",
                        f"Deal {deal_id} closed won on {summary.close_date} but no ERP order carries its key.",
                        {"deal": deal_id, "close_date": summary.close_date.isoformat() if summary.close_date else None,
                         "amount": _money(summary.amount),
                         "handoff_status": handoff.status if handoff else None})]
    findings = []
    if len(orders) > 1:
        findings.append(Finding(
            T.RECONCILIATION_DUPLICATE_ORDER, f"{len(orders)} ERP orders for one deal ({deal_id})",
            f"Orders {', '.join(o.number for o in orders)} all carry deal {deal_id}.",
            {"deal": deal_id, "orders": [_order_json(o) for o in orders],
             "hub_order": handoff.sap_sales_order if handoff else ""}))
    order = next((o for o in orders if handoff is not None and o.number == handoff.sap_sales_order), orders[0])
    canonical = handoff.canonical if handoff is not None else {}
    currency = str((canonical or {}).get("currency") or settings.HUB_CRM_CURRENCY)
    # Amounts in two currencies are not compared: the rate of the day is not the deal's.
    if summary.amount is not None and order.net_amount is not None and order.currency in ("", currency):
        difference = order.net_amount - summary.amount
        percent = abs(difference) / summary.amount * 100 if summary.amount else (Decimal(0) if not difference
                                                                                   else Decimal("Infinity"))
        if percent > tolerance:
            findings.append(Finding(
                T.RECONCILIATION_AMOUNT_DRIFT, f"Order {order.number} net differs from the deal ({deal_id})",
                f"Order {order.number} nets {order.net_amount} {currency}, the deal says {summary.amount} "
                f"({percent:.2f} % off, tolerance {tolerance} %).",
                {"deal": deal_id, "order": order.number, "deal_amount": _money(summary.amount),
                 "order_net": _money(order.net_amount), "currency": currency,
                 "difference": _money(difference), "percent": f"{percent:.2f}", "tolerance_percent": str(tolerance)}))
    lines = lines_compare(canonical, order, mappings)
    if lines is not None:
        expected, found = lines
        findings.append(Finding(
            T.RECONCILIATION_LINE_MISMATCH, f"Order {order.number} lines differ from the deal ({deal_id})",
            f"The crosswalk gives {expected}; order {order.number} has {found}.",
            {"deal": deal_id, "order": order.number, "expected": expected, "found": found}))
    return findings


class _Run:
    def __init__(self, run: ReconciliationRun, erp: ErpPort, crm: CrmPort) -> None:
        self.run = run
        self.erp = erp
        self.crm = crm
        self.outcome = RunOutcome()
        self.seen: set[str] = set()
        self.tolerance = Decimal(str(settings.HUB_RECONCILIATION_TOLERANCE_PERCENT))
        self.now = timezone.now()

    def compare(self, deal_ids: Iterable[str], summaries: list[DealSummary]) -> None:
        """Compare these deals (asked of the CRM: `summaries` is what it knows of them) with their orders."""
        ids = sorted(set(deal_ids) - self.seen)
        if not ids:
            return
        self.seen.update(ids)
        by_id = {s.deal_id: s for s in summaries}
        with working_on(None):
            orders = self.erp.orders_for_keys(ids)
        handoffs = {h.opportunity_id: h for h in Handoff.objects.filter(opportunity_id__in=ids)}
        mappings = product_mappings_active(str(line.get("product_code") or "") for h in handoffs.values()
                                           for line in (h.canonical or {}).get("lines") or [])
        open_findings: dict[str, list[SyncException]] = {}
        for exception in SyncException.objects.filter(handoff__opportunity_id__in=ids, status=ExceptionStatus.OPEN,
                                                      type_code__in=RECONCILIATION_TYPES).select_related("handoff"):
            open_findings.setdefault(exception.deal.opportunity_id, []).append(exception)
        for deal_id in ids:
            handoff = handoffs.get(deal_id)
            if handoff is not None and handoff.erp_target != self.run.erp_target:
                continue  # its order lives in another ERP: that target's run looks at it
            summary = by_id.get(deal_id)
            findings = [] if summary is None else deal_findings(summary, orders.get(deal_id, []), handoff,
                                                                tolerance=self.tolerance, now=self.now,
                                                                mappings=mappings)
            self.outcome.deals_checked += 1
            if findings and handoff is None:
                if self.run.erp_target != ports.DEFAULT_ERP_TARGET:
                    continue  # a deal the hub never saw goes to the default ERP
                handoff, _ = handoff_receive(org_id=settings.SALESFORCE_ORG_ID, opportunity_id=deal_id,
                                             source=HandoffSource.RECONCILE, actor_label=ACTOR)
            opened = self.open(handoff, deal_id, findings) if handoff is not None else set()
            for exception in open_findings.get(deal_id, []):
                if exception.fingerprint not in opened:
                    exception_resolve(exception=exception, actor=None,
                                      note=f"reconciliation run {self.run.pk} found it mended")
                    self.outcome.resolved_ids.append(exception.pk)

    def open(self, handoff: Handoff, deal_id: str, findings: list[Finding]) -> set[str]:
        """Open (or refresh) each finding on the deal's handoff; returns their fingerprints."""
        opened = set()
        for finding in findings:
            exception = exception_open(handoff=handoff, type_code=finding.type_code, fingerprint=deal_id,
                                       title=finding.title[:200], message=finding.message,
                                       evidence={**finding.evidence, "run": self.run.pk}, actor_label=ACTOR)
            opened.add(exception.fingerprint)
            self.outcome.counts[finding.type_code] += 1
            self.outcome.finding_ids.append(exception.pk)
        return opened

    def closed_won_deals(self) -> None:
        after = ""
        while True:
            with working_on(None):
                page = self.crm.closed_won_between(start=self.run.window_start, end=self.run.window_end,
                                                   stages=settings.HUB_CLOSED_WON_STAGES, after=after,
                                                   limit=PAGE_SIZE)
            self.compare([s.deal_id for s in page], page)
            if len(page) < PAGE_SIZE:
                return
            after = page[-1].deal_id

    def asked(self, keys: Iterable[str]) -> None:
        """Deals known only by an order's key or an open finding: the CRM says what they are."""
        ids = sorted({i for i in (_deal_id(k) for k in keys) if i} - self.seen)
        if ids:
            with working_on(None):
                summaries = self.crm.deals_summary(ids)
            self.compare(ids, summaries)

    def orders_created(self) -> None:
        skip = 0
        while True:
            with working_on(None):
                page = self.erp.orders_created_between(start=self.run.window_start, end=self.run.window_end,
                                                       skip=skip, top=PAGE_SIZE)
            self.outcome.orders_checked += len(page)
            self.asked(o.deal_key for o in page if o.deal_key)
            if len(page) < PAGE_SIZE:
                return
            skip += len(page)

    def open_findings(self) -> None:
        rows = (SyncException.objects.filter(status=ExceptionStatus.OPEN, type_code__in=RECONCILIATION_TYPES,
                                             handoff__erp_target=self.run.erp_target)
                .values_list("handoff__opportunity_id", flat=True).distinct().order_by("handoff__opportunity_id"))
        ids = [i for i in rows if i not in self.seen]
        for start in range(0, len(ids), PAGE_SIZE):
            self.asked(ids[start:start + PAGE_SIZE])


def reconciliation_execute(*, run: ReconciliationRun, worker: str) -> RunOutcome:
    """Run a claimed reconciliation (see the module docstring) and record its outcome on the run.

    A system that fails part-way fails the run with the error; the findings made so far stay."""
    engine = _Run(run, ports.erp_for(run.erp_target), ports.crm())
    error = ""
    try:
        engine.closed_won_deals()
        engine.orders_created()
        engine.open_findings()
    except HubError as exc:
        logger.warning("reconciliation run %s failed: %s", run.pk, exc)
        error = f"{exc.__class__.__name__}: {exc}"
    outcome = engine.outcome
    reconciliation_run_finish(run_id=run.pk, worker=worker, counts=outcome.counts, finding_ids=outcome.finding_ids,
                              resolved_ids=outcome.resolved_ids, deals_checked=outcome.deals_checked,
                              orders_checked=outcome.orders_checked, error=error)
    return outcome
