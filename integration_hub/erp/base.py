"""The ERP port: what the engine needs from an ERP, in the hub's own terms.

The engine (validation, risk, the pipeline, the crosswalk checks) knows an ERP only through
`ErpPort`; an adapter (`erp/s4hana.py`, later `erp/netsuite.py`) owns every wire detail —
entity names, payload shapes, sales areas, condition types, blocks — and answers with the small
dataclasses below. Errors are the hub's own (`integration_hub.errors`): `NotFound`,
`ValidationFailed` (the ERP refused the data: a person or a changed request), `TransientError`
and its kinds (retry), `AmbiguousOutcome` (look the order up by its deal key before sending again),
`StaleETag` (read again before writing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from integration_hub.canonical import CanonicalDeal
from integration_hub.errors import HubError


@dataclass(frozen=True)
class ErpAddress:
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    address_id: str = ""


@dataclass(frozen=True)
class SalesArea:
    """Where a customer may be sold to, with its agreed terms and currency there."""

    sales_organization: str
    distribution_channel: str
    division: str
    currency: str = ""
    payment_terms: str = ""


@dataclass(frozen=True)
class CustomerCandidate:
    """A hit of a customer search: enough to score it by name."""

    number: str
    name: str
    matched_by: str = ""  # "tax_number" | "name"


@dataclass
class ErpCustomer:
    """A customer master record as the engine needs it."""

    number: str
    name: str
    addresses: list[ErpAddress] = field(default_factory=list)
    sales_areas: list[SalesArea] = field(default_factory=list)
    blocked: bool = False
    preferred_sales_area: SalesArea | None = None  # the adapter's default area for this customer, if any

    def terms_in(self, sales_organization: str, distribution_channel: str) -> str:
        """The payment-terms key agreed in this sales area ("" when the ERP has none)."""
        for area in self.sales_areas:
            if (area.sales_organization, area.distribution_channel) == (sales_organization, distribution_channel):
                return area.payment_terms
        return ""


@dataclass(frozen=True)
class CustomerSummary:
    """One customer of the whole master, for local match caches."""

    number: str
    name: str
    tax_numbers: tuple[str, ...] = ()
    address: ErpAddress | None = None


@dataclass(frozen=True)
class PriceCondition:
    code: str  # e.g. the ERP's condition type
    rate: Any = None
    amount: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"type": self.code, "rate": self.rate, "amount": self.amount}


@dataclass
class PricedItem:
    """One priced item of a draft order: numbered 10, 20, … in deal-line and material order."""

    item: str
    line_id: str  # the deal line (CRM line id) this item prices
    material: str
    quantity: Decimal | None
    net_amount: Decimal
    conditions: list[PriceCondition] = field(default_factory=list)


@dataclass(frozen=True)
class OpenItem:
    """An uncleared receivable of the customer."""

    amount: Decimal
    due_date: date | None
    document: str = ""


@dataclass
class CreditStanding:
    limit: Decimal
    currency: str = ""
    blocked: bool = False
    block_reason: str = ""
    open_items: list[OpenItem] = field(default_factory=list)

    @property
    def open_ar(self) -> Decimal:
        return sum((item.amount for item in self.open_items), Decimal("0"))

    def refuses(self, order_value: Decimal) -> bool:
        """The hub's credit rule: a blocked account, or open AR plus this order above the limit."""
        return self.blocked or self.open_ar + order_value > self.limit


@dataclass
class DraftCheck:
    """What the ERP says about a draft order before it exists: its prices and the customer's credit."""

    items: list[PricedItem]
    total_net: Decimal | None
    currency: str = ""
    credit: CreditStanding | None = None  # None: not asked, or the ERP manages no credit for the customer
    # The ERP's own credit verdict on this draft, given in the same answer as its prices (S/4's
    # simulation `to_Credit`): True passed, False refused, None when the ERP gave none.
    erp_credit_ok: bool | None = None

    @property
    def order_value(self) -> Decimal:
        return self.total_net if self.total_net is not None else sum((i.net_amount for i in self.items), Decimal("0"))


@dataclass
class ErpOrder:
    """A sales order in the ERP, as far as the engine cares."""

    number: str
    deal_key: str = ""
    customer: str = ""
    net_amount: Decimal | None = None
    currency: str = ""
    created_on: date | None = None
    delivery_block: str = ""  # the ERP's block reason code; "" when nothing blocks delivery
    payment_terms: str = ""
    etag: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)  # material, quantity, unit, net_amount
    ship_to: str = ""
    status: str = ""


