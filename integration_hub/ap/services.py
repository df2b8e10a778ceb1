"""Writes of accounts payable: receive an invoice, match it (3-way), post it, and the resolutions.

The match reads SAP outside any transaction, decides with `matching.match_invoice`, then writes
the line results, the invoice's status and its exceptions (the triage's `SyncException` rows,
through `exceptions.services`) in one transaction; posting to SAP happens after it, under the
invoice's key (`VI-000042`) so an unanswered post is looked up, never sent twice.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from approvals.errors import FourEyesViolation
from crosswalks.models import ChangeAction, CrosswalkChange
from exceptions.models import ExceptionStatus, SyncException
from exceptions.services import exception_note, exception_open, exception_resolve, exception_wait
from integration_hub import ports
from integration_hub.ap import matching
from integration_hub.ap.intake import ExtractedInvoice, Field
from integration_hub.ap.models import (
    AcceptanceStatus,
    ApTolerance,
    ToleranceKind,
    VarianceAcceptance,
    VendorInvoice,
    VendorInvoiceEvent,
    VendorInvoiceLine,
    VendorInvoiceStatus,
)
from integration_hub.dispatch import VENDOR_INVOICE_REMATCH, enqueue_on_commit
from integration_hub.erp.base import (
    PayablesPort,
    PurchaseOrder,
    SupplierInvoiceItem,
    SupplierInvoiceRequest,
    invoice_reference_key,
)
from integration_hub.errors import DomainError, NotFound, ValidationFailed

logger = logging.getLogger(__name__)
S = VendorInvoiceStatus
HEADER_FIELDS = ("supplier", "invoice_number", "invoice_date", "currency", "payment_terms", "gross_amount")
LINE_FIELDS = ("purchase_order", "purchase_order_item", "material", "quantity", "unit_price", "unit")
REQUIRED_HEADER = ("supplier", "invoice_number", "invoice_date", "currency", "gross_amount")
REQUIRED_LINE = ("purchase_order", "purchase_order_item", "quantity", "unit_price")
TOLERANCE_TABLE = "ap_tolerance"  # the crosswalks' history table name of tolerance edits


class ApError(DomainError):
    """A request accounts payable refuses, in words for the person who made it."""


# -- intake -----------------------------------------------------------------------------------------
def _field_json(item: Field) -> dict[str, Any]:
    return {"value": item.value, "confidence": float(item.confidence), "source": item.source}


def extracted_json(extracted: ExtractedInvoice) -> dict[str, Any]:
    return {
        "format": extracted.format,
        "fields": {name: _field_json(getattr(extracted, name)) for name in HEADER_FIELDS},
        "lines": [{name: _field_json(getattr(line, name)) for name in LINE_FIELDS} for line in extracted.lines],
    }


def _value(extracted: dict[str, Any], name: str) -> str:
    return str(((extracted.get("fields") or {}).get(name) or {}).get("value") or "").strip()


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _header_write(invoice: VendorInvoice) -> None:
    """The invoice's columns from its extracted (or corrected) fields."""
    data = invoice.extracted
    invoice.supplier = _value(data, "supplier")[:20]
    invoice.reference = _value(data, "invoice_number")[:40]
    invoice.reference_key = invoice_reference_key(invoice.reference)[:40]
    invoice.invoice_date = _parse_date(_value(data, "invoice_date"))
    invoice.currency = _value(data, "currency").upper()[:3]
    invoice.payment_terms = _value(data, "payment_terms")[:10]
    gross = matching.decimal_or_none(_value(data, "gross_amount"))
    invoice.gross_amount = gross.quantize(matching.CENT) if gross is not None and abs(gross) < 10**13 else None


def _lines_write(invoice: VendorInvoice) -> None:
    invoice.lines.all().delete()
    rows = []
    for position, line in enumerate(invoice.extracted.get("lines") or [], start=1):
        def text(name: str, line: dict[str, Any] = line) -> str:
            return str((line.get(name) or {}).get("value") or "").strip()
        quantity, price = matching.decimal_or_none(text("quantity")), matching.decimal_or_none(text("unit_price"))
        rows.append(VendorInvoiceLine(
            invoice=invoice, position=position, purchase_order=text("purchase_order")[:10],
            purchase_order_item=text("purchase_order_item").lstrip("0")[:5], material=text("material")[:40],
            quantity=quantity if quantity is not None and abs(quantity) < 10**12 else None,
            unit=text("unit").upper()[:3], unit_price=price if price is not None and abs(price) < 10**11 else None))
    VendorInvoiceLine.objects.bulk_create(rows)


