"""The 3-way match: pure functions over an invoice, the payables port's dataclasses and tolerances.

No database, no network: `services.vendor_invoice_match` reads SAP (POs, receipts, SAP's own
invoices of the supplier) and the hub's earlier invoices, then calls `match_invoice`, which says
per line what agreed and lists the findings, each one of the catalogue's AP exception types.

The rules (DESIGN.md "the 3-way match", WIRE-ERP §4.5–4.9):
- price: the invoice's unit price against the PO's net price **per price unit**
  (`NetPriceAmount / NetPriceQuantity`: a price per 100 is divided by 100 first), within the price
  tolerance (SAP key PP: lower and upper, percent and absolute; default ± 2 %);
- quantity: against what was received (the sum of the 101 receipts minus the 102 reversals, over
  every receipt of a split shipment) less what the hub already invoiced for that item, or against
  the PO quantity when the item is not GR-based (a 2-way match); within the quantity tolerance
  (SAP key DQ; default + 5 %, invoicing less than received is a partial invoice, not a variance);
- missing receipt: a GR-based item with nothing received yet;
- vendor: the invoicing party must be the PO's supplier;
- duplicate: same supplier + normalised reference + date + amount + currency, in the hub or in SAP
  (SAP's duplicate check, §4.9, with the reference compared normalised: `INV-00123` = `inv 123`);
- terms: the invoice's payment terms against the PO's (a flag: posted with a note);
- a substituted material (the line names another material than the PO item) is a finding for
  procurement, never matched silently; a PO or item SAP does not know, or a currency other than
  the PO's, too.

Every finding carries a fingerprint (its identity on this invoice) so re-matching refreshes the
same open exception, and a person's accepted variance (`accepted`) lets exactly that finding pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from integration_hub.erp.base import GoodsReceipt, PurchaseOrder, PurchaseOrderItem

PRICE_VARIANCE = "ap_price_variance"
QUANTITY_VARIANCE = "ap_quantity_variance"
MISSING_RECEIPT = "ap_missing_receipt"
VENDOR_MISMATCH = "ap_vendor_mismatch"
DUPLICATE_INVOICE = "ap_duplicate_invoice"
TERMS_CONFLICT = "ap_terms_conflict"
EXTRACTION_REVIEW = "ap_extraction_review"

# What each type does to posting (the catalogue's `ap_action` says the same for the screens):
# hold  = SAP's own behaviour for a tolerance violation: the invoice is posted but blocked for
#         payment (PaymentBlockingReason "R", invoice verification); accepting the variance
#         releases it, nothing is paid before a person decided;
# block = nothing is posted (no receipt yet, wrong party, a duplicate, an unreadable field):
#         posting it would put a wrong document in the books;
# flag  = posted without a block, with the finding in DocumentHeaderText, for a person to review.
ACTIONS = {
    PRICE_VARIANCE: "hold", QUANTITY_VARIANCE: "hold", MISSING_RECEIPT: "block", VENDOR_MISMATCH: "block",
    DUPLICATE_INVOICE: "block", TERMS_CONFLICT: "flag", EXTRACTION_REVIEW: "block",
}
PAYMENT_BLOCK = "R"  # SAP's payment block key "blocked for invoice verification"

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Tolerance:
    """Limits of one kind (price or quantity), as SAP's tolerance keys hold them: None = no limit."""

    lower_percent: Decimal | None = None
    upper_percent: Decimal | None = None
    lower_absolute: Decimal | None = None
    upper_absolute: Decimal | None = None

    def exceeded(self, *, actual: Decimal, expected: Decimal, value_per_unit: Decimal) -> bool:
        """Whether `actual` differs from `expected` beyond a limit; `value_per_unit` turns the
        difference into money for the absolute limits (price: the quantity; quantity: the price)."""
        difference = actual - expected
        amount = difference * value_per_unit
        percent = (difference / expected * HUNDRED) if expected else (HUNDRED if difference else Decimal(0))
        if difference > 0:
            return ((self.upper_percent is not None and percent > self.upper_percent)
                    or (self.upper_absolute is not None and amount > self.upper_absolute))
        if difference < 0:
            return ((self.lower_percent is not None and -percent > self.lower_percent)
                    or (self.lower_absolute is not None and -amount > self.lower_absolute))
        return False