# What sales sees of an order after the handoff, in the hub's own terms (the adapter maps the
# ERP's status codes onto these; the CRM adapter writes them as they are).
ORDER_STATUSES = ("Open", "In Process", "Completed", "Credit Hold", "Delivery Block", "Cancelled")
DELIVERY_STATUSES = ("Not Delivered", "Partially Delivered", "Delivered")
INVOICE_STATUSES = ("Not Invoiced", "Open", "Partially Paid", "Paid", "Overdue", "Cancelled")
# Invoice statuses a payment can still change: payments post in FI and do not move the order's
# change timestamp, so orders in these states are re-read on every poll.
UNSETTLED_INVOICE_STATUSES = frozenset({"Open", "Partially Paid", "Overdue"})


@dataclass(frozen=True)
class ErpOrderStatus:
    """Where an order stands after it was created: fulfilment, billing and payment.

    `invoice_number` is the latest invoice that stands (not cancelled); the amounts are gross
    (what the customer owes and paid) over every invoice that stands, in `currency`.
    """

    number: str
    deal_key: str = ""
    customer: str = ""
    order_status: str = "Open"  # one of ORDER_STATUSES
    delivery_status: str = "Not Delivered"  # one of DELIVERY_STATUSES
    invoice_number: str = ""
    invoice_status: str = "Not Invoiced"  # one of INVOICE_STATUSES
    amount_invoiced: Decimal = Decimal("0")
    amount_paid: Decimal = Decimal("0")
    currency: str = ""
    changed_at: datetime | None = None  # the order's own last change in the ERP


# Kinds of an order's follow-on documents (`ErpDocument.kind`).
DOCUMENT_KINDS = ("delivery", "invoice", "cancellation", "payment")


@dataclass(frozen=True)
class ErpDocument:
    """One follow-on document of a sales order, in the hub's terms.

    `on` is the document's business date (goods issue, billing, clearing): the ERP dates these
    by day, not by the moment. `amount` is gross (what the customer owes or paid), in `currency`.
    `reference` is the document it refers to: the invoice a payment clears or a cancellation
    reverses. `status` is a short label in the hub's words ("Goods issued", "Open", "Paid",
    "Cancelled", "Partial payment", …)."""

    kind: str  # one of DOCUMENT_KINDS
    number: str
    order: str
    on: date | None = None
    amount: Decimal | None = None
    currency: str = ""
    status: str = ""
    reference: str = ""


@dataclass(frozen=True)
class CustomerStanding:
    """A customer's credit and receivables, for sales: blocked or not, open AR and its age."""

    customer: str
    credit_blocked: bool = False
    open_ar: Decimal = Decimal("0")
    days_past_due: int = 0  # of the oldest open item past its due date; 0 when none is overdue
    currency: str = ""


@dataclass(frozen=True)
class Rejection:
    """Which of the deal's fields an ERP refusal names, read from the ERP's error."""

    field: str  # "material" | "payment_terms" | "customer" (its sales area or master data)
    value: str = ""


