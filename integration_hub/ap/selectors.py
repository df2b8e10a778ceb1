"""Reads of accounts payable: who sees which invoice, and the numbers the dashboard shows."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from exceptions.models import AP_TYPES, CATALOGUE, ExceptionStatus, SyncException
from exceptions.permissions import queue_has_perm, queues_for
from integration_hub.ap.models import VendorInvoice, VendorInvoiceStatus

AP_QUEUES = frozenset(CATALOGUE[code].queue_slug for code in AP_TYPES)


def is_ap_user(user: Any) -> bool:
    """Staff, and members of an accounts-payable queue (procurement, receiving, warehouse, AP …)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_staff or user.is_superuser or queues_for(user=user, perm="view").filter(
        slug__in=AP_QUEUES).exists())


def invoices_visible(*, user: Any) -> QuerySet[VendorInvoice]:
    """Every invoice for the people of accounts payable, none for anyone else (they get 404)."""
    return VendorInvoice.objects.all() if is_ap_user(user) else VendorInvoice.objects.none()


def can_upload(user: Any) -> bool:
    return is_ap_user(user) or bool(getattr(user, "is_authenticated", False)
                                    and user.has_perm("ap.upload_vendorinvoice"))


def can_edit_tolerances(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active
                and (user.is_superuser or user.has_perm("ap.change_aptolerance")))


def can_work_exception(*, user: Any, exception: SyncException) -> bool:
    return queue_has_perm(user=user, queue=exception.queue, perm="work")


def open_exception_types(invoice: VendorInvoice) -> list[str]:
    return sorted(set(invoice.exceptions.filter(status=ExceptionStatus.OPEN).values_list("type_code", flat=True)))


def invoice_list(*, user: Any, status: str = "") -> QuerySet[VendorInvoice]:
    qs = invoices_visible(user=user).annotate(
        open_exceptions=Count("exceptions", filter=Q(exceptions__status=ExceptionStatus.OPEN)))
    if status in VendorInvoiceStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def three_way_match_rate(*, since: Any = None) -> tuple[int, int]:
    """(posted with no exception ever, matched at all): invoices received since `since` that went
    through a match (posted, held or rejected), and those of them SAP got with no person involved."""
    qs = VendorInvoice.objects.filter(status__in=[VendorInvoiceStatus.POSTED, VendorInvoiceStatus.HELD,
                                                  VendorInvoiceStatus.REJECTED])
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    matched = qs.count()
    auto = qs.filter(status=VendorInvoiceStatus.POSTED).exclude(
        pk__in=SyncException.objects.filter(vendor_invoice__isnull=False).values("vendor_invoice")).count()
    return auto, matched