@dataclass(frozen=True)
class InvoiceLine:
    purchase_order: str
    purchase_order_item: str
    material: str
    quantity: Decimal
    unit_price: Decimal
    unit: str = ""


@dataclass(frozen=True)
class InvoiceFacts:
    """What the match compares: the invoice as extracted (and corrected by people)."""

    supplier: str
    reference: str
    reference_key: str
    invoice_date: date
    currency: str
    payment_terms: str
    gross_amount: Decimal
    lines: tuple[InvoiceLine, ...]


@dataclass(frozen=True)
class EarlierInvoice:
    """An invoice already known (the hub's own, or one SAP holds) for the duplicate check."""

    label: str           # "VI-000041" or "SAP 5105600001/2026"
    reference: str
    invoice_date: date | None
    gross_amount: Decimal | None
    currency: str


@dataclass
class Finding:
    type_code: str
    identity: str        # the fingerprint's identity part: one open exception per (invoice, identity)
    title: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    line: int | None = None   # the invoice line's position (1-based), None for the header

    @property
    def fingerprint(self) -> str:
        return f"{self.type_code}:{self.identity}"

    @property
    def action(self) -> str:
        return ACTIONS[self.type_code]


@dataclass
class LineResult:
    position: int
    result: str          # "matched" or the first finding's type
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class MatchResult:
    lines: list[LineResult]
    findings: list[Finding]          # not yet accepted by a person
    accepted: list[Finding]          # variances a person accepted: they pass
    company_code: str = ""
    items: list[tuple[InvoiceLine, PurchaseOrderItem]] = field(default_factory=list)

    @property
    def decision(self) -> str:
        """post (clean, or only flags), hold (post blocked for payment), block (post nothing)."""
        actions = {f.action for f in self.findings}
        if "block" in actions:
            return "block"
        if "hold" in actions:
            return "hold"
        return "post"

    @property
    def notes(self) -> list[str]:
        return [f.title for f in self.findings if f.action == "flag"]


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def decimal_or_none(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).strip().replace(",", "")) if str(value or "").strip() else None
    except (InvalidOperation, ValueError):
        return None
    return number if number is not None and number.is_finite() else None


def received_quantity(receipts: Iterable[GoodsReceipt], *, purchase_order: str, item: str) -> Decimal:
    """What arrived for a PO item: every 101 (a split shipment is several) less the 102 reversals
    (the port gives reversals negative; a positive 102 is subtracted too)."""
    total = Decimal(0)
    for receipt in receipts:
        if receipt.purchase_order != purchase_order or receipt.purchase_order_item.lstrip("0") != item.lstrip("0"):
            continue
        if receipt.movement_type == "102":
            total -= abs(receipt.quantity)
        elif receipt.movement_type == "101":
            total += receipt.quantity
    return total


def is_duplicate(facts: InvoiceFacts, earlier: EarlierInvoice, *, key: Callable[[str], str]) -> bool:
    """SAP's duplicate check (OMRDC): supplier (already the same), currency, amount, reference
    (normalised) and date all agree."""
    return (key(earlier.reference) == facts.reference_key and bool(facts.reference_key)
            and earlier.invoice_date == facts.invoice_date
            and earlier.gross_amount is not None and earlier.gross_amount.quantize(CENT) == facts.gross_amount.quantize(CENT)
            and (not earlier.currency or earlier.currency.upper() == facts.currency.upper()))


