"""Shared by the sales-order events: the locked order an event runs on, reads of its follow-on
documents, and the statuses derived from them (order, deliveries, invoices' clearing).

Statuses are always re-derived from the documents that exist, never counted up, so a cancelled
invoice or a second partial delivery leaves the order exactly as SAP would show it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from integration_hub.sandbox.catalog import SALES_AREAS
from integration_hub.sandbox.sap import sales, store
from integration_hub.sandbox.sap.entities import entity_type
from integration_hub.sandbox.sap.models import SapEntity
from integration_hub.sandbox.sap.odata_query import dt_internal, parse_datetime

Row = dict[str, Any]

SO, CREDIT, AR = sales.SO, sales.CREDIT, sales.AR
DELIVERY = "API_OUTBOUND_DELIVERY_SRV"
BILLING = "API_BILLING_DOCUMENT_SRV"
ZERO = Decimal(0)


class EventError(Exception):
    """An event that cannot happen: 400 for a bad request, 404 for an unknown order, 409 for an
    event the order's state does not allow (e.g. paying an order with nothing open)."""

    def __init__(self, message: str, *, status: int = 400, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field

    def as_dict(self) -> dict[str, str]:
        body = {"error": self.message}
        if self.field:
            body["field"] = self.field
        return body


@dataclass
class EventRun:
    """One event on one locked order: the order, its items, the clock and what was touched."""

    row: SapEntity
    items: list[Row]
    user: str
    now: datetime = field(default_factory=timezone.now)
    documents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def order(self) -> Row:
        data: Row = self.row.data
        return data

    @property
    def number(self) -> str:
        return str(self.order["SalesOrder"])

    @property
    def day(self) -> date:
        return self.now.astimezone(UTC).date()

    @property
    def year(self) -> str:
        return str(self.day.year)

    @property
    def today(self) -> str:
        return sales.midnight(self.day)

    def stamp(self, previous: str | None) -> str:
        """Now, but strictly after `previous`, so every change moves the watermark and the ETag."""
        moment = self.now
        if previous and moment <= parse_datetime(previous):
            moment = parse_datetime(previous) + timedelta(microseconds=1)
        return dt_internal(moment)

    def record(self, kind: str, service: str, set_name: str, key: Row, action: str) -> None:
        self.documents.append({
            "type": kind, "id": "/".join(str(v) for v in key.values()), "action": action,
            "service": service, "entity_set": set_name, "key": key,
        })


# -- option parsing --------------------------------------------------------------------------------
def decimal_option(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise EventError(f"{name} must be a number", field=name)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise EventError(f"{name} must be a number, not '{value}'", field=name) from exc
    if not number.is_finite():
        raise EventError(f"{name} must be a finite number", field=name)
    return number


def money_option(value: Any, name: str) -> Decimal:
    amount = decimal_option(value, name)
    if amount <= 0:
        raise EventError(f"{name} must be greater than zero", field=name)
    if amount != amount.quantize(sales.CENT):
        raise EventError(f"{name} must have at most two decimals", field=name)
    return amount


# -- reads -----------------------------------------------------------------------------------------
def delivery_items(order: str) -> list[Row]:
    return store.rows(DELIVERY, "A_OutbDeliveryItem", ReferenceSDDocument=order)


def billing_documents(order: str) -> tuple[dict[str, Row], list[Row]]:
    """The order's billing documents (by number) and their items, invoices and cancellations."""
    items = store.rows(BILLING, "A_BillingDocumentItem", SalesDocument=order)
    numbers = sorted({item["BillingDocument"] for item in items})
    headers = {h["BillingDocument"]: h for h in store.rows(BILLING, "A_BillingDocument", BillingDocument=numbers)}
    return headers, items


def active_invoice_items(order: str) -> list[Row]:
    """Items of the order's invoices that still stand (not cancellations, not cancelled)."""
    headers, items = billing_documents(order)
    return [item for item in items if is_active_invoice(headers.get(item["BillingDocument"]))]


def is_active_invoice(header: Row | None) -> bool:
    if header is None:
        return False
    return header.get("BillingDocumentType") == "F2" and not header.get("BillingDocumentIsCancelled")


def sum_by(rows: list[Row], key: str, value: str) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row[key]] += Decimal(row.get(value) or 0)
    return totals


def order_partner(order: str, function: str) -> str:
    found = store.rows(SO, "A_SalesOrderHeaderPartner", SalesOrder=order, PartnerFunction=function)
    return str(found[0].get("Customer") or "") if found else ""


def company_currency(company_code: str, fallback: str) -> str:
    return next((a.currency for a in SALES_AREAS if a.sales_organization == company_code), fallback)


# -- status ----------------------------------------------------------------------------------------
def _status(done: Decimal, total: Decimal) -> str:
    if done <= 0:
        return "A"
    return "C" if done >= total else "B"


def _overall(statuses: list[str]) -> str:
    if not statuses or all(s == "A" for s in statuses):
        return "A"
    return "C" if all(s == "C" for s in statuses) else "B"


def refresh_order(run: EventRun) -> None:
    """Derive the item and header statuses from the deliveries and invoices that exist now."""
    delivered = sum_by(delivery_items(run.number), "ReferenceSDDocumentItem", "ActualDeliveryQuantity")
    billed = sum_by(active_invoice_items(run.number), "SalesDocumentItem", "BillingQuantity")
    item_type = entity_type(SO, "A_SalesOrderItem")
    for item in run.items:
        number, requested = item["SalesOrderItem"], Decimal(item["RequestedQuantity"])
        statuses = {
            "DeliveryStatus": _status(delivered[number], requested),
            "OrderRelatedBillingStatus": _status(billed[number], requested),
            "SDProcessStatus": "C" if billed[number] >= requested else
            "A" if delivered[number] <= 0 and billed[number] <= 0 else "B",
        }
        if any(item.get(name) != value for name, value in statuses.items()):
            item.update(statuses)
            store.save(SO, item_type, item)
    delivery = _overall([i["DeliveryStatus"] for i in run.items])
    run.order.update(
        OverallDeliveryStatus=delivery,
        OverallTotalDeliveryStatus=delivery,
        OverallOrdReltdBillgStatus=_overall([i["OrderRelatedBillingStatus"] for i in run.items]),
        OverallSDProcessStatus=_overall([i["SDProcessStatus"] for i in run.items]),
    )


def refresh_deliveries(run: EventRun) -> None:
    """Each delivery's billing status from the invoices that stand; bumps the ones that change."""
    billed = {(i["ReferenceSDDocument"], i["ReferenceSDDocumentItem"]) for i in active_invoice_items(run.number)}
    by_delivery: dict[str, list[bool]] = defaultdict(list)
    for item in delivery_items(run.number):
        by_delivery[item["DeliveryDocument"]].append((item["DeliveryDocument"], item["DeliveryDocumentItem"]) in billed)
    header_type = entity_type(DELIVERY, "A_OutbDeliveryHeader")
    for number, flags in sorted(by_delivery.items()):
        status = "C" if all(flags) else "B" if any(flags) else "A"
        header = store.get(DELIVERY, header_type, {"DeliveryDocument": number})
        if header is None or header.get("OverallDelivReltdBillgStatus") == status:
            continue
        header.update(OverallDelivReltdBillgStatus=status, OverallSDProcessStatus="C" if status == "C" else "B",
                      LastChangeDate=run.today, LastChangeDateTime=run.stamp(header.get("LastChangeDateTime")))
        store.save(DELIVERY, header_type, header)
        run.record("outbound_delivery", DELIVERY, "A_OutbDeliveryHeader", {"DeliveryDocument": number}, "changed")


def refresh_clearing(run: EventRun, billing_documents: set[str]) -> None:
    """InvoiceClearingStatus of invoices whose receivables changed: A open, B partly, C cleared."""
    header_type = entity_type(BILLING, "A_BillingDocument")
    for number in sorted(billing_documents):
        header = store.get(BILLING, header_type, {"BillingDocument": number})
        if header is None:
            continue
        items = store.rows(AR, "A_OperationalAcctgDocItemCube", BillingDocument=number)
        cleared = [bool(i.get("IsCleared")) for i in items]
        status = "C" if cleared and all(cleared) else "B" if any(cleared) else "A"
        if header.get("InvoiceClearingStatus") == status:
            continue
        header.update(InvoiceClearingStatus=status, LastChangeDate=run.today,
                      LastChangeDateTime=run.stamp(header.get("LastChangeDateTime")))
        store.save(BILLING, header_type, header)
        run.record("billing_document", BILLING, "A_BillingDocument", {"BillingDocument": number}, "changed")
