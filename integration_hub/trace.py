"""One trace for any business key: what happened to a deal across Salesforce, the hub and SAP.

Both the screen (`/trace/`) and the API (`/api/v1/trace/`) call `trace_for`; every decision —
what a search means, who sees what, where an entry sits in time — is made once, here.

What a search means, in this order (the first that matches wins, and the trace says which):
1. `H-42` (or `h42`) is always a handoff id.
2. A 15- or 18-character Salesforce id (compared in its 18-character form): an Opportunity the hub
   received, else an Outbound Message notification id.
3. Anything else the hub knows locally, exactly: an SAP sales order number a handoff carries, an
   invoice number the hub wrote back to Salesforce, a business partner a deal was mapped to.
4. Digits alone: a handoff id (`42`). SAP's numbers are long (orders 7, documents 8–10 digits),
   so a short number the hub has as neither is a handoff; `H-42` says so without doubt.
5. Asked of SAP through the ERP port (a key of at most 10 characters): an outbound delivery or a
   billing document, then a sales order. This is how an invoice number found nowhere locally
   is traced.
A customer (business partner) with more than one deal, or any key shared by several deals,
answers with the list of deals, each linking to its own trace.

Who sees what: the trace is for the people who may look at handoffs (staff and queue members,
`user_is_integration_user`), and of those deals only the ones they may open
(`selectors.handoffs_visible`, as the handoff API); anything else is told nothing matches. An
exception in a queue the person may not view (`exceptions.permissions.queue_has_perm`, the rule
of the triage list and detail) shows that it exists — its type, status and time — never its
title, message or link; an approval the person may not see (`approvals.selectors.approvals_visible`)
likewise. Sync attempts show method, URL path, status, duration and error; their (redacted)
bodies only when asked for, to the people the handoff API shows them to.

Time: SAP dates deliveries, invoices and payments by day only, so the hub places such a document
where it learnt of it: just before the first status write to Salesforce, from that day on, that
shows its effect (delivered, invoiced, paid) — the poll that read it. When no write shows it yet,
after everything else recorded that day. Never before its day, nor before the hub wrote the order
back (an order's documents cannot precede the order). Documents at the same place go delivery →
invoice → cancellation → payment; the timeline shows them with their day, not a time. The SAP side is read live; when SAP cannot be read the trace shows the hub's side and
says so. Calls made for the trace are sync attempts of no handoff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib.auth.models import AnonymousUser, User
from django.urls import reverse

from approvals.models import Approval, ApprovalStatus
from approvals.selectors import approvals_visible
from exceptions.models import CATALOGUE, RECONCILIATION_TYPES, ExceptionStatus
from exceptions.permissions import queue_has_perm
from integration_hub import ports
from integration_hub.erp.base import DOCUMENT_KINDS, ErpDocument
from integration_hub.errors import HubError, InvalidSalesforceId, NotFound, TraceNotFound, TraceQueryInvalid
from integration_hub.models import (
    ErpStatusWrite,
    Handoff,
    HandoffStatus,
    OutboundNotification,
    salesforce_id_18,
)
from integration_hub.recording import working_on
from integration_hub.selectors import handoffs_visible, user_is_integration_user

Viewer = User | AnonymousUser

MAX_QUERY = 40
SAP_KEY_MAX = 10  # SAP document numbers are at most 10 characters
HANDOFF_ID_MAX = 6  # digits: longer numbers are SAP's, never read as a handoff id without "H-"
TIMELINE_LIMIT = 1000
_KEY = re.compile(r"[A-Za-z0-9-]+")
_HANDOFF = re.compile(r"[Hh]-?(\d{1,12})")

HELP = ("Enter an Opportunity id, an SAP sales order, delivery, invoice or business partner number, "
        "an Outbound Message notification id, or a handoff id such as H-42.")

KIND_LABELS = {
    "handoff": "handoff id", "opportunity": "Opportunity id", "notification": "Outbound Message notification id",
    "sales_order": "SAP sales order", "invoice": "SAP invoice (billing document)",
    "cancellation": "SAP invoice cancellation", "delivery": "SAP outbound delivery",
    "business_partner": "SAP business partner",
}
SYSTEMS = ("salesforce", "hub", "sap")


@dataclass(frozen=True)
class Match:
    kind: str  # a key of KIND_LABELS
    value: str
    via: str = "hub"  # "hub": found locally; "sap": found by asking SAP

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass
class TraceEntry:
    at: datetime  # where the entry sits in time (for a day-only entry, the start of its day or later)
    system: str  # one of SYSTEMS
    kind: str
    title: str
    detail: str = ""
    link: str = ""
    actor: str = ""
    status: str = ""  # "ok" | "failed" | "open" | "resolved" | … for the row's look
    duration_ms: float | None = None
    day_only: bool = False  # SAP gave the day, not the moment
    day: date | None = None
    hidden: bool = False  # exists, but its content is not for this person
    data: dict[str, Any] = field(default_factory=dict)
    rank: int = 0  # order among entries at the same instant

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.day.isoformat() if self.day_only and self.day else self.at.isoformat(),
            "day_only": self.day_only, "system": self.system, "kind": self.kind, "title": self.title,
            "detail": self.detail, "link": self.link, "actor": self.actor, "status": self.status,
            "duration_ms": self.duration_ms, "hidden": self.hidden, **({"data": self.data} if self.data else {}),
        }


@dataclass
class Trace:
    query: str
    match: Match
    handoffs: list[dict[str, Any]]  # the deals the key stands for (one, or the list to pick from)
    deal: dict[str, Any] | None = None  # the one deal traced; None when the key stands for several
    timeline: list[TraceEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "SAP could not be read: …"
    sap_order: str = ""

    @property
    def is_list(self) -> bool:
        return self.deal is None and bool(self.handoffs)

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "matched": {"kind": self.match.kind, "value": self.match.value,
                                                 "label": self.match.label, "via": self.match.via},
                "handoffs": self.handoffs, "sap_order": self.sap_order, "notes": self.notes,
                "timeline": [entry.to_json() for entry in self.timeline]}


@dataclass
class _Resolution:
    match: Match
    handoffs: list[Handoff]
    sap_order: str = ""
    notes: list[str] = field(default_factory=list)


# -- what a search means -------------------------------------------------------------------------
def trace_query_clean(query: str | None) -> str:
    """The search as a key, or TraceQueryInvalid saying what is wrong with it."""
    value = (query or "").strip()
    if not value:
        raise TraceQueryInvalid(f"Nothing to trace. {HELP}")
    if len(value) > MAX_QUERY:
        raise TraceQueryInvalid(f"That is {len(value)} characters; no business key is longer than {MAX_QUERY}. {HELP}")
    if not _KEY.fullmatch(value):
        raise TraceQueryInvalid(f"Keys are letters, digits and dashes only. {HELP}")
    return value


def trace_url(query: str) -> str:
    return f"{reverse('trace:trace')}?{urlencode({'q': query})}"


def _number_forms(value: str) -> list[str]:
    """SAP pads numbers with zeros to 10 digits in some places and not in others: both forms."""
    if not value.isdigit():
        return [value]
    bare = value.lstrip("0") or "0"
    return sorted({value, bare, bare.zfill(10)})


def _handoffs(qs: Any) -> list[Handoff]:
    return list(qs.order_by("-created_at", "-pk")[:200])


def _resolve(query: str) -> _Resolution | None:
    handoff_id = _HANDOFF.fullmatch(query)
    if handoff_id:
        found = _handoffs(Handoff.objects.filter(pk=int(handoff_id.group(1))))
        return _Resolution(Match("handoff", f"H-{handoff_id.group(1)}"), found) if found else None
    if len(query) in (15, 18) and not query.isdigit():
        try:
            canonical = salesforce_id_18(query)
        except InvalidSalesforceId:
            canonical = ""
        if canonical:
            found = _handoffs(Handoff.objects.filter(opportunity_id=canonical))
            if found:
                return _Resolution(Match("opportunity", canonical), found)
        # Notification ids are kept as Salesforce sent them: the exact text, or either form of it.
        notification_forms = {query, canonical, canonical[:15]} - {""}
        notification = (OutboundNotification.objects.select_related("handoff")
                        .filter(notification_id__in=notification_forms).first())
        if notification is not None:
            return _Resolution(Match("notification", notification.notification_id), [notification.handoff])
    forms = _number_forms(query)
    found = _handoffs(Handoff.objects.filter(sap_sales_order__in=forms))
    if found:
        return _Resolution(Match("sales_order", found[0].sap_sales_order), found, sap_order=found[0].sap_sales_order)
    written = set(ErpStatusWrite.objects.filter(kind="deal", view__invoice_number__in=forms)
                  .values_list("handoff_id", flat=True))
    found = _handoffs(Handoff.objects.filter(pk__in=written) | Handoff.objects.filter(
        erp_status__deal__invoice_number__in=forms))
    if found:
        return _Resolution(Match("invoice", query), found)
    found = _handoffs(Handoff.objects.filter(canonical__organization__sap_business_partner__in=forms))
    if found:
        return _Resolution(Match("business_partner", query), found)
    if query.isdigit() and len(query) <= HANDOFF_ID_MAX:
        found = _handoffs(Handoff.objects.filter(pk=int(query)))
        if found:
            return _Resolution(Match("handoff", f"H-{int(query)}"), found)
    if len(query) <= SAP_KEY_MAX:
        return _resolve_in_sap(query)
    return None


def _resolve_in_sap(query: str) -> _Resolution | None:
    """A delivery, billing document or sales order the hub does not know locally, asked of SAP."""
    erp = ports.erp_for(ports.DEFAULT_ERP_TARGET)
    try:
        with working_on(None):
            document = erp.document_find(query)
            if document is not None:
                found = _handoffs(Handoff.objects.filter(sap_sales_order__in=_number_forms(document.order)))
                return _Resolution(Match(document.kind, document.number, via="sap"), found, sap_order=document.order)
            try:
                order = erp.order_get(query)
            except NotFound:
                return None
    except HubError as error:
        raise TraceNotFound(f"Nothing in the hub matches “{query}”, and SAP could not be read to look further: "
                            f"{error}") from error
    found = _handoffs(Handoff.objects.filter(opportunity_id=order.deal_key)) if order.deal_key else []
    return _Resolution(Match("sales_order", order.number, via="sap"), found, sap_order=order.number)


# -- the deal -----------------------------------------------------------------------------------
def deal_summary(handoff: Handoff) -> dict[str, Any]:
    """What the header (and the list of a customer's deals) shows of one handoff."""
    canonical = handoff.canonical or {}
    organization = canonical.get("organization") or {}
    written = (handoff.erp_status or {}).get("deal") or {}
    return {
        "id": handoff.pk, "ref": f"H-{handoff.pk}", "opportunity_id": handoff.opportunity_id,
        "name": canonical.get("name", ""), "customer": organization.get("name", ""),
        "business_partner": organization.get("sap_business_partner", ""),
        "amount": canonical.get("amount"), "currency": canonical.get("currency", ""),
        "amount_display": _money(_decimal(canonical.get("amount")), str(canonical.get("currency") or "")),
        "closed": canonical.get("closed_date", ""), "status": handoff.status,
        "status_label": handoff.get_status_display(), "sap_sales_order": handoff.sap_sales_order,
        "erp_target": handoff.erp_target, "erp_status": written, "created_at": handoff.created_at.isoformat(),
        "trace": trace_url(f"H-{handoff.pk}"), "api": reverse("api:handoff-detail", args=[handoff.pk]),
    }


def _money(amount: Decimal | None, currency: str) -> str:
    return f"{amount:,.2f} {currency}".strip() if amount is not None else ""


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except ArithmeticError:
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# -- the timeline ---------------------------------------------------------------------------------
def _handoff_entries(handoff: Handoff) -> list[TraceEntry]:
    entries = []
    labels = dict(HandoffStatus.choices)
    for event in handoff.events.select_related("actor"):
        if not event.from_status:
            title = "Received" if event.to_status == HandoffStatus.RECEIVED else \
                f"Received ({labels.get(event.to_status, event.to_status)})"
        elif event.from_status == event.to_status:
            title = labels.get(event.to_status, event.to_status)
        else:
            title = f"{labels.get(event.from_status, event.from_status)} → {labels.get(event.to_status, event.to_status)}"
        entries.append(TraceEntry(at=event.created_at, system="hub", kind="status", title=title, detail=event.reason,
                                  actor=event.actor_display, status=event.to_status))
    for notification in handoff.notifications.all():
        entries.append(TraceEntry(at=notification.received_at, system="salesforce", kind="notification",
                                  title=f"Outbound Message notification {notification.notification_id} received",
                                  detail=f"Opportunity {notification.opportunity_id}"))
    for write in handoff.erp_status_writes.all():
        record = "Opportunity" if write.kind == "deal" else "Account"
        view = write.view or {}
        if write.kind == "deal":
            shown = [f"order {view.get('order_status', '')}", str(view.get("delivery_status", "")),
                     f"invoice {view.get('invoice_number') or '—'} {view.get('invoice_status', '')}",
                     f"invoiced {_money(_decimal(view.get('amount_invoiced')) or Decimal(0), '')}",
                     f"paid {_money(_decimal(view.get('amount_paid')) or Decimal(0), '')}"]
        else:
            shown = [f"credit {view.get('credit_status', '')}",
                     f"open AR {_money(_decimal(view.get('open_ar')) or Decimal(0), '')}",
                     f"{view.get('days_past_due', 0)} days past due"]
        entries.append(TraceEntry(
            at=write.created_at, system="salesforce", kind="erp_status_write",
            title=f"SAP status written to the {record} {write.record_id}" if write.written
            else f"Salesforce refused the SAP status for the {record} {write.record_id}",
            detail=" · ".join(shown) if write.written else write.message, status="ok" if write.written else "failed",
            data={"record": write.kind, "values": view},
        ))
    return entries


def _attempt_entries(handoff: Handoff, *, user: Viewer, bodies: bool) -> list[TraceEntry]:
    entries = []
    # The handoff API's rule: whoever may read handoffs reads their (redacted) calls whole.
    bodies = bodies and user_is_integration_user(user=user)
    staff = bool(user.is_authenticated and user.is_staff)
    for attempt in handoff.sync_attempts.all():
        path = urlsplit(attempt.url).path
        outcome = str(attempt.status_code or attempt.error_class or "no answer")
        data: dict[str, Any] = {"method": attempt.method, "path": path, "status_code": attempt.status_code,
                                "error_class": attempt.error_class, "error_message": attempt.error_message,
                                "healing": list(attempt.healing or [])}
        if bodies:
            data.update(request=attempt.request, response=attempt.response)
        detail = f"{attempt.method} {path} → {outcome}"
        if attempt.error_class:
            detail += f" · {attempt.error_class}: {attempt.error_message}"
        entries.append(TraceEntry(
            at=attempt.created_at, system=attempt.system if attempt.system in SYSTEMS else "hub", kind="sync_attempt",
            title=attempt.operation, detail=detail, status="ok" if attempt.ok else "failed",
            duration_ms=attempt.duration_ms, data=data,
            link=reverse("admin:integration_hub_syncattempt_change", args=[attempt.pk]) if staff else "",
        ))
    return entries


def _exception_entries(handoff: Handoff, *, user: Viewer) -> list[TraceEntry]:
    entries = []
    for exception in handoff.exceptions.select_related("queue").prefetch_related("events__actor"):
        label = CATALOGUE[exception.type_code].label if exception.type_code in CATALOGUE else exception.type_code
        kind = "reconciliation" if exception.type_code in RECONCILIATION_TYPES else "exception"
        visible = queue_has_perm(user=user, queue=exception.queue, perm="view")
        link = reverse("exceptions:detail", args=[exception.pk]) if visible else ""
        events = list(exception.events.all())
        if not any(not e.from_status for e in events):  # rows older than the opening event
            entries.append(TraceEntry(at=exception.first_seen, system="hub", kind=kind, status="open",
                                      title=f"{label} opened" + (f": {exception.title}" if visible else ""),
                                      link=link, hidden=not visible))
        for event in events:
            opened, closed = not event.from_status, event.to_status != ExceptionStatus.OPEN
            if not visible and not (opened or (closed and event.from_status == ExceptionStatus.OPEN)):
                continue  # what people did with it is its content
            if opened:
                title = f"{label} opened"
            elif closed and event.from_status == ExceptionStatus.OPEN:
                title = f"{label} {event.get_to_status_display().lower()}"
            else:
                title = f"{label}: {event.get_kind_display().lower()}"
            if visible:
                title += f": {exception.title}" if opened else ""
            entries.append(TraceEntry(
                at=event.created_at, system="hub", kind=kind, title=title,
                detail=event.reason if visible else f"in a queue you do not see ({exception.get_status_display()})",
                actor=(str(event.actor) if event.actor_id else event.actor_label) if visible else "",
                status=event.to_status, link=link, hidden=not visible,
            ))
    return entries


def _approval_entries(handoff: Handoff, *, user: Viewer) -> list[TraceEntry]:
    approval = Approval.objects.filter(handoff=handoff).first()
    if approval is None:
        return []
    visible = bool(user.is_authenticated and (user.is_staff or approvals_visible(user).filter(pk=approval.pk).exists()))
    labels = dict(ApprovalStatus.choices)
    link = reverse("approvals:detail", args=[approval.pk]) if visible else ""
    entries = []
    for event in approval.events.select_related("actor"):
        change = labels.get(event.to_status, event.to_status)
        if event.from_status:
            change = f"{labels.get(event.from_status, event.from_status)} → {change}"
        entries.append(TraceEntry(
            at=event.created_at, system="hub", kind="approval",
            title=f"Approval ({approval.get_level_display().lower()} risk): {change}",
            detail=event.reason if visible else "details are for its approvers",
            actor=event.actor_display if visible else "",
            status=event.to_status, link=link, hidden=not visible,
        ))
    return entries


def _shows(view: dict[str, Any], kind: str) -> bool:
    """Whether a deal status write carries the effect of a document of this kind."""
    if kind == "delivery":
        return view.get("delivery_status") not in (None, "", "Not Delivered")
    if kind == "payment":
        return Decimal(str(view.get("amount_paid") or "0")) > 0
    return view.get("invoice_status") not in (None, "", "Not Invoiced")


def _placed(document: ErpDocument, *, anchor: datetime | None, known: list[TraceEntry]) -> datetime:
    """Where a day-dated document sits among the hub's timed entries (see the module docstring)."""
    earliest = _start_of(document.on) if document.on else datetime.min.replace(tzinfo=UTC)
    if anchor is not None and earliest < anchor:
        earliest = anchor
    for entry in known:  # in time order
        if entry.kind == "erp_status_write" and entry.data.get("record") == "deal" and entry.at >= earliest \
                and _shows(entry.data.get("values") or {}, document.kind):
            return entry.at - timedelta(microseconds=1)
    same_day = [e.at for e in known if document.on is None or e.at.astimezone(UTC).date() == document.on]
    return max([earliest, *same_day])


def _document_entry(document: ErpDocument, *, at: datetime) -> TraceEntry:
    day = document.on
    money = _money(document.amount, document.currency)
    if document.kind == "delivery":
        title, detail = f"Delivered: outbound delivery {document.number}", f"{document.status} on {day or '—'}"
    elif document.kind == "invoice":
        title = f"Invoiced: billing document {document.number}"
        detail = f"{money} gross, billing date {day or '—'} · {document.status}"
    elif document.kind == "cancellation":
        title = f"Invoice {document.reference} cancelled by {document.number}"
        detail = f"{money}, on {day or '—'}"
    else:
        title = f"Paid: {money}" if document.status == "Paid" else f"Part paid: {money}"
        detail = f"clearing journal entry {document.number} on {day or '—'} · invoice {document.reference or '—'}"
    return TraceEntry(
        at=at, system="sap", kind=document.kind, title=title, detail=detail, day_only=True, day=day,
        status=document.status.lower().replace(" ", "_"), rank=1 + DOCUMENT_KINDS.index(document.kind),
        link=trace_url(document.number) if document.kind != "payment" else "",
        data={"number": document.number, "order": document.order, "amount": str(document.amount or ""),
              "currency": document.currency, "status": document.status, "reference": document.reference},
    )


def _written_back_at(handoff: Handoff | None) -> datetime | None:
    if handoff is None:
        return None
    events = {e.to_status: e.created_at for e in handoff.events.filter(
        to_status__in=[HandoffStatus.WRITTEN_BACK, HandoffStatus.CREATED]).order_by("-created_at")}
    return events.get(HandoffStatus.WRITTEN_BACK) or events.get(HandoffStatus.CREATED)


def _sap_entries(order: str, *, erp_target: str, anchor: datetime | None, known: list[TraceEntry],
                 notes: list[str]) -> list[TraceEntry]:
    try:
        erp = ports.erp_for(erp_target)
        with working_on(None):
            documents = erp.order_documents(order)
    except (HubError, LookupError) as error:
        notes.append(f"SAP could not be read: {error}. The hub's side is shown; SAP's documents are missing.")
        return []
    entries: list[TraceEntry] = []
    for document in documents:  # by day and kind: a document never sits before the one it follows
        at = _placed(document, anchor=anchor, known=known)
        if entries and at < entries[-1].at:
            at = entries[-1].at
        entries.append(_document_entry(document, at=at))
    return entries


def _timeline(handoff: Handoff | None, *, order: str, user: Viewer, bodies: bool,
              notes: list[str]) -> list[TraceEntry]:
    entries: list[TraceEntry] = []
    if handoff is not None:
        entries += _handoff_entries(handoff)
        entries += _attempt_entries(handoff, user=user, bodies=bodies)
        entries += _exception_entries(handoff, user=user)
        entries += _approval_entries(handoff, user=user)
    # sorted() is stable: entries of one instant and rank keep the order they were read in.
    entries.sort(key=lambda e: (e.at, e.rank))
    if order:
        entries += _sap_entries(order, erp_target=handoff.erp_target if handoff else ports.DEFAULT_ERP_TARGET,
                                anchor=_written_back_at(handoff), known=list(entries), notes=notes)
        entries.sort(key=lambda e: (e.at, e.rank))
    if len(entries) > TIMELINE_LIMIT:
        notes.append(f"Only the first {TIMELINE_LIMIT} of {len(entries)} entries are shown.")
        entries = entries[:TIMELINE_LIMIT]
    return entries


def trace_for(*, user: Viewer, query: str | None, bodies: bool = False) -> Trace:
    """The trace of whatever `query` names (see the module docstring), as `user` may see it.

    Raises TraceQueryInvalid for a search that is no key, TraceNotFound when nothing matches —
    including for anyone who may not look at handoffs, who learns nothing either way."""
    value = trace_query_clean(query)
    nothing = f"Nothing matches “{value}”. {HELP}"
    if not user_is_integration_user(user=user):
        raise TraceNotFound(nothing)
    resolution = _resolve(value)
    if resolution is None:
        raise TraceNotFound(nothing)
    # Deals the person may not open (selectors.handoffs_visible) are as good as absent.
    visible = set(handoffs_visible(user=user).filter(pk__in=[h.pk for h in resolution.handoffs])
                  .values_list("pk", flat=True))
    handoffs = [h for h in resolution.handoffs if h.pk in visible]
    if resolution.handoffs and not handoffs:
        raise TraceNotFound(nothing)
    trace = Trace(query=value, match=resolution.match, handoffs=[deal_summary(h) for h in handoffs],
                  notes=list(resolution.notes))
    if len(handoffs) > 1:
        trace.notes.append(f"{len(handoffs)} deals match this {resolution.match.label}: pick one to trace.")
        return trace
    handoff = handoffs[0] if handoffs else None
    trace.sap_order = (handoff.sap_sales_order if handoff is not None else "") or resolution.sap_order
    if handoff is None:
        trace.notes.append(f"SAP knows {resolution.match.label} {resolution.match.value}, but no deal in the hub "
                           f"carries its order {trace.sap_order}: only SAP's side is shown.")
    else:
        trace.deal = trace.handoffs[0]
        if resolution.sap_order and handoff.sap_sales_order and resolution.sap_order != handoff.sap_sales_order:
            trace.sap_order = resolution.sap_order
            trace.notes.append(f"The deal carries order {handoff.sap_sales_order}, but SAP's order "
                               f"{resolution.sap_order} names it: reconciliation looks into that.")
    if value.isdigit() and resolution.match.kind != "handoff" and len(value) <= HANDOFF_ID_MAX \
            and handoffs_visible(user=user).filter(pk=int(value)).exists():
        trace.notes.append(f"{value} is also a handoff id: search H-{int(value)} for that deal.")
    trace.timeline = _timeline(handoff, order=trace.sap_order, user=user, bodies=bodies, notes=trace.notes)
    return trace