def _event(invoice: VendorInvoice, *, to_status: str, reason: str, actor: User | None = None,
           from_status: str | None = None) -> None:
    VendorInvoiceEvent.objects.create(invoice=invoice, actor=actor, actor_label="" if actor else "system",
                                      from_status=invoice.status if from_status is None else from_status,
                                      to_status=to_status, reason=reason)


def content_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def vendor_invoice_receive(
    *, extracted: ExtractedInvoice, content: bytes, filename: str = "", content_type: str = "",
    actor: User | None = None, store_document: bool = True,
) -> tuple[VendorInvoice, bool]:
    """Take an extracted invoice in (once): the same content from the same supplier is the same
    invoice (returned with created False, nothing matched or posted again). The match follows
    after commit, in a worker."""
    supplier = extracted.supplier.value.strip()[:20]
    digest = content_sha256(content)
    existing = VendorInvoice.objects.filter(supplier=supplier, sha256=digest).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            invoice = VendorInvoice(sha256=digest, format=extracted.format[:10], extracted=extracted_json(extracted),
                                    text=extracted.text, filename=filename[:255], content_type=content_type[:100],
                                    uploaded_by=actor)
            _header_write(invoice)
            invoice.supplier = supplier
            invoice.save()
            if store_document and content and extracted.format != "json":
                invoice.document.save(f"{invoice.key}-{digest[:12]}", ContentFile(content), save=True)
            _lines_write(invoice)
            _event(invoice, to_status=S.RECEIVED, reason=f"received ({extracted.format})", actor=actor, from_status="")
            enqueue_on_commit(VENDOR_INVOICE_REMATCH, invoice.pk)
    except IntegrityError:
        # Two uploads of the same file at once: the unique (supplier, sha256) kept one.
        return VendorInvoice.objects.get(supplier=supplier, sha256=digest), False
    return invoice, True


# -- tolerances -------------------------------------------------------------------------------------
def _default_tolerance(kind: str) -> matching.Tolerance:
    if kind == ToleranceKind.PRICE:
        percent = Decimal(str(settings.HUB_AP_PRICE_TOLERANCE_PERCENT))
        return matching.Tolerance(lower_percent=percent, upper_percent=percent)
    return matching.Tolerance(upper_percent=Decimal(str(settings.HUB_AP_QUANTITY_TOLERANCE_PERCENT)))


def tolerance_for(kind: str, company_code: str, supplier: str) -> matching.Tolerance:
    """The most specific row: supplier + company code, supplier, company code, everyone; else the
    settings' defaults."""
    rows = {(row.company_code, row.supplier): row for row in ApTolerance.objects.filter(
        kind=kind, company_code__in=[company_code, ""], supplier__in=[supplier, ""])}
    for scope in ((company_code, supplier), ("", supplier), (company_code, ""), ("", "")):
        row = rows.get(scope)
        if row is not None:
            return matching.Tolerance(row.lower_percent, row.upper_percent, row.lower_absolute, row.upper_absolute)
    return _default_tolerance(kind)


def _tolerance_snapshot(row: ApTolerance) -> dict[str, str]:
    return {"company_code": row.company_code, "supplier": row.supplier, "kind": row.kind,
            **{name: "" if getattr(row, name) is None else str(getattr(row, name))
               for name in ("lower_percent", "upper_percent", "lower_absolute", "upper_absolute")}}


@transaction.atomic
def ap_tolerance_save(*, actor: User | None, channel: str, reason: str = "", pk: int | None = None,
                      **values: Any) -> ApTolerance:
    """Create or change a tolerance; the before/after goes into the crosswalks' history table."""
    row = ApTolerance.objects.select_for_update().get(pk=pk) if pk else ApTolerance()
    before = _tolerance_snapshot(row) if pk else None
    for name, value in values.items():
        setattr(row, name, value)
    for name in ("lower_percent", "upper_percent", "lower_absolute", "upper_absolute"):
        value = getattr(row, name)
        if value is not None and value < 0:
            raise ApError(f"{name.replace('_', ' ')} cannot be negative")
    row.updated_by = actor
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as error:
        raise ApError("a tolerance for this kind, company code and supplier exists already: change that one") from error
    after = _tolerance_snapshot(row)
    if before != after:
        CrosswalkChange.objects.create(
            table=TOLERANCE_TABLE, row_key=f"{row.kind}:{row.company_code or '*'}:{row.supplier or '*'}",
            action=ChangeAction.UPDATE if pk else ChangeAction.CREATE, channel=channel, before=before, after=after,
            actor=actor, reason=reason)
    return row


