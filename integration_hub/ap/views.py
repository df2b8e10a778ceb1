"""Screens of accounts payable (`/ap/`): the list, the upload (drag and drop), an invoice with its
extraction beside the document, its resolutions, and the tolerances editor. They call the same
services as the API; object permissions through the triage's queues (exceptions.permissions)."""

from __future__ import annotations

import mimetypes
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals.errors import FourEyesViolation
from exceptions.errors import ExceptionNotOpen
from exceptions.models import ExceptionStatus, SyncException
from integration_hub.ap import matching
from integration_hub.ap.intake import IntakeError, extract
from integration_hub.ap.models import (
    AcceptanceStatus,
    ApTolerance,
    ToleranceKind,
    VarianceAcceptance,
    VendorInvoice,
)
from integration_hub.ap.selectors import (
    can_edit_tolerances,
    can_upload,
    can_work_exception,
    invoices_visible,
    is_ap_user,
)
from integration_hub.ap.selectors import (
    invoice_list as invoice_list_query,
)
from integration_hub.ap.services import (
    ApError,
    ap_tolerance_history,
    ap_tolerance_save,
    can_approve_variance,
    credit_memo_request,
    duplicate_reject,
    invoice_field_correct,
    receipt_wait,
    variance_accept,
    variance_acceptance_decide,
    vendor_invoice_receive,
)

# The resolutions each type offers on the invoice screen (besides correcting a field).
RESOLUTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    matching.PRICE_VARIANCE: (("accept", "Accept the variance"), ("credit_memo", "Request a credit memo")),
    matching.QUANTITY_VARIANCE: (("accept", "Accept the variance"), ("credit_memo", "Request a credit memo")),
    matching.MISSING_RECEIPT: (("wait_receipt", "Wait for the receipt"),),
    matching.DUPLICATE_INVOICE: (("reject_duplicate", "Reject as duplicate"),),
}


def _invoice(request: HttpRequest, pk: int) -> VendorInvoice:
    return get_object_or_404(invoices_visible(user=request.user), pk=pk)


@login_required
@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    if not is_ap_user(request.user):
        raise Http404
    status = request.GET.get("status", "")
    invoices = list(invoice_list_query(user=request.user, status=status)[:200])
    template = "ap/invoice_list.html#invoice-table" if getattr(request, "htmx", False) else "ap/invoice_list.html"
    return render(request, template, {"invoices": invoices, "status": status, "can_upload": can_upload(request.user),
                                      "can_edit_tolerances": can_edit_tolerances(request.user)})


@login_required
@require_POST
def invoice_upload(request: HttpRequest) -> HttpResponse:
    if not can_upload(request.user):
        raise PermissionDenied
    upload = request.FILES.get("file")
    error, invoice = "", None
    if upload is None:
        error = "Choose a file (CSV, UBL XML, PDF, DOCX or an image) first."
    else:
        try:
            content = upload.read()
            extracted = extract(content, filename=upload.name or "upload", content_type=upload.content_type or "")
        except IntakeError as exc:
            error = str(exc)
        else:
            invoice, _ = vendor_invoice_receive(extracted=extracted, content=content, filename=upload.name or "",
                                                content_type=upload.content_type or "", actor=request.user)  # type: ignore[arg-type]
    if getattr(request, "htmx", False):
        response = render(request, "ap/invoice_list.html#upload-result", {"error": error, "invoice": invoice},
                          status=422 if error else 200)
        if invoice is not None:
            response["HX-Trigger"] = "invoiceReceived"
        return response
    if error:
        invoices = list(invoice_list_query(user=request.user)[:200])
        return render(request, "ap/invoice_list.html", {"invoices": invoices, "error": error, "can_upload": True},
                      status=422)
    assert invoice is not None
    return redirect("ap:invoice", invoice.pk)


def _detail_context(request: HttpRequest, invoice: VendorInvoice, **extra: Any) -> dict[str, Any]:
    exceptions = list(invoice.exceptions.select_related("queue").order_by("-status", "pk"))
    rows = []
    for exception in exceptions:
        rows.append({"exception": exception, "can_work": exception.status == ExceptionStatus.OPEN
                     and can_work_exception(user=request.user, exception=exception),
                     "resolutions": RESOLUTIONS.get(exception.type_code, ())})
    fields = (invoice.extracted or {}).get("fields") or {}
    lines = (invoice.extracted or {}).get("lines") or []
    pending = list(VarianceAcceptance.objects.filter(invoice=invoice, status=AcceptanceStatus.PENDING)
                   .select_related("requested_by"))
    return {"invoice": invoice, "exceptions": rows, "fields": sorted(fields.items()),
            "extracted_lines": [(i, sorted(line.items())) for i, line in enumerate(lines, start=1)],
            "lines": list(invoice.lines.all()), "events": list(invoice.events.select_related("actor")),
            "pending": pending, "can_approve": can_approve_variance(request.user),
            "threshold": settings.HUB_AP_CONFIDENCE_THRESHOLD,
            "can_correct": any(r["can_work"] for r in rows), **extra}


