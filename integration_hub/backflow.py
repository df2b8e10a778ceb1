"""ERP → CRM status: what the ERP owns after the handoff, shown to sales in the CRM.

The ERP owns fulfilment, billing, payment and credit (DESIGN.md "After the handoff"); the hub
copies them onto the deal and its account and never writes a field the CRM owns. One poll per
ERP target, every `HUB_ERP_STATUS_POLL_SECONDS`:

1. claim the target's watermark (compare-and-swap, so two beats never poll one target at once);
2. read the orders the ERP changed since the watermark (less a small overlap), and re-read the
   orders whose last written invoice is still unsettled (Open, Partially Paid, Overdue) or whose
   last write the CRM refused: a payment posts in financial accounting and does not move the
   order's change timestamp, so a changed-since query alone would never see an invoice paid;
3. map each order to its handoff by order number, else by the deal's key, and read the
   standing (credit, open receivables, days past due) of each customer concerned;
4. compare with what was last written (`Handoff.erp_status`) and send only what changed, all
   records in one batch write (the CRM adapter cuts it into calls of its size);
5. a record the CRM refuses becomes a `crm_update_rejected` exception (integration ops) with the
   CRM's error as evidence, the other records land, and the refused one is sent again on every
   poll until it lands, which resolves the exception;
6. move the watermark to the newest change read, and give the claim back.

Every call is a sync attempt; the batch calls belong to no single handoff. Nothing here runs
inside a database transaction while it talks to a system.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from exceptions.models import ExceptionStatus, ExceptionType, SyncException
from exceptions.services import exception_fingerprint, exception_open, exception_resolve
from integration_hub import ports
from integration_hub.canonical import CanonicalDeal
from integration_hub.crm.base import AccountErpStanding, DealErpStatus, StatusUpdate, WriteOutcome
from integration_hub.erp.base import UNSETTLED_INVOICE_STATUSES, CustomerStanding, ErpOrderStatus
from integration_hub.errors import HubError
from integration_hub.models import ErpStatusWatermark, Handoff
from integration_hub.recording import working_on
from integration_hub.services import (
    erp_status_watermark_claim,
    erp_status_watermark_release,
    handoff_erp_status_record,
)

logger = logging.getLogger(__name__)

# Re-read a little before the watermark: changes committed in the same second may arrive late.
OVERLAP = timedelta(seconds=2)
FIRST_LOOKBACK = timedelta(days=1)
BATCH_LIMIT = 500  # orders read per poll; the next poll goes on from the newest one read
ACTOR = "erp-status-poll"


@dataclass
class PollResult:
    erp_target: str
    claimed: bool = False
    orders_read: int = 0
    records_sent: int = 0
    records_refused: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _Pending:
    """One record to send and the handoffs whose `erp_status` it settles."""

    kind: str  # "deal" | "account"
    update: StatusUpdate
    view: dict[str, Any]
    handoffs: list[Handoff]
    erp_changed_at: datetime | None = None  # the order's change in the ERP that this record carries


def deal_view(status: ErpOrderStatus) -> dict[str, Any]:
    """What sales sees of an order, as stored on the handoff and compared before writing."""
    return {"order": status.number, "order_status": status.order_status, "delivery_status": status.delivery_status,
            "invoice_number": status.invoice_number, "invoice_status": status.invoice_status,
            "amount_invoiced": str(status.amount_invoiced), "amount_paid": str(status.amount_paid)}


def account_view(standing: CustomerStanding) -> dict[str, Any]:
    return {"customer": standing.customer, "credit_status": "Blocked" if standing.credit_blocked else "OK",
            "open_ar": str(standing.open_ar), "days_past_due": standing.days_past_due}


def _account_id(handoff: Handoff) -> str:
    if not handoff.canonical:
        return ""
    return CanonicalDeal.from_json(handoff.canonical).organization.crm_account_id


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def handoffs_for(statuses: list[ErpOrderStatus], *, erp_target: str) -> list[tuple[Handoff, ErpOrderStatus]]:
    """Each order with its handoff: by order number, else by the deal's key (a handoff that
    knows another order number is not this order's: reconciliation looks into that)."""
    by_number = {h.sap_sales_order: h for h in Handoff.objects.filter(
        erp_target=erp_target, sap_sales_order__in=[s.number for s in statuses])}
    keys = [s.deal_key for s in statuses if s.number not in by_number and s.deal_key]
    by_key = {h.opportunity_id: h for h in Handoff.objects.filter(erp_target=erp_target, opportunity_id__in=keys)
              if h.sap_sales_order == ""} if keys else {}
    pairs = []
    for status in statuses:
        handoff = by_number.get(status.number) or by_key.get(status.deal_key)
        if handoff is not None:
            pairs.append((handoff, status))
    return pairs


def handoffs_to_reread(*, erp_target: str, exclude: set[str]) -> list[str]:
    """Order numbers to read again whatever their change timestamp says: invoices still open to a
    payment, and records the CRM refused last time."""
    rows = (Handoff.objects.filter(erp_target=erp_target).exclude(sap_sales_order="")
            .filter(erp_status__deal__invoice_status__in=sorted(UNSETTLED_INVOICE_STATUSES))
            .values_list("sap_sales_order", flat=True))
    refused = (Handoff.objects.filter(erp_target=erp_target).exclude(sap_sales_order="")
               # "pending is a non-empty list", in a form SQLite (the embedded demo) answers too.
               .filter(erp_status__pending__0__isnull=False)
               .values_list("sap_sales_order", flat=True))
    return sorted({*rows, *refused} - exclude)