@runtime_checkable
class ErpPort(Protocol):
    """Everything the engine asks of an ERP. Adapters raise the hub's errors, never their own."""

    target: str

    # -- master data -----------------------------------------------------------------------------
    def customers_by_tax_number(self, number: str) -> list[CustomerCandidate]: ...

    def customers_by_name(self, name: str, *, top: int = 20) -> list[CustomerCandidate]: ...

    def customer_get(self, number: str) -> ErpCustomer:
        """Raises NotFound when the ERP has no such customer."""
        ...

    def material_exists(self, material: str) -> bool: ...

    def materials_list(self) -> dict[str, str]:
        """Every material with its description in the hub's language."""
        ...

    def customers_list(self) -> list[CustomerSummary]:
        """Every organisation customer with its tax numbers and first address."""
        ...

    def payment_terms_keys(self) -> set[str]:
        """The payment-terms keys the ERP accepts."""
        ...

    # -- a draft order -----------------------------------------------------------------------------
    def draft_check(self, deal: CanonicalDeal, *, credit: bool = True) -> DraftCheck:
        """Price the deal as the order it would become and (unless `credit` is False) read the
        customer's credit. Raises ValidationFailed when the ERP refuses the draft (see `rejection`)."""
        ...

    def credit_get(self, customer: str) -> CreditStanding | None:
        """The customer's credit limit and open receivables; None when the ERP manages no credit for it."""
        ...

    def open_items(self, customer: str) -> list[OpenItem]:
        """The customer's uncleared receivables, oldest due first."""
        ...

    def rejection(self, error: HubError, deal: CanonicalDeal) -> Rejection | None:
        """Which field of the deal an ERP refusal names, if the adapter can tell."""
        ...

    # -- orders ------------------------------------------------------------------------------------
    default_sales_area: SalesArea
    # True when `order_create` is an upsert by the deal's key (a repeat finds the same order), so
    # the look-up before a create is not needed; False when only a look-up prevents a second order.
    creates_idempotently: bool

    def order_create(self, deal: CanonicalDeal, *, delivery_block: str = "") -> ErpOrder:
        """All or nothing (header and every item in one call), carrying the deal's key;
        `delivery_block` is the ERP's block reason code that holds shipping ("" for none)."""
        ...

    def orders_find(self, deal_key: str) -> list[ErpOrder]:
        """Orders carrying this deal's key: the idempotency look-up before any create."""
        ...

    def orders_for_keys(self, deal_keys: list[str]) -> dict[str, list[ErpOrder]]:
        """Orders (with their items) carrying any of these deal keys, by key; a key without
        orders is left out. Batched: a few calls for any number of keys."""
        ...

    def orders_created_between(self, *, start: date, end: date, skip: int = 0, top: int = 200) -> list[ErpOrder]:
        """One page of order headers created on `start` … `end` (both days included), by number."""
        ...

    def order_get(self, number: str) -> ErpOrder: ...

    def customer_orders(self, customer: str, *, top: int = 10) -> list[ErpOrder]: ...

    def order_change(self, number: str, *, etag: str | None, delivery_block: str) -> str | None:
        """Change an order under optimistic locking (If-Match); StaleETag when it changed since."""
        ...

    def order_cancel(self, number: str, *, etag: str | None) -> None:
        """Cancel an order that has not shipped, under optimistic locking."""
        ...

    # -- after the order: fulfilment, billing, payment, credit ---------------------------------------
    def orders_changed(self, *, since: datetime, limit: int = 500) -> list[ErpOrderStatus]:
        """Orders whose own last change is at or after `since`, oldest change first, at most
        `limit` (paging through the ERP's pages), each with its current status.

        Payments post in financial accounting and do not move an order's change timestamp, so
        a poll must also re-read orders with unsettled invoices (`order_statuses`)."""
        ...

    def order_statuses(self, numbers: list[str]) -> list[ErpOrderStatus]:
        """The current status of these orders (an unknown number is left out)."""
        ...

    def customer_standing(self, customer: str) -> CustomerStanding:
        """The customer's credit block, open receivables and days past due of the oldest open item."""
        ...

    def order_documents(self, number: str) -> list[ErpDocument]:
        """The order's deliveries, invoices (and their cancellations) and payments, by date then
        kind; an unknown order has none."""
        ...

    def document_find(self, number: str) -> ErpDocument | None:
        """The delivery or billing document with this number (with the order it belongs to), None
        when the ERP has neither."""
        ...

    def close(self) -> None: ...


# -- payables: purchase orders, goods receipts, supplier invoices (issue 16) -------------------------
@dataclass(frozen=True)
class PurchaseOrderItem:
    purchase_order: str  # "4500000001"
    item: str  # "10" (no leading zeros; the adapter pads for SAP)
    material: str
    quantity: Decimal  # OrderQuantity
    unit: str  # PurchaseOrderQuantityUnit
    net_price: Decimal  # NetPriceAmount, per `price_quantity` units
    price_quantity: Decimal  # NetPriceQuantity (1 or 100 ...)
    gr_based: bool  # InvoiceIsGoodsReceiptBased
    plant: str = ""

    @property
    def unit_price(self) -> Decimal:
        return self.net_price / self.price_quantity


@dataclass(frozen=True)
class PurchaseOrder:
    number: str
    supplier: str
    company_code: str
    currency: str  # DocumentCurrency
    payment_terms: str
    items: tuple[PurchaseOrderItem, ...]

    def item(self, number: str) -> PurchaseOrderItem | None:
        """The item numbered `number` ("10" and "00010" alike), None when the PO has none."""
        wanted = str(number).strip().lstrip("0") or "0"
        return next((i for i in self.items if (i.item.lstrip("0") or "0") == wanted), None)


