"""Writes on typed exceptions. Each state change writes an `ExceptionEvent` in the same transaction.

Above routing (a new exception is routed here) and below escalation (whose sweep reassigns
through `exception_assign`); neither imports this module back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from exceptions.calendar import business_elapsed, calendar_for_queue
from exceptions.errors import ExceptionNotOpen
from exceptions.models import (
    CATALOGUE,
    NON_HOLDING_TYPES,
    EventKind,
    ExceptionEvent,
    ExceptionStatus,
    ExceptionType,
    Queue,
    SavedFilter,
    SyncException,
)
from exceptions.notifications import notify_assignment
from exceptions.permissions import queue_perms_forget
from exceptions.queues import queue_ensure
from exceptions.routing import exception_route
from integration_hub.dispatch import VENDOR_INVOICE_REMATCH, enqueue_on_commit
from integration_hub.models import Handoff, HandoffStatus
from integration_hub.services import handoff_rerun

if TYPE_CHECKING:
    from integration_hub.ap.models import VendorInvoice


def exception_fingerprint(*, type_code: str, identity: str) -> str:
    """`<type>:<identity>`; an identity already carrying the prefix is left alone."""
    prefix = f"{type_code}:"
    return identity if identity.startswith(prefix) else prefix + identity


@transaction.atomic
def exception_open(
    *,
    handoff: Handoff | None = None,
    vendor_invoice: VendorInvoice | None = None,
    type_code: str,
    fingerprint: str,
    title: str,
    message: str,
    evidence: dict[str, Any] | None = None,
    priority: int | None = None,
    actor_label: str = "worker",
    now: datetime | None = None,
) -> SyncException:
    """Open a typed exception, or refresh the open one for the same defect.

    `fingerprint` is the defect's identity (e.g. the CRM product code); it is stored prefixed
    with the type code. A re-run seeing the same defect bumps `occurrences`, `last_seen` and the
    evidence of the open row instead of adding one. New exceptions land in the catalogue queue.
    Moving the handoff to `blocked` is the caller's (the pipeline's) decision. The routing
    rules then decide queue, priority and assignee (exceptions.routing), with the handoff's
    canonical record when it is already saved and again in `exception_enrich` once it is.

    Accounts payable passes `vendor_invoice` instead of `handoff` (exactly one of them); the
    invoice's facts (amount, currency, supplier) then come from `evidence`.
    """
    if (handoff is None) == (vendor_invoice is None):
        raise ValueError("an exception is about exactly one handoff or one vendor invoice")
    if type_code not in ExceptionType.values:
        raise ValueError(
            f"unknown exception type {type_code!r}; expected one of {', '.join(ExceptionType.values)}"
        )
    entry = CATALOGUE[type_code]
    fingerprint = exception_fingerprint(type_code=type_code, identity=fingerprint)
    now = now or timezone.now()

    def _refresh(existing: SyncException) -> SyncException:
        existing.occurrences += 1
        existing.last_seen = now
        existing.title = title
        existing.message = message
        existing.evidence = evidence or {}
        if priority is not None:
            existing.priority = priority
        existing.save(update_fields=["occurrences", "last_seen", "title", "message", "evidence", "priority"])
        ExceptionEvent.objects.create(
            exception=existing,
            actor_label=actor_label,
            from_status=ExceptionStatus.OPEN,
            to_status=ExceptionStatus.OPEN,
            reason=f"seen again (occurrence {existing.occurrences})",
        )
        transaction.on_commit(lambda: exception_enrich(exception_id=existing.pk))
        return existing

    subject: dict[str, Any] = {"handoff": handoff} if handoff is not None else {"vendor_invoice": vendor_invoice}
    open_qs = SyncException.objects.select_for_update().filter(
        **subject, fingerprint=fingerprint, status=ExceptionStatus.OPEN
    )
    existing = open_qs.first()
    if existing is not None:
        return _refresh(existing)
    try:
        # Savepoint: the partial unique index decides a race between two workers.
        with transaction.atomic():
            created = SyncException.objects.create(
                **subject,
                type_code=type_code,
                queue=queue_ensure(slug=entry.queue_slug),
                priority=entry.priority if priority is None else priority,
                title=title,
                message=message,
                evidence=evidence or {},
                fingerprint=fingerprint,
                first_seen=now,
                last_seen=now,
            )
    except IntegrityError:
        return _refresh(open_qs.get())
    # The pipeline saves the handoff's canonical record later in this same transaction.
    transaction.on_commit(lambda: exception_enrich(exception_id=created.pk))
    ExceptionEvent.objects.create(
        exception=created,
        actor_label=actor_label,
        from_status="",
        to_status=ExceptionStatus.OPEN,
        reason=f"{entry.label}: {title}",
    )
    exception_route(exception=created, canonical=(handoff.canonical or {}) if handoff is not None else {},
                    reason="raised",
                    set_priority=priority is None)
    return created


def _close(
    *, exception: SyncException, to_status: str, actor: User | None, note: str, follow_up: bool = True
) -> SyncException:
    locked = SyncException.objects.select_for_update().get(pk=exception.pk)
    if locked.status != ExceptionStatus.OPEN:
        raise ExceptionNotOpen(f"exception {locked.pk} is {locked.status}, not open")
    locked.status = to_status
    locked.resolved_by = actor
    locked.resolved_at = timezone.now()
    locked.resolution_note = note
    locked.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note"])
    ExceptionEvent.objects.create(
        exception=locked,
        actor=actor,
        actor_label="" if actor else "system",
        from_status=ExceptionStatus.OPEN,
        to_status=to_status,
        reason=note,
    )
    if locked.handoff_id is not None:
        _unblock_if_clear(handoff_id=locked.handoff_id, actor=actor)
    elif follow_up:
        # A vendor invoice matches again once this commits (accounts payable decides what follows);
        # the match itself closes what it no longer finds without asking for another match.
        enqueue_on_commit(VENDOR_INVOICE_REMATCH, locked.vendor_invoice_id)
    return locked


def _unblock_if_clear(*, handoff_id: int, actor: User | None) -> None:
    # Lock the handoff first so two people closing its last two exceptions agree on "last".
    handoff = Handoff.objects.select_for_update().get(pk=handoff_id)
    if handoff.status != HandoffStatus.BLOCKED:
        return
    if handoff.exceptions.filter(status=ExceptionStatus.OPEN).exclude(type_code__in=NON_HOLDING_TYPES).exists():
        return
    handoff_rerun(handoff=handoff, actor=actor, actor_label="" if actor else "system",
                  reason="last open exception closed; validating again")


@transaction.atomic
def exception_resolve(
    *, exception: SyncException, actor: User | None, note: str, follow_up: bool = True
) -> SyncException:
    """Mark an open exception resolved; the last one closed sends a blocked handoff back to validation
    (a vendor invoice's is matched again, unless `follow_up` is False: the match closing it itself)."""
    return _close(exception=exception, to_status=ExceptionStatus.RESOLVED, actor=actor, note=note,
                  follow_up=follow_up)


@transaction.atomic
def exception_dismiss(
    *, exception: SyncException, actor: User | None, note: str
) -> SyncException:
    """Dismiss an open exception (not a real defect); unblocks like a resolution does."""
    return _close(exception=exception, to_status=ExceptionStatus.DISMISSED, actor=actor, note=note)


# -- queues -------------------------------------------------------------------------------------
@transaction.atomic
def queue_member_add(*, queue: Queue, user: User, lead: bool = False) -> Queue:
    """Make `user` a member (view + work) or lead (+ administer) of `queue`, as guardian perms too."""
    queue.members.add(user)
    perms = ["view_queue", "work_queue"]
    if lead:
        queue.leads.add(user)
        perms.append("administer_queue")
    for perm in perms:
        assign_perm(f"exceptions.{perm}", user, queue)
    queue_perms_forget(user)
    return queue


@transaction.atomic
def queue_member_remove(*, queue: Queue, user: User, actor: User | None,
                        leads_only: bool = False) -> int:
    """Take `user` out of `queue` (or only out of its leads): membership and their own guardian
    grants go; their open exceptions there are unassigned (audited), since they can no longer work
    them. Grants through a group stay: groups are managed in the admin. Returns how many were unassigned."""
    queue.leads.remove(user)
    remove_perm("exceptions.administer_queue", user, queue)
    unassigned = 0
    if not leads_only:
        queue.members.remove(user)
        for perm in ("view_queue", "work_queue"):
            remove_perm(f"exceptions.{perm}", user, queue)
        for exception in SyncException.objects.filter(queue=queue, assignee=user, status=ExceptionStatus.OPEN):
            unassigned += int(exception_assign(exception=exception, assignee=None, actor=actor))
    queue_perms_forget(user)
    return unassigned


# -- deal facts -----------------------------------------------------------------------------------
def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


@transaction.atomic
def exception_enrich(*, exception_id: int) -> SyncException | None:
    """Copy the deal's facts (amount, customer, product, country) onto the exception.

    Runs after the pipeline's commit: the canonical record is saved in the same transaction
    that opens the exception, after it.
    """
    exception = (
        SyncException.objects.select_for_update(of=("self",)).select_related("handoff").filter(pk=exception_id).first()
    )
    if exception is None:
        return None
    if exception.handoff is None:
        return _invoice_exception_enrich(exception)
    canonical = exception.handoff.canonical or {}
    organization = canonical.get("organization") or {}
    ship_to = canonical.get("ship_to") or {}
    evidence = exception.evidence or {}
    codes = [str(line.get("product_code") or "") for line in canonical.get("lines") or []]
    exception.amount = _decimal(canonical.get("amount"))
    exception.currency = str(organization.get("currency") or canonical.get("currency") or "")[:3]
    exception.customer_name = str(organization.get("name") or evidence.get("account_name") or "")[:255]
    exception.product_code = str(evidence.get("product_code") or ",".join(c for c in codes if c))[:100]
    exception.country = str(ship_to.get("country") or "")[:2].upper()
    variance, exposure = _decimal(evidence.get("variance_percent")), _decimal(evidence.get("exposure"))
    # Out of the columns' range is no number a person decides on: left empty rather than a crash.
    exception.variance_pct = variance if variance is not None and abs(variance) < 10**6 else None
    exception.exposure = exposure if exposure is not None and abs(exposure) < 10**13 else None
    exception.save(update_fields=["amount", "currency", "customer_name", "product_code", "country",
                                  "variance_pct", "exposure"])
    if exception.status == ExceptionStatus.OPEN and exception.assignee_id is None:
        # Priority only while nobody (an escalation, a person) has touched it since it was raised.
        untouched = exception.occurrences == 1 and not exception.escalation_steps.exists()
        exception_route(exception=exception, canonical=canonical, reason="deal facts known",
                        set_priority=untouched)
    return exception


def _invoice_exception_enrich(exception: SyncException) -> SyncException:
    """A vendor invoice's exception: its facts come with the evidence (accounts payable writes them)."""
    evidence = exception.evidence or {}
    exception.amount = _decimal(evidence.get("amount"))
    exception.currency = str(evidence.get("currency") or "")[:3]
    exception.customer_name = str(evidence.get("supplier_name") or evidence.get("supplier") or "")[:255]
    exception.product_code = str(evidence.get("material") or "")[:100]
    variance, exposure = _decimal(evidence.get("variance_percent")), _decimal(evidence.get("exposure"))
    exception.variance_pct = variance if variance is not None and abs(variance) < 10**6 else None
    exception.exposure = exposure if exposure is not None and abs(exposure) < 10**13 else None
    exception.save(update_fields=["amount", "currency", "customer_name", "product_code", "variance_pct", "exposure"])
    if exception.status == ExceptionStatus.OPEN and exception.assignee_id is None:
        untouched = exception.occurrences == 1 and not exception.escalation_steps.exists()
        exception_route(exception=exception, canonical={}, reason="invoice facts known", set_priority=untouched)
    return exception


# -- working an exception -------------------------------------------------------------------------
def exception_note(
    exception: SyncException, *, actor: User | None, kind: str, reason: str,
    actor_label: str = "", **data: Any
) -> ExceptionEvent:
    """The audit row of a change that keeps the status (assign, comment, tags, a resolution
    path's action). Runs inside the caller's transaction; `data` is kept on the event."""
    return ExceptionEvent.objects.create(
        exception=exception,
        actor=actor,
        actor_label=actor_label or ("" if actor else "system"),
        kind=kind,
        from_status=exception.status,
        to_status=exception.status,
        reason=reason,
        data=data,
    )


@transaction.atomic
def exception_assign(
    *, exception: SyncException, assignee: User | None, actor: User | None,
    actor_label: str = "", now: datetime | None = None,
) -> bool:
    """Give the exception to `assignee` (None: unassign) and tell them. Returns False when nothing
    changed, so a repeated bulk assignment writes no second audit row.

    Whether `assignee` may have it (exceptions.permissions.can_be_assigned) is the channel's
    question, asked before: each answers a refusal its own way (404, 400, a failed bulk item).
    `actor_label` names an actor that is no person (the escalation sweep)."""
    locked = SyncException.objects.select_for_update().get(pk=exception.pk)
    new_id = assignee.pk if assignee is not None else None
    if locked.assignee_id == new_id:
        return False
    before = str(locked.assignee) if locked.assignee_id else "nobody"
    locked.assignee_id = new_id
    locked.save(update_fields=["assignee"])
    exception.assignee_id = new_id
    exception_note(locked, actor=actor, actor_label=actor_label, kind=EventKind.ASSIGN,
          reason=f"assigned to {assignee or 'nobody'} (was {before})", assignee=new_id)
    notify_assignment(exception=locked, actor=actor, now=now)
    return True


@transaction.atomic
def exception_comment(*, exception: SyncException, actor: User | None, body: str) -> ExceptionEvent:
    body = (body or "").strip()
    if not body:
        raise ValueError("a comment needs some text")
    return exception_note(exception, actor=actor, kind=EventKind.COMMENT, reason=body)


def clean_tags(raw: str | list[str]) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    return sorted({t.strip().lower()[:40] for t in items if t and t.strip()})


@transaction.atomic
def exception_tags_set(
    *, exception: SyncException, actor: User | None, tags: str | list[str]
) -> bool:
    locked = SyncException.objects.select_for_update().get(pk=exception.pk)
    cleaned = clean_tags(tags)
    if cleaned == sorted(locked.tags or []):
        return False
    locked.tags = cleaned
    locked.save(update_fields=["tags"])
    exception.tags = cleaned
    exception_note(locked, actor=actor, kind=EventKind.TAGS, reason=f"tags: {', '.join(cleaned) or '(none)'}", tags=cleaned)
    return True


@transaction.atomic
def exception_snooze(
    *, exception: SyncException, actor: User | None, until: datetime | None
) -> bool:
    """Hide an open exception from the default list until `until` (None: wake it now)."""
    locked = SyncException.objects.select_for_update().get(pk=exception.pk)
    if locked.status != ExceptionStatus.OPEN:
        raise ExceptionNotOpen(f"exception {locked.pk} is {locked.status}, not open")
    if locked.snoozed_until == until:
        return False
    locked.snoozed_until = until
    locked.save(update_fields=["snoozed_until"])
    exception.snoozed_until = until
    exception_note(locked, actor=actor, kind=EventKind.SNOOZE,
          reason=f"snoozed until {until:%Y-%m-%d %H:%M %Z}" if until else "woken up",
          until=until.isoformat() if until else None)
    return True


# -- waiting on someone outside (pauses escalation timers) ---------------------------------------------
@transaction.atomic
def exception_wait(
    *, exception: SyncException, actor: User | None, on: str, now: datetime | None = None
) -> bool:
    """Mark an open exception as waiting on someone outside the team: its timers stop."""
    locked = SyncException.objects.select_for_update().get(pk=exception.pk)
    if locked.status != ExceptionStatus.OPEN:
        raise ExceptionNotOpen(f"exception {locked.pk} is {locked.status}, not open")
    if locked.waiting_since is not None:
        return False
    locked.waiting_since = now or timezone.now()
    locked.waiting_on = (on or "someone outside").strip()[:200]
    locked.save(update_fields=["waiting_since", "waiting_on"])
    exception.waiting_since, exception.waiting_on = locked.waiting_since, locked.waiting_on
    exception_note(locked, actor=actor, kind=EventKind.WAITING, reason=f"waiting on {locked.waiting_on}; timers paused")
    return True


@transaction.atomic
def exception_unwait(
    *, exception: SyncException, actor: User | None, now: datetime | None = None
) -> bool:
    """End the wait: the paused business time is kept aside so the timers resume where they stopped."""
    locked = SyncException.objects.select_for_update().select_related("queue").get(pk=exception.pk)
    if locked.waiting_since is None:
        return False
    now = now or timezone.now()
    paused = business_elapsed(calendar_for_queue(locked.queue), locked.waiting_since, now)
    locked.paused_seconds = (locked.paused_seconds or 0) + paused.total_seconds()
    locked.waiting_since = None
    locked.save(update_fields=["waiting_since", "paused_seconds"])
    exception.waiting_since, exception.paused_seconds = None, locked.paused_seconds
    exception_note(locked, actor=actor, kind=EventKind.WAITING,
          reason=f"no longer waiting on {locked.waiting_on or 'outside'}; timers resume")
    return True


@transaction.atomic
def saved_filter_save(*, user: User, queue: Queue, name: str, query: str) -> SavedFilter:
    """Keep the list's current filter under a name (saving the same name again replaces it)."""
    name = name.strip()[:80]
    if not name:
        raise ValueError("give the filter a name")
    # Only the list's own parameters; a cursor or a stray parameter would make the link stale.
    allowed = {"type", "status", "age", "customer", "product", "amount_min", "amount_max", "assignee", "tag",
               "cause", "sort"}
    clean = urlencode([(k, v) for k, v in parse_qsl(query) if k in allowed and v])
    saved, _ = SavedFilter.objects.update_or_create(user=user, queue=queue, name=name, defaults={"query": clean})
    return saved


@transaction.atomic
def saved_filter_delete(*, user: User, pk: int) -> None:
    SavedFilter.objects.filter(user=user, pk=pk).delete()