def ap_tolerance_history(limit: int = 50) -> list[CrosswalkChange]:
    return list(CrosswalkChange.objects.filter(table=TOLERANCE_TABLE).select_related("actor")[:limit])


# -- the match ----------------------------------------------------------------------------------------
def _extraction_findings(invoice: VendorInvoice) -> list[matching.Finding]:
    """A field missing, unreadable or below the confidence threshold: a person reads it from the
    document, nothing is guessed."""
    threshold = float(settings.HUB_AP_CONFIDENCE_THRESHOLD)
    findings = []

    def check(path: str, label: str, item: dict[str, Any], required: bool, kind: str = "") -> None:
        value = str(item.get("value") or "").strip()
        confidence = float(item.get("confidence") or 0.0)
        problem = ""
        if required and not value:
            problem = "missing"
        elif value and kind == "number" and matching.decimal_or_none(value) is None:
            problem = f"not a number ({value!r})"
        elif value and kind == "date" and _parse_date(value) is None:
            problem = f"not a date ({value!r})"
        elif value and confidence < threshold:
            problem = f"read with confidence {confidence:.2f} (below {threshold:.2f})"
        if problem:
            findings.append(matching.Finding(
                matching.EXTRACTION_REVIEW, f"field:{path}", f"Check {label}: {problem}",
                f"The extracted {label} is {problem}. Read it from the document and correct it.",
                {"field": path, "value": value, "confidence": confidence, "source": item.get("source", "")}))

    fields = invoice.extracted.get("fields") or {}
    kinds = {"invoice_date": "date", "gross_amount": "number"}
    for name in HEADER_FIELDS:
        check(name, name.replace("_", " "), fields.get(name) or {}, name in REQUIRED_HEADER, kinds.get(name, ""))
    lines = invoice.extracted.get("lines") or []
    if not lines:
        findings.append(matching.Finding(matching.EXTRACTION_REVIEW, "lines", "No invoice lines found",
                                         "The document shows no line with a purchase order: check it.", {}))
    for position, line in enumerate(lines, start=1):
        for name in LINE_FIELDS:
            check(f"lines.{position}.{name}", f"line {position} {name.replace('_', ' ')}", line.get(name) or {},
                  name in REQUIRED_LINE, "number" if name in ("quantity", "unit_price") else "")
    return findings


def _facts(invoice: VendorInvoice) -> matching.InvoiceFacts:
    lines = tuple(matching.InvoiceLine(
        purchase_order=line.purchase_order, purchase_order_item=line.purchase_order_item, material=line.material,
        quantity=line.quantity or Decimal(0), unit_price=line.unit_price or Decimal(0), unit=line.unit)
        for line in invoice.lines.all())
    return matching.InvoiceFacts(
        supplier=invoice.supplier, reference=invoice.reference, reference_key=invoice.reference_key,
        invoice_date=invoice.invoice_date or date.min, currency=invoice.currency,
        payment_terms=invoice.payment_terms, gross_amount=invoice.gross_amount or Decimal(0), lines=lines)


def _earlier_invoices(invoice: VendorInvoice, erp: PayablesPort) -> list[matching.EarlierInvoice]:
    """The hub's earlier invoices of the supplier with the same reference, and SAP's."""
    found = [matching.EarlierInvoice(other.key, other.reference, other.invoice_date, other.gross_amount,
                                     other.currency)
             for other in VendorInvoice.objects.filter(supplier=invoice.supplier, reference_key=invoice.reference_key,
                                                       pk__lt=invoice.pk).exclude(status=S.REJECTED)]
    if invoice.reference_key:
        for sap in erp.supplier_invoices_find(supplier=invoice.supplier, reference=invoice.reference):
            if sap.number == invoice.sap_supplier_invoice or sap.header_text.startswith(invoice.key):
                continue  # the one this invoice posted itself
            found.append(matching.EarlierInvoice(f"SAP {sap.number}/{sap.fiscal_year}", sap.reference,
                                                 sap.invoice_date, sap.gross_amount, sap.currency))
    return found