@dataclass(frozen=True)
class GoodsReceipt:
    material_document: str
    year: str
    document_item: str
    purchase_order: str
    purchase_order_item: str  # "10"
    material: str
    quantity: Decimal  # QuantityInEntryUnit, positive; 102 reversals come negative
    unit: str
    movement_type: str  # "101" / "102"
    posted_on: date


@dataclass(frozen=True)
class SupplierInvoiceItem:
    purchase_order: str
    purchase_order_item: str
    quantity: Decimal
    unit: str
    amount: Decimal  # SupplierInvoiceItemAmount
    material: str = ""


@dataclass(frozen=True)
class SupplierInvoiceRequest:
    company_code: str
    supplier: str  # InvoicingParty
    reference: str  # SupplierInvoiceIDByInvcgParty (the vendor's number, as written)
    invoice_date: date
    gross_amount: Decimal
    currency: str
    payment_terms: str
    items: tuple[SupplierInvoiceItem, ...]
    payment_block: str = ""  # PaymentBlockingReason ("" none, "R" = invoice verification)
    header_text: str = ""  # DocumentHeaderText (e.g. the terms-conflict note, hub id)


@dataclass(frozen=True)
class SupplierInvoice:
    number: str  # SupplierInvoice
    fiscal_year: str
    supplier: str
    reference: str
    invoice_date: date
    gross_amount: Decimal
    currency: str
    payment_block: str
    status: str  # SupplierInvoiceStatus ("5" posted, ...)
    header_text: str = ""


_REFERENCE_PUNCTUATION = re.compile(r"[\s\W_]+")
_REFERENCE_PREFIX = re.compile(r"^(INV|RE|RG)(?=\d)")
_REFERENCE_NUMBER = re.compile(r"\d+")


def invoice_reference_key(reference: str) -> str:
    """A vendor's invoice reference normalised for the duplicate check (WIRE-ERP 4.9).

    Upper case; the leading zeros of every run of digits dropped (before the separators go, so
    "2026/0045" and "2026/45" agree); spaces, punctuation and underscores dropped; a leading "INV", "RE" or "RG" followed directly by the number is kept as the
    prefix "INV" (one spelling for the words vendors use for "invoice": INV, RE(chnung), RG).
    So "INV-00123", "inv 123", "Inv.123" and "RE 0123" all give "INV123"; "123" stays "123" (a
    bare number is not assumed to be an invoice-prefixed one) and "" stays "".
    """
    text = _REFERENCE_NUMBER.sub(lambda m: m.group(0).lstrip("0") or "0", str(reference or "").upper())
    text = _REFERENCE_PUNCTUATION.sub("", text)
    return _REFERENCE_PREFIX.sub("INV", text)


@runtime_checkable
class PayablesPort(Protocol):
    """What accounts payable asks of an ERP: purchase orders, receipts, supplier invoices.

    Errors are the hub's own (NotFound, ValidationFailed, TransientError and its kinds,
    AmbiguousOutcome: look the invoice up by its key before posting again)."""

    def purchase_order_get(self, number: str) -> PurchaseOrder:
        """The PO with its items; NotFound when the ERP has none."""
        ...

    def goods_receipts_for(self, purchase_order: str) -> list[GoodsReceipt]:
        """Every goods movement (101 receipts, 102 reversals as negative quantities) on the PO."""
        ...

    def supplier_exists(self, supplier: str) -> bool: ...

    def supplier_invoices_find(self, *, supplier: str, reference: str) -> list[SupplierInvoice]:
        """The supplier's invoices whose reference equals `reference` after `invoice_reference_key`."""
        ...

    def supplier_invoice_post(self, request: SupplierInvoiceRequest, *, idempotency_key: str) -> SupplierInvoice:
        """Create the invoice with its PO-referenced items and post it; `idempotency_key` starts
        DocumentHeaderText, so an ambiguous outcome is looked up by `supplier_invoice_by_key`."""
        ...

    def supplier_invoice_by_key(self, idempotency_key: str) -> SupplierInvoice | None: ...

    def supplier_invoice_release(self, number: str, fiscal_year: str) -> None:
        """Remove the payment block of a posted invoice."""
        ...