@login_required
@require_GET
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    return render(request, "ap/invoice_detail.html", _detail_context(request, invoice))


@login_required
@require_GET
def invoice_document(request: HttpRequest, pk: int) -> FileResponse:
    invoice = _invoice(request, pk)
    if not invoice.document:
        raise Http404
    content_type = invoice.content_type or mimetypes.guess_type(invoice.filename)[0] or "application/octet-stream"
    response = FileResponse(invoice.document.open("rb"), content_type=content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _back(request: HttpRequest, invoice: VendorInvoice, error: str = "") -> HttpResponse:
    if error:
        return render(request, "ap/invoice_detail.html", _detail_context(request, invoice, error=error), status=422)
    return redirect("ap:invoice", invoice.pk)


@login_required
@require_POST
def invoice_correct(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    open_ones = invoice.exceptions.filter(status=ExceptionStatus.OPEN).select_related("queue")
    if not any(can_work_exception(user=request.user, exception=e) for e in open_ones):
        raise PermissionDenied
    try:
        invoice_field_correct(invoice=invoice, actor=request.user, path=request.POST.get("field", ""),  # type: ignore[arg-type]
                              value=request.POST.get("value", ""))
    except ApError as error:
        return _back(request, invoice, str(error))
    return _back(request, invoice)


@login_required
@require_POST
def exception_resolve_view(request: HttpRequest, pk: int) -> HttpResponse:
    exception = get_object_or_404(SyncException.objects.select_related("queue", "vendor_invoice"),
                                  pk=pk, vendor_invoice__in=invoices_visible(user=request.user))
    invoice = exception.vendor_invoice
    assert invoice is not None
    if not can_work_exception(user=request.user, exception=exception):
        raise PermissionDenied
    action, note = request.POST.get("action", ""), request.POST.get("note", "")
    user: Any = request.user
    try:
        if action == "accept":
            variance_accept(exception=exception, actor=user, reason=note)
        elif action == "credit_memo":
            credit_memo_request(exception=exception, actor=user, note=note)
        elif action == "wait_receipt":
            receipt_wait(exception=exception, actor=user)
        elif action == "reject_duplicate":
            duplicate_reject(exception=exception, actor=user, note=note)
        else:
            return _back(request, invoice, f"unknown resolution {action!r}")
    except (ApError, ExceptionNotOpen, FourEyesViolation) as error:
        return _back(request, invoice, str(error))
    return _back(request, invoice)


@login_required
@require_POST
def acceptance_decide(request: HttpRequest, pk: int) -> HttpResponse:
    acceptance = get_object_or_404(VarianceAcceptance.objects.select_related("invoice"), pk=pk,
                                   invoice__in=invoices_visible(user=request.user))
    try:
        variance_acceptance_decide(acceptance=acceptance, actor=request.user,  # type: ignore[arg-type]
                                   approve=request.POST.get("decision") == "approve", note=request.POST.get("note", ""))
    except (ApError, FourEyesViolation) as error:
        return _back(request, acceptance.invoice, str(error))
    return _back(request, acceptance.invoice)


def _decimal(text: str) -> Decimal | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise ApError(f"{text!r} is not a number") from error
    if not value.is_finite() or abs(value) >= 10**9:
        raise ApError(f"{text!r} is out of range")
    return value


@login_required
@require_http_methods(["GET", "POST"])
def tolerances(request: HttpRequest) -> HttpResponse:
    if not (is_ap_user(request.user) or can_edit_tolerances(request.user)):
        raise Http404
    error = ""
    if request.method == "POST":
        if not can_edit_tolerances(request.user):
            raise PermissionDenied
        try:
            kind = request.POST.get("kind", "")
            if kind not in ToleranceKind.values:
                raise ApError("choose price or quantity")
            pk = request.POST.get("pk", "")
            ap_tolerance_save(
                actor=request.user, channel="ui", reason=request.POST.get("reason", ""),  # type: ignore[arg-type]
                pk=int(pk) if pk.isdigit() else None, kind=kind,
                company_code=request.POST.get("company_code", "").strip().upper()[:4],
                supplier=request.POST.get("supplier", "").strip()[:20],
                **{name: _decimal(request.POST.get(name, "")) for name in (
                    "lower_percent", "upper_percent", "lower_absolute", "upper_absolute")})
        except ApError as exc:
            error = str(exc)
        else:
            return redirect(reverse("ap:tolerances"))
    return render(request, "ap/tolerances.html", {
        "rows": list(ApTolerance.objects.all()), "history": ap_tolerance_history(), "kinds": ToleranceKind.choices,
        "can_edit": can_edit_tolerances(request.user), "error": error}, status=422 if error else 200)