def _invoiced_before(invoice: VendorInvoice) -> dict[tuple[str, str], Decimal]:
    rows = (VendorInvoiceLine.objects.filter(invoice__status__in=[S.POSTED, S.HELD],
                                             invoice__sap_supplier_invoice__gt="")
            .exclude(invoice=invoice).values("purchase_order", "purchase_order_item").annotate(total=Sum("quantity")))
    return {(row["purchase_order"], row["purchase_order_item"]): row["total"] or Decimal(0) for row in rows}


def _evidence(invoice: VendorInvoice, finding: matching.Finding) -> dict[str, Any]:
    return {**finding.evidence, "invoice": invoice.key, "supplier": invoice.supplier, "reference": invoice.reference,
            "amount": str(invoice.gross_amount or ""), "currency": invoice.currency}


@transaction.atomic
def _record_match(*, invoice_id: int, findings: list[matching.Finding], result: matching.MatchResult | None,
                  extraction: bool) -> tuple[VendorInvoice, str]:
    """Write what the match found: exceptions opened/refreshed, the ones no longer found closed,
    the lines' results and the decision. Returns the invoice and the decision."""
    invoice = VendorInvoice.objects.select_for_update().get(pk=invoice_id)
    decision = "block" if extraction else (result.decision if result is not None else "block")
    current = {f.fingerprint for f in findings}
    for finding in findings:
        exception_open(vendor_invoice=invoice, type_code=finding.type_code, fingerprint=finding.fingerprint,
                       title=f"{invoice.key}: {finding.title}"[:200], message=finding.message,
                       evidence=_evidence(invoice, finding), actor_label="ap-match")
    for exception in SyncException.objects.filter(vendor_invoice=invoice, status=ExceptionStatus.OPEN):
        if exception.fingerprint not in current and exception.type_code != matching.TERMS_CONFLICT:
            exception_resolve(exception=exception, actor=None, note="no longer found when the invoice matched again",
                              follow_up=False)
    if result is not None:
        by_position = {line.position: line for line in result.lines}
        accepted = {f.line for f in result.accepted if f.line}
        for line in invoice.lines.all():
            outcome = by_position.get(line.position)
            if outcome is not None:
                line.result = "accepted" if outcome.result == "matched" and line.position in accepted else outcome.result
                line.detail = outcome.detail
                line.save(update_fields=["result", "detail"])
        invoice.company_code = result.company_code or invoice.company_code
    invoice.match = {"decision": decision, "at": timezone.now().isoformat(),
                     "findings": [{"type": f.type_code, "title": f.title, "fingerprint": f.fingerprint,
                                   "action": f.action, "line": f.line} for f in findings],
                     "accepted": [f.fingerprint for f in (result.accepted if result else [])]}
    invoice.waiting_for_receipt = any(f.type_code == matching.MISSING_RECEIPT for f in findings)
    to_status = {"post": S.MATCHED, "hold": S.HELD, "block": S.HELD}[decision]
    if invoice.sap_supplier_invoice:
        to_status = S.HELD if decision != "post" else S.MATCHED
    if to_status != invoice.status:
        _event(invoice, to_status=to_status, reason=f"matched: {decision}"
               + (f" ({', '.join(sorted({f.type_code for f in findings}))})" if findings else ""))
        invoice.status = to_status
    invoice.save()
    return invoice, decision


def _request(invoice: VendorInvoice, result: matching.MatchResult, *, block: bool) -> SupplierInvoiceRequest:
    items = tuple(SupplierInvoiceItem(
        purchase_order=line.purchase_order, purchase_order_item=item.item, quantity=line.quantity,
        unit=line.unit or item.unit, amount=(line.quantity * line.unit_price).quantize(matching.CENT),
        material=item.material) for line, item in result.items)
    notes = "; ".join(result.notes)
    return SupplierInvoiceRequest(
        company_code=result.company_code, supplier=invoice.supplier, reference=invoice.reference[:16],
        invoice_date=invoice.invoice_date or timezone.localdate(), gross_amount=invoice.gross_amount or Decimal(0),
        currency=invoice.currency, payment_terms=_terms_to_post(invoice, result),
        items=items, payment_block=matching.PAYMENT_BLOCK if block else "", header_text=notes[:25])


