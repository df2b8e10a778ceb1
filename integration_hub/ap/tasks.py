"""Thin Celery tasks of accounts payable: an id in, one service, retries only for TransientError."""

from __future__ import annotations

import logging

from celery import shared_task

from integration_hub.ap.models import VendorInvoice, VendorInvoiceStatus
from integration_hub.ap.services import vendor_invoice_match
from integration_hub.errors import TransientError

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=5)
def vendor_invoice_rematch(self, invoice_id: int) -> str | None:
    """Match (again) one vendor invoice; a posted or rejected one is left alone by the service."""
    if not VendorInvoice.objects.filter(pk=invoice_id).exists():
        return None
    try:
        return vendor_invoice_match(invoice_id=invoice_id).status
    except TransientError as exc:
        raise self.retry(exc=exc, countdown=min(60.0, max(1.0, exc.retry_after or 2**self.request.retries))) from exc


@shared_task
def waiting_invoices_rematch(limit: int = 200) -> int:
    """Beat: invoices waiting for a goods receipt are matched again; the ones whose receipt arrived
    post. Returns how many were matched."""
    done = 0
    for pk in (VendorInvoice.objects.filter(status=VendorInvoiceStatus.HELD, waiting_for_receipt=True)
               .order_by("updated_at").values_list("pk", flat=True)[:limit]):
        try:
            vendor_invoice_match(invoice_id=pk)
            done += 1
        except TransientError as error:
            logger.info("vendor invoice %s not matched now (%s); the next sweep tries again", pk, error)
    return done