def updates_plan(pairs: list[tuple[Handoff, ErpOrderStatus]], standings: dict[str, CustomerStanding],
                 *, now: datetime) -> list[_Pending]:
    """The records that differ from what was last written (or were refused last time)."""
    plan: list[_Pending] = []
    accounts: dict[str, _Pending] = {}
    for handoff, status in pairs:
        stored = handoff.erp_status or {}
        pending = set(stored.get("pending") or [])
        view = deal_view(status)
        if stored.get("deal") != view or "deal" in pending:
            plan.append(_Pending("deal", StatusUpdate(
                record_id=handoff.opportunity_id, synced_at=now, deal=DealErpStatus(
                    order_status=status.order_status, delivery_status=status.delivery_status,
                    invoice_number=status.invoice_number, invoice_status=status.invoice_status,
                    amount_invoiced=status.amount_invoiced, amount_paid=status.amount_paid)), view, [handoff],
                status.changed_at))
        standing = standings.get(status.customer)
        account_id = _account_id(handoff)
        if standing is None or not account_id:
            continue
        view = account_view(standing)
        if account_id in accounts:
            accounts[account_id].handoffs.append(handoff)
            continue
        if stored.get("account") != view or "account" in pending:
            accounts[account_id] = _Pending("account", StatusUpdate(
                record_id=account_id, synced_at=now, account=AccountErpStanding(
                    credit_status=view["credit_status"], open_ar=standing.open_ar,
                    days_past_due=standing.days_past_due)), view, [handoff])
            plan.append(accounts[account_id])
    return plan


def _settle(item: _Pending, outcome: WriteOutcome, *, now: datetime) -> None:
    """Remember what landed, or open (refresh) the exception for what the CRM refused."""
    identity = f"{item.kind}:{item.update.record_id}"
    fingerprint = exception_fingerprint(type_code=ExceptionType.CRM_UPDATE_REJECTED, identity=identity)
    for handoff in item.handoffs:
        handoff_erp_status_record(handoff_id=handoff.pk, kind=item.kind, view=item.view, written=outcome.ok,
                                  record_id=item.update.record_id, message="" if outcome.ok else outcome.message,
                                  erp_changed_at=item.erp_changed_at, now=now)
        if outcome.ok:
            for exception in SyncException.objects.filter(handoff=handoff, fingerprint=fingerprint,
                                                          status=ExceptionStatus.OPEN):
                exception_resolve(exception=exception, actor=None,
                                  note=f"the {item.kind} status landed in the CRM on a later poll")
            continue
        what = "deal's order status" if item.kind == "deal" else "account's credit standing"
        exception_open(
            handoff=handoff, type_code=ExceptionType.CRM_UPDATE_REJECTED, fingerprint=identity,
            title=f"CRM refused the {what} ({item.update.record_id})", message=outcome.message,
            evidence={"record": item.kind, "record_id": item.update.record_id, "errors": list(outcome.errors),
                      "values": item.view},
            actor_label=ACTOR,
        )


def erp_status_poll(*, erp_target: str = ports.DEFAULT_ERP_TARGET) -> PollResult:
    """One status poll of one ERP target (see the module docstring); safe to run from two beats."""
    result = PollResult(erp_target)
    worker = _worker()
    watermark = erp_status_watermark_claim(erp_target=erp_target, worker=worker)
    if watermark is None:
        logger.info("ERP status poll of %s skipped: another poller holds it", erp_target)
        return result
    result.claimed = True
    newest = None
    try:
        newest = _poll(watermark, result)
    finally:
        erp_status_watermark_release(erp_target=erp_target, worker=worker, last_changed_at=newest)
    return result


def _poll(watermark: ErpStatusWatermark, result: PollResult) -> datetime | None:
    """Returns the new watermark, or None to leave it where it is."""
    now = timezone.now()
    since = (watermark.last_changed_at or now - FIRST_LOOKBACK) - OVERLAP
    erp = ports.erp_for(watermark.erp_target)
    try:
        with working_on(None):
            changed = erp.orders_changed(since=since, limit=BATCH_LIMIT)
            again = handoffs_to_reread(erp_target=watermark.erp_target, exclude={s.number for s in changed})
            statuses = [*changed, *erp.order_statuses(again)]
            pairs = handoffs_for(statuses, erp_target=watermark.erp_target)
            standings = {customer: erp.customer_standing(customer)
                         for customer in sorted({s.customer for _, s in pairs if s.customer})}
    except HubError as error:
        logger.warning("ERP status poll of %s: reading the ERP failed, will try again: %s",
                       watermark.erp_target, error)
        result.errors.append(str(error))
        return None
    result.orders_read = len(statuses)
    plan = updates_plan(pairs, standings, now=now)
    if plan:
        try:
            with working_on(None):
                outcomes = ports.crm().deal_statuses_write([item.update for item in plan])
        except HubError as error:
            logger.warning("ERP status poll of %s: the CRM write failed, will try again: %s",
                           watermark.erp_target, error)
            result.errors.append(str(error))
            return None
        for item, outcome in zip(plan, outcomes, strict=True):
            _settle(item, outcome, now=now)
            result.records_sent += 1
            result.records_refused += int(not outcome.ok)
    stamps = [s.changed_at for s in changed if s.changed_at is not None]
    latest = max(stamps, default=None)
    if latest is not None and (watermark.last_changed_at is None or latest > watermark.last_changed_at):
        return latest
    return None


def erp_status_poll_all() -> list[PollResult]:
    """Every ERP target the hub knows, one after the other."""
    return [erp_status_poll(erp_target=target) for target in ports.ERP_TARGETS]