def _terms_to_post(invoice: VendorInvoice, result: matching.MatchResult) -> str:
    """A terms conflict posts with the PO's terms (the agreed contract) and a note."""
    if any(f.type_code == matching.TERMS_CONFLICT for f in result.findings):
        po_terms = result.findings[[f.type_code for f in result.findings].index(matching.TERMS_CONFLICT)]
        return str((po_terms.evidence.get("po_terms") or [invoice.payment_terms])[0])
    return invoice.payment_terms


@transaction.atomic
def _record_posted(*, invoice_id: int, number: str, fiscal_year: str, block: str) -> VendorInvoice:
    invoice = VendorInvoice.objects.select_for_update().get(pk=invoice_id)
    invoice.sap_supplier_invoice, invoice.sap_fiscal_year, invoice.payment_block = number, fiscal_year, block
    invoice.posted_at = invoice.posted_at or timezone.now()
    to_status = S.HELD if block else S.POSTED
    _event(invoice, to_status=to_status, reason=f"SAP supplier invoice {number}/{fiscal_year}"
           + (f" posted, blocked for payment ({block})" if block else " posted"))
    invoice.status = to_status
    invoice.save()
    return invoice


@transaction.atomic
def _record_released(*, invoice_id: int) -> VendorInvoice:
    invoice = VendorInvoice.objects.select_for_update().get(pk=invoice_id)
    _event(invoice, to_status=S.POSTED, reason=f"payment block released on {invoice.sap_supplier_invoice}")
    invoice.payment_block, invoice.status = "", S.POSTED
    invoice.save()
    return invoice


def vendor_invoice_match(*, invoice_id: int, erp: PayablesPort | None = None) -> VendorInvoice:
    """Match the invoice against SAP and act: post (no block), post blocked for payment (hold),
    or post nothing (block). Call outside a transaction (it calls SAP). A posted or rejected
    invoice is left alone; TransientError reaches the caller (the task retries)."""
    invoice = VendorInvoice.objects.get(pk=invoice_id)
    if invoice.status in (S.POSTED, S.REJECTED):
        return invoice
    erp = erp or ports.payables_for()
    findings = _extraction_findings(invoice)
    if findings:
        invoice, _ = _record_match(invoice_id=invoice.pk, findings=findings, result=None, extraction=True)
        return invoice
    facts = _facts(invoice)
    purchase_orders: dict[str, PurchaseOrder | None] = {}
    receipts = {}
    for number in dict.fromkeys(line.purchase_order for line in facts.lines):
        try:
            purchase_orders[number] = erp.purchase_order_get(number)
        except NotFound:
            purchase_orders[number] = None
            continue
        receipts[number] = erp.goods_receipts_for(number)
    result = matching.match_invoice(
        facts, purchase_orders=purchase_orders, receipts=receipts, invoiced_before=_invoiced_before(invoice),
        earlier=_earlier_invoices(invoice, erp), tolerance=tolerance_for, reference_key=invoice_reference_key,
        accepted=invoice.accepted)
    invoice, decision = _record_match(invoice_id=invoice.pk, findings=result.findings, result=result,
                                      extraction=False)
    if decision == "block":
        return invoice
    if invoice.sap_supplier_invoice:
        if decision == "post" and invoice.payment_block:
            erp.supplier_invoice_release(invoice.sap_supplier_invoice, invoice.sap_fiscal_year)
            return _record_released(invoice_id=invoice.pk)
        if decision == "post":
            return _record_released(invoice_id=invoice.pk) if invoice.status != S.POSTED else invoice
        return invoice
    block = decision == "hold"
    try:
        posted = erp.supplier_invoice_post(_request(invoice, result, block=block), idempotency_key=invoice.key)
    except ValidationFailed as error:
        refused = matching.Finding(
            matching.DUPLICATE_INVOICE if "duplicate" in str(error).lower() else matching.EXTRACTION_REVIEW,
            "sap-refused", "SAP refused the supplier invoice", f"SAP said: {error}", {"sap_message": str(error)})
        invoice, _ = _record_match(invoice_id=invoice.pk, findings=[*result.findings, refused], result=None,
                                   extraction=True)
        return invoice
    return _record_posted(invoice_id=invoice.pk, number=posted.number, fiscal_year=posted.fiscal_year,
                          block=posted.payment_block or (matching.PAYMENT_BLOCK if block else ""))


def vendor_invoice_rematch_on_commit(invoice: VendorInvoice) -> None:
    enqueue_on_commit(VENDOR_INVOICE_REMATCH, invoice.pk)