def match_invoice(
    facts: InvoiceFacts,
    *,
    purchase_orders: Mapping[str, PurchaseOrder | None],
    receipts: Mapping[str, list[GoodsReceipt]],
    invoiced_before: Mapping[tuple[str, str], Decimal],
    earlier: Iterable[EarlierInvoice],
    tolerance: Callable[[str, str, str], Tolerance],
    reference_key: Callable[[str], str],
    accepted: Iterable[str] = (),
) -> MatchResult:
    """Match `facts` against its purchase orders and receipts.

    `purchase_orders` maps each PO number the invoice names to the PO (None: SAP has none);
    `receipts` maps it to its goods receipts; `invoiced_before` is the quantity the hub already
    posted per (PO, item); `earlier` the invoices the duplicate check compares with;
    `tolerance(kind, company_code, supplier)` the limits that apply."""
    findings: list[Finding] = []
    results: list[LineResult] = []
    items: list[tuple[InvoiceLine, PurchaseOrderItem]] = []
    company_code = ""
    currency = facts.currency.upper()
    for earlier_invoice in earlier:
        if is_duplicate(facts, earlier_invoice, key=reference_key):
            findings.append(Finding(
                DUPLICATE_INVOICE, f"{facts.reference_key}:{facts.invoice_date.isoformat()}",
                f"Duplicate of {earlier_invoice.label}",
                f"{earlier_invoice.label} has the same supplier, reference ({earlier_invoice.reference!r} reads as "
                f"{facts.reference!r}), date {facts.invoice_date.isoformat()} and amount "
                f"{money(facts.gross_amount)} {currency}.",
                {"duplicate_of": earlier_invoice.label, "reference": facts.reference,
                 "earlier_reference": earlier_invoice.reference, "reference_key": facts.reference_key}))
            break
    vendors_seen: set[str] = set()
    for position, line in enumerate(facts.lines, start=1):
        line_findings: list[Finding] = []
        detail: dict[str, Any] = {"purchase_order": line.purchase_order, "item": line.purchase_order_item}
        po = purchase_orders.get(line.purchase_order)
        item = po.item(line.purchase_order_item) if po is not None else None
        if po is None or item is None:
            what = (f"purchase order {line.purchase_order}" if po is None
                    else f"item {line.purchase_order_item} of purchase order {line.purchase_order}")
            line_findings.append(Finding(
                EXTRACTION_REVIEW, f"po:{line.purchase_order}/{line.purchase_order_item}",
                f"Line {position}: SAP has no {what}",
                f"The invoice's line {position} names {what}, which SAP does not know: check the number on the "
                "document and correct it.", {"line": position}, position))
            results.append(LineResult(position, EXTRACTION_REVIEW, detail))
            findings.extend(line_findings)
            continue
        company_code = company_code or po.company_code
        detail.update(po_unit_price=str(item.unit_price), po_net_price=str(item.net_price),
                      price_unit=str(item.price_quantity), ordered=str(item.quantity), unit=item.unit,
                      gr_based=item.gr_based, po_material=item.material)
        if po.supplier != facts.supplier and po.number not in vendors_seen:
            vendors_seen.add(po.number)
            line_findings.append(Finding(
                VENDOR_MISMATCH, f"vendor:{po.number}",
                f"Invoiced by {facts.supplier}, ordered from {po.supplier}",
                f"Purchase order {po.number} was placed with supplier {po.supplier}; the invoice comes from "
                f"{facts.supplier}.", {"po_supplier": po.supplier, "invoicing_party": facts.supplier,
                                       "purchase_order": po.number}, position))
        if po.currency.upper() != currency:
            line_findings.append(Finding(
                PRICE_VARIANCE, f"currency:{po.number}",
                f"Invoice in {currency}, purchase order {po.number} in {po.currency}",
                "The invoice's currency is not the purchase order's: procurement decides.",
                {"po_currency": po.currency, "currency": currency}, position))
        if line.material and item.material and line.material.upper() != item.material.upper():
            line_findings.append(Finding(
                PRICE_VARIANCE, f"material:{po.number}/{item.item}",
                f"Line {position}: substituted material {line.material} for {item.material}",
                f"The invoice bills {line.material} against {po.number}/{item.item}, which ordered {item.material}. "
                "A substitute is never matched silently: procurement accepts it or asks for a credit memo.",
                {"material": line.material, "po_material": item.material, "line": position}, position))
        price_tolerance = tolerance("price", po.company_code, facts.supplier)
        if price_tolerance.exceeded(actual=line.unit_price, expected=item.unit_price, value_per_unit=line.quantity):
            variance = ((line.unit_price - item.unit_price) / item.unit_price * HUNDRED) if item.unit_price else HUNDRED
            exposure = (line.unit_price - item.unit_price) * line.quantity
            per = f" per {item.price_quantity.normalize()}" if item.price_quantity != 1 else ""
            line_findings.append(Finding(
                PRICE_VARIANCE, f"price:{po.number}/{item.item}",
                f"Line {position}: price {line.unit_price.normalize()} vs PO {item.unit_price.normalize()} "
                f"({variance.quantize(CENT):+} %)",
                f"The PO's net price is {item.net_price.normalize()}{per} {po.currency} ({item.unit_price.normalize()} a "
                f"unit); the invoice charges {line.unit_price.normalize()}: {money(exposure)} {currency} over "
                f"{line.quantity.normalize()} units.",
                {"variance_percent": str(variance.quantize(CENT)), "exposure": money(exposure),
                 "po_unit_price": str(item.unit_price), "unit_price": str(line.unit_price), "line": position},
                position))
        received = received_quantity(receipts.get(po.number, []), purchase_order=po.number, item=item.item)
        before = invoiced_before.get((po.number, item.item), Decimal(0))
        detail.update(received=str(received), invoiced_before=str(before))
        if item.gr_based and received <= 0:
            line_findings.append(Finding(
                MISSING_RECEIPT, f"receipt:{po.number}/{item.item}",
                f"Line {position}: no goods receipt for {po.number}/{item.item}",
                f"The item is goods-receipt based and nothing has been received yet (ordered "
                f"{item.quantity.normalize()} {item.unit}). The invoice waits for the warehouse's 101.",
                {"purchase_order": po.number, "item": item.item, "line": position}, position))
        else:
            reference = (received if item.gr_based else item.quantity) - before
            basis = "received" if item.gr_based else "ordered"
            quantity_tolerance = tolerance("quantity", po.company_code, facts.supplier)
            if reference <= 0 or quantity_tolerance.exceeded(actual=line.quantity, expected=reference,
                                                              value_per_unit=item.unit_price):
                variance = ((line.quantity - reference) / reference * HUNDRED) if reference > 0 else HUNDRED
                line_findings.append(Finding(
                    QUANTITY_VARIANCE, f"quantity:{po.number}/{item.item}",
                    f"Line {position}: {line.quantity.normalize()} invoiced, {reference.normalize()} {basis} "
                    "and not yet invoiced",
                    f"{po.number}/{item.item}: ordered {item.quantity.normalize()}, received {received.normalize()}, "
                    f"invoiced before {before.normalize()}; this invoice bills {line.quantity.normalize()} {item.unit}.",
                    {"variance_percent": str(variance.quantize(CENT)), "received": str(received),
                     "ordered": str(item.quantity), "invoiced_before": str(before), "quantity": str(line.quantity),
                     "exposure": money((line.quantity - reference) * item.unit_price), "line": position},
                    position))
        items.append((line, item))
        results.append(LineResult(position, line_findings[0].type_code if line_findings else "matched", detail))
        findings.extend(line_findings)
    terms = {po.payment_terms for po in purchase_orders.values() if po is not None and po.payment_terms}
    if facts.payment_terms and terms and facts.payment_terms.upper() not in {t.upper() for t in terms}:
        findings.append(Finding(
            TERMS_CONFLICT, f"terms:{facts.payment_terms}",
            f"Terms {facts.payment_terms} on the invoice, {', '.join(sorted(terms))} on the PO",
            "Posted with the PO's terms and this note; the AP analyst checks with the supplier.",
            {"invoice_terms": facts.payment_terms, "po_terms": sorted(terms)}))
    lines_total = sum((line.quantity * line.unit_price for line in facts.lines), Decimal(0)).quantize(CENT)
    if facts.lines and lines_total != facts.gross_amount.quantize(CENT):
        findings.append(Finding(
            EXTRACTION_REVIEW, "gross", f"Gross {money(facts.gross_amount)} is not the lines' {lines_total}",
            "The lines' quantities times prices do not add up to the invoice's gross amount: check the document.",
            {"gross_amount": money(facts.gross_amount), "lines_total": str(lines_total)}))
    accepted_set = set(accepted)
    passing = [f for f in findings if f.fingerprint in accepted_set and f.action == "hold"]
    open_findings = [f for f in findings if f not in passing]
    return MatchResult(lines=results, findings=open_findings, accepted=passing, company_code=company_code,
                       items=items)