# -- resolutions (each one matches the invoice again) ----------------------------------------------------
def _open_exception(exception: SyncException, *, types: tuple[str, ...]) -> SyncException:
    locked = SyncException.objects.select_for_update(of=("self",)).select_related("vendor_invoice").get(pk=exception.pk)
    if locked.vendor_invoice_id is None or locked.status != ExceptionStatus.OPEN:
        raise ApError("this exception is not an open vendor-invoice exception")
    if locked.type_code not in types:
        raise ApError(f"{locked.get_type_code_display()} has no such resolution")
    return locked


def _invoice_of(exception: SyncException) -> VendorInvoice:
    if exception.vendor_invoice is None:
        raise ApError("this exception is about a deal, not a vendor invoice")
    return exception.vendor_invoice


def variance_amount(exception: SyncException) -> Decimal:
    """What accepting costs: the variance's money where the evidence says, else the invoice's gross."""
    exposure = matching.decimal_or_none((exception.evidence or {}).get("exposure"))
    if exposure is not None:
        return abs(exposure)
    invoice = exception.vendor_invoice
    return abs(invoice.gross_amount or Decimal(0)) if invoice is not None else Decimal(0)


ACCEPTABLE = (matching.PRICE_VARIANCE, matching.QUANTITY_VARIANCE)


@transaction.atomic
def variance_accept(*, exception: SyncException, actor: User, reason: str) -> VarianceAcceptance | SyncException:
    """Accept a price or quantity variance (a reason is required). Above HUB_AP_FOUR_EYES_AMOUNT a
    second person approves it first (a pending `VarianceAcceptance` is returned); otherwise the
    exception is resolved and the invoice matches again with the variance let through."""
    reason = reason.strip()
    if not reason:
        raise ApError("say why the variance is accepted")
    locked = _open_exception(exception, types=ACCEPTABLE)
    amount = variance_amount(locked)
    if amount > Decimal(str(settings.HUB_AP_FOUR_EYES_AMOUNT)):
        pending = VarianceAcceptance.objects.filter(exception=locked, status=AcceptanceStatus.PENDING).first()
        if pending is not None:
            return pending
        acceptance = VarianceAcceptance.objects.create(
            invoice=_invoice_of(locked), exception=locked, fingerprint=locked.fingerprint, amount=amount,
            reason=reason, requested_by=actor)
        exception_note(locked, actor=actor, kind="action",
                       reason=f"asked to accept the variance ({amount}): {reason}; a second person approves")
        return acceptance
    return _accept(locked, actor=actor, note=f"variance accepted: {reason}")


def _accept(exception: SyncException, *, actor: User, note: str) -> SyncException:
    invoice = VendorInvoice.objects.select_for_update().get(pk=_invoice_of(exception).pk)
    if exception.fingerprint not in invoice.accepted:
        invoice.accepted = [*invoice.accepted, exception.fingerprint]
        invoice.save(update_fields=["accepted", "updated_at"])
    return exception_resolve(exception=exception, actor=actor, note=note)  # matches the invoice again


def can_approve_variance(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active
                and (user.is_superuser or user.has_perm("approvals.decide_approval")))


@transaction.atomic
def variance_acceptance_decide(*, acceptance: VarianceAcceptance, actor: User, approve: bool,
                               note: str = "") -> VarianceAcceptance:
    """The second pair of eyes: never the person who asked; someone who may decide approvals."""
    locked = VarianceAcceptance.objects.select_for_update().get(pk=acceptance.pk)
    if locked.status != AcceptanceStatus.PENDING:
        raise ApError(f"this acceptance is {locked.get_status_display().lower()} already")
    if locked.requested_by_id == actor.pk:
        raise FourEyesViolation("you asked for this acceptance: another approver must decide it")
    if not can_approve_variance(actor):
        raise ApError("you may not approve variances")
    locked.status = AcceptanceStatus.APPROVED if approve else AcceptanceStatus.REJECTED
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    exception = SyncException.objects.select_for_update().get(pk=locked.exception_id)
    if approve and exception.status == ExceptionStatus.OPEN:
        _accept(exception, actor=actor, note=f"variance accepted by {locked.requested_by.get_username()}: "
                f"{locked.reason}; approved by {actor.get_username()}{': ' + note if note else ''}")
    elif exception.status == ExceptionStatus.OPEN:
        exception_note(exception, actor=actor, kind="action", reason=f"acceptance refused: {note or 'no reason'}")
    return locked


@transaction.atomic
def credit_memo_request(*, exception: SyncException, actor: User, note: str = "") -> SyncException:
    """Ask the supplier for a credit memo: the exception waits on them (timers paused), the invoice
    stays held (blocked for payment)."""
    locked = _open_exception(exception, types=ACCEPTABLE)
    exception_wait(exception=locked, actor=actor, on="supplier credit memo")
    exception_note(locked, actor=actor, kind="action", reason=f"credit memo requested{': ' + note if note else ''}")
    vendor_invoice_rematch_on_commit(_invoice_of(locked))
    return locked


@transaction.atomic
def receipt_wait(*, exception: SyncException, actor: User) -> SyncException:
    """Wait for the goods receipt: timers pause; the beat matches the invoice again until one arrives."""
    locked = _open_exception(exception, types=(matching.MISSING_RECEIPT,))
    exception_wait(exception=locked, actor=actor, on="goods receipt")
    VendorInvoice.objects.filter(pk=_invoice_of(locked).pk).update(waiting_for_receipt=True)
    vendor_invoice_rematch_on_commit(_invoice_of(locked))
    return locked


@transaction.atomic
def duplicate_reject(*, exception: SyncException, actor: User, note: str = "") -> VendorInvoice:
    """Reject the invoice as a duplicate: nothing is posted, every open exception of it closes."""
    locked = _open_exception(exception, types=(matching.DUPLICATE_INVOICE,))
    invoice = VendorInvoice.objects.select_for_update().get(pk=_invoice_of(locked).pk)
    if invoice.sap_supplier_invoice:
        raise ApError(f"{invoice.key} is posted in SAP as {invoice.sap_supplier_invoice}: cancel it there")
    reason = f"rejected as a duplicate{': ' + note if note else ''}"
    _event(invoice, to_status=S.REJECTED, reason=reason, actor=actor)
    invoice.status, invoice.waiting_for_receipt = S.REJECTED, False
    invoice.save(update_fields=["status", "waiting_for_receipt", "updated_at"])
    for other in SyncException.objects.filter(vendor_invoice=invoice, status=ExceptionStatus.OPEN):
        exception_resolve(exception=other, actor=actor, note=reason, follow_up=False)
    return invoice


def _field_slot(invoice: VendorInvoice, path: str) -> dict[str, Any]:
    data = invoice.extracted
    parts = path.split(".")
    if len(parts) == 1 and parts[0] in HEADER_FIELDS:
        return data.setdefault("fields", {}).setdefault(parts[0], {})
    if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and parts[2] in LINE_FIELDS:
        lines = data.get("lines") or []
        index = int(parts[1]) - 1
        if 0 <= index < len(lines):
            return lines[index].setdefault(parts[2], {})
    raise ApError(f"no field {path!r} on this invoice")


@transaction.atomic
def invoice_field_correct(*, invoice: VendorInvoice, actor: User, path: str, value: str) -> VendorInvoice:
    """A person's reading of one field (e.g. `invoice_date`, `lines.2.unit_price`): stored with
    confidence 1.0 from "person", the columns rewritten, and the invoice matched again."""
    locked = VendorInvoice.objects.select_for_update().get(pk=invoice.pk)
    if locked.status in (S.POSTED, S.REJECTED) or locked.sap_supplier_invoice:
        raise ApError(f"{locked.key} is {locked.get_status_display().lower()}: its fields can no longer change")
    value = value.strip()
    if path.endswith(("quantity", "unit_price", "gross_amount")) and value and matching.decimal_or_none(value) is None:
        raise ApError(f"{value!r} is not a number")
    if path == "invoice_date" and value and _parse_date(value) is None:
        raise ApError(f"{value!r} is not a date (YYYY-MM-DD)")
    slot = _field_slot(locked, path)
    before = slot.get("value", "")
    slot.update(value=value, confidence=1.0, source="person")
    _header_write(locked)
    locked.save()
    _lines_write(locked)
    _event(locked, to_status=locked.status, reason=f"{path} corrected: {before!r} → {value!r}", actor=actor)
    vendor_invoice_rematch_on_commit(locked)
    return locked


def extracted_for_api(invoice: VendorInvoice) -> dict[str, Any]:
    """The extracted fields as the API and the screen show them (value, confidence, source)."""
    data = invoice.extracted or {}
    return {"format": data.get("format", invoice.format), "fields": data.get("fields") or {},
            "lines": data.get("lines") or []}

