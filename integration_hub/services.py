"""Writes on handoffs, sync attempts and transformation logs.

Every state change writes a `HandoffEvent` in the same transaction; work is enqueued only after
commit, so a worker never wakes up to a row it cannot see.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from integration_hub.canonical import Derivation
from integration_hub.connectors.base import CallRecord, redact, redact_text
from integration_hub.dispatch import PROCESS_HANDOFF, RECONCILIATION_RUN, enqueue_on_commit
from integration_hub.models import (
    ALLOWED_TRANSITIONS,
    RECONCILIATION_ACTIVE,
    WORKABLE_STATUSES,
    ErpStatusWatermark,
    ErpStatusWrite,
    Handoff,
    HandoffEvent,
    HandoffSource,
    HandoffStatus,
    OutboundNotification,
    PollWatermark,
    ReconciliationRun,
    ReconciliationStatus,
    SyncAttempt,
    TransformationLog,
    salesforce_id_18,
    transition_error,
)
from integration_hub.statements import handoff_insert_statement, handoff_move_statement, plain_column

logger = logging.getLogger(__name__)
W = TypeVar("W", bound=Model)


def handoff_enqueue(*, handoff_id: int, countdown: float | None = None) -> None:
    """Wake a worker for this handoff once the current transaction commits."""
    enqueue_on_commit(PROCESS_HANDOFF, handoff_id, countdown=countdown)


def handoffs_unpark(*, erp_target: str, prefix: str) -> int:
    """Wake the handoffs the circuit breaker parked (their `last_error` starts with `prefix`)
    once their ERP answers again; returns how many."""
    now = timezone.now()
    ids = list(Handoff.objects.filter(erp_target=erp_target, status__in=WORKABLE_STATUSES,
                                      last_error__startswith=prefix).values_list("pk", flat=True))
    Handoff.objects.filter(pk__in=ids).update(next_attempt_at=now, updated_at=now)
    for handoff_id in ids:
        handoff_enqueue(handoff_id=handoff_id)
    return len(ids)


@transaction.atomic
def handoff_rerun(
    *,
    handoff: Handoff,
    to_status: str = HandoffStatus.VALIDATING,
    actor: User | None = None,
    actor_label: str = "",
    reason: str,
) -> Handoff:
    """Send a deal through the pipeline again: from validation (an exception was resolved, sales
    changed the deal) or from `ready` (an approver approved it). The move is an event like any
    other; the worker is woken after commit. A handoff already there is only woken."""
    if handoff.status != to_status:
        handoff_transition(handoff=handoff, to_status=to_status, actor=actor, actor_label=actor_label, reason=reason)
    handoff_enqueue(handoff_id=handoff.pk)
    return handoff


def handoff_receive(
    *,
    org_id: str,
    opportunity_id: str,
    source: str,
    notification_id: str | None = None,
    actor_label: str,
) -> tuple[Handoff, bool]:
    """Find or create the one handoff of a deal; returns (handoff, created).

    Safe to call any number of times from any trigger: a notification id seen before changes
    nothing, and two concurrent callers for the same deal end on the same row. A new handoff and
    its `received` event are written together — on PostgreSQL in one statement
    (`statements.handoff_insert_statement`); the notification is recorded beside them (a crash in
    between only means its next delivery records it).
    """
    if source not in HandoffSource.values:
        raise ValueError(f"unknown handoff source {source!r}")
    org_id = salesforce_id_18(org_id)
    opportunity_id = salesforce_id_18(opportunity_id)

    if notification_id:
        seen = (
            OutboundNotification.objects.select_related("handoff")
            .filter(notification_id=notification_id)
            .first()
        )
        if seen is not None:
            return seen.handoff, False

    reason = f"closed-won deal received via {source}" + (f" (notification {notification_id})" if notification_id else "")
    if connection.vendor == "postgresql":
        handoff = Handoff(org_id=org_id, opportunity_id=opportunity_id, source=source)
        new_id = handoff_insert_statement(handoff, now=timezone.now(), label=actor_label, reason=reason)
        created = new_id is not None
        if new_id is None:
            handoff = Handoff.objects.get(org_id=org_id, opportunity_id=opportunity_id)
        else:
            handoff.pk = new_id
            handoff._state.adding, handoff._state.db = False, connection.alias
    else:
        with transaction.atomic():
            handoff, created = _handoff_find_or_create(org_id, opportunity_id, source, actor_label, reason)

    if notification_id:
        try:
            with transaction.atomic():
                OutboundNotification.objects.create(
                    notification_id=notification_id,
                    org_id=org_id,
                    opportunity_id=opportunity_id,
                    handoff=handoff,
                )
        except IntegrityError:
            # The same notification raced us in; it is recorded either way.
            pass

    if created:
        handoff_enqueue(handoff_id=handoff.pk)
    return handoff, created


def _handoff_find_or_create(org_id: str, opportunity_id: str, source: str, label: str,
                            reason: str) -> tuple[Handoff, bool]:
    """The ORM's way (SQLite): look, else insert with its event (a concurrent insert wins)."""
    handoff = Handoff.objects.filter(org_id=org_id, opportunity_id=opportunity_id).first()
    if handoff is not None:
        return handoff, False
    try:
        # Savepoint: a concurrent insert must not poison the transaction.
        with transaction.atomic():
            handoff = Handoff.objects.create(org_id=org_id, opportunity_id=opportunity_id, source=source)
    except IntegrityError:
        return Handoff.objects.get(org_id=org_id, opportunity_id=opportunity_id), False
    HandoffEvent.objects.create(handoff=handoff, actor_label=label, from_status="",
                                to_status=HandoffStatus.RECEIVED, reason=reason)
    return handoff, True


def handoff_transition(
    *,
    handoff: Handoff,
    to_status: str,
    actor: User | None = None,
    actor_label: str = "",
    reason: str = "",
    **fields: Any,
) -> Handoff:
    """Move a handoff along the lifecycle and record who/what did it and why.

    Extra keyword `fields` (e.g. `sap_sales_order=`, `last_error=`, `next_attempt_at=`) are
    saved in the same write. Raises `IllegalTransition` for an edge the lifecycle lacks; the
    row is locked and re-read so a stale in-memory status cannot sneak past the check.
    """
    if to_status not in HandoffStatus.values:
        raise transition_error(handoff.status, to_status)
    if to_status in ALLOWED_TRANSITIONS.get(handoff.status, ()):
        # The usual case in one conditional UPDATE: it waits for any lock on the row and moves it
        # only from the status the caller saw, so a stale object cannot sneak past the check.
        # No savepoint: nothing inside raises, and a deal's work stays a few statements.
        now = timezone.now()
        label = actor_label or ("" if actor else "system")
        if connection.vendor == "postgresql" and all(plain_column(name, value) for name, value in fields.items()):
            moved = handoff_move_statement(handoff, to_status, now=now, actor=actor, label=label, reason=reason,
                                          fields=fields)
        else:
            with transaction.atomic(savepoint=False):
                moved = bool(Handoff.objects.filter(pk=handoff.pk, status=handoff.status).update(
                    status=to_status, updated_at=now, **fields))
                if moved:
                    HandoffEvent.objects.create(handoff_id=handoff.pk, actor=actor, actor_label=label,
                                                from_status=handoff.status, to_status=to_status, reason=reason)
        if moved:
            handoff.status = to_status
            handoff.updated_at = now
            for name, value in fields.items():
                setattr(handoff, name, value)
            return handoff
    # The caller's status was stale (or the edge is illegal from it): lock, re-read, decide.
    with transaction.atomic():
        locked = Handoff.objects.select_for_update().get(pk=handoff.pk)
        from_status = locked.status
        if to_status not in ALLOWED_TRANSITIONS[from_status]:
            raise transition_error(from_status, to_status)
        locked.status = to_status
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=["status", "updated_at", *fields.keys()])
        HandoffEvent.objects.create(
            handoff=locked,
            actor=actor,
            actor_label=actor_label or ("" if actor else "system"),
            from_status=from_status,
            to_status=to_status,
            reason=reason,
        )
        # Keep the caller's object truthful.
        handoff.status = locked.status
        handoff.updated_at = locked.updated_at
        for name, value in fields.items():
            setattr(handoff, name, value)
    return handoff


def _claim_lease() -> timedelta:
    # A claim older than the lease belongs to a dead worker; the sweeper hands the row on.
    return timedelta(seconds=settings.HUB_CLAIM_LEASE_SECONDS)


def handoff_claim(
    *, handoff_id: int, from_statuses: tuple[str, ...] | list[str], worker: str
) -> Handoff | None:
    """Compare-and-swap claim: the row is ours only if exactly one row matched.

    A claim is free when nobody holds it or its lease expired; one UPDATE decides, so two
    workers handed the same id never both proceed.
    """
    now = timezone.now()
    count = (
        Handoff.objects.filter(pk=handoff_id, status__in=list(from_statuses))
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - _claim_lease()))
        .update(claimed_at=now, claimed_by=worker, updated_at=now)
    )
    if count != 1:
        return None
    return Handoff.objects.get(pk=handoff_id)


def handoff_release(*, handoff_id: int, worker: str) -> bool:
    """Give a claim back; only the holder can. Returns whether it held the claim."""
    return bool(
        Handoff.objects.filter(pk=handoff_id, claimed_by=worker).update(claimed_at=None, claimed_by="")
    )


@transaction.atomic
def handoffs_write_back_claim(*, worker: str, limit: int, now: datetime | None = None) -> list[Handoff]:
    """Created handoffs whose write-back is due and nobody works on, claimed for one batch
    (SKIP LOCKED, then stamped like `handoff_claim`): two flushes never take the same row."""
    now = now or timezone.now()
    rows = list(
        Handoff.objects.filter(status=HandoffStatus.CREATED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - _claim_lease()))
        .order_by("pk").select_for_update(skip_locked=True)[:limit]
    )
    Handoff.objects.filter(pk__in=[h.pk for h in rows]).update(claimed_at=now, claimed_by=worker)
    for handoff in rows:
        handoff.claimed_at, handoff.claimed_by = now, worker
    return rows


def handoffs_release(*, ids: list[int], worker: str) -> int:
    """`handoff_release` for a batch; returns how many claims the worker gave back."""
    return Handoff.objects.filter(pk__in=ids, claimed_by=worker).update(claimed_at=None, claimed_by="")


READ_BODY_LIMIT = 2000


def sync_attempt_record(
    *, handoff: Handoff | None, record: CallRecord, healing: list[Any] | None = None
) -> SyncAttempt:
    """Store one external call. Redacts again: a secret must never reach the database.

    A successful read keeps only the start of a large response: what a read returned is still in
    the source system, and storing every expanded partner in full would cost more than the call.
    Writes and failures are stored whole.
    """
    ok = record.error_class == "" and record.status is not None and record.status < 400
    response_body = record.response_body
    if ok and record.method in ("GET", "HEAD") and response_body is not None:
        text = response_body if isinstance(response_body, str) else json.dumps(response_body, default=str)
        if len(text) > READ_BODY_LIMIT:
            response_body = {"truncated": True, "size": len(text), "preview": text[:READ_BODY_LIMIT]}
    return SyncAttempt.objects.create(
        handoff=handoff,
        system=record.system,
        operation=record.operation,
        method=record.method,
        url=redact_text(record.url),
        request=redact({"headers": dict(record.request_headers), "body": record.request_body}),
        response=redact({"headers": dict(record.response_headers), "body": response_body}),
        status_code=record.status,
        ok=ok,
        error_class=record.error_class,
        error_message=redact_text(record.error_message),
        duration_ms=record.duration_ms,
        healing=redact(list(healing or [])),
    )


@transaction.atomic
def sync_attempt_add_healing(*, attempt: SyncAttempt, step: str | dict[str, Any]) -> SyncAttempt:
    """Append what self-healing changed after `attempt` (e.g. "refetched CSRF token")."""
    attempt.healing = [*attempt.healing, redact(step)]
    attempt.save(update_fields=["healing"])
    return attempt


@transaction.atomic
def transformation_log_add(
    *,
    handoff: Handoff,
    field_path: str,
    source_value: Any,
    result_value: Any,
    rule: str,
    confidence: Decimal | float | str = Decimal("1"),
) -> TransformationLog:
    """One derivation of a canonical field, with the rule that made it and its confidence."""
    value = Decimal(str(confidence))
    if not Decimal("0") <= value <= Decimal("1"):
        raise ValueError(f"confidence {value} is outside [0, 1]")
    return TransformationLog.objects.create(
        handoff=handoff,
        field_path=field_path,
        source_value=source_value,
        result_value=result_value,
        rule=rule,
        confidence=value.quantize(Decimal("0.001")),
    )


@transaction.atomic(savepoint=False)  # one bulk insert, part of the caller's step
def transformation_logs_add(*, handoff: Handoff, derivations: Iterable[Derivation]) -> int:
    """Every derivation of one validation run, in one insert; confidences are clamped to [0, 1]
    (a rule may compute a little outside it) and rules and paths cut to their columns."""
    rows = [
        TransformationLog(handoff=handoff, field_path=d.field[:200], source_value=d.source, result_value=d.result,
                          rule=d.rule[:200], confidence=round(max(0.0, min(1.0, d.confidence)), 3))
        for d in derivations
    ]
    TransformationLog.objects.bulk_create(rows)
    return len(rows)


OVERRIDE_KEYS = ("payment_terms", "ship_to", "pricing", "credit")


@transaction.atomic
def handoff_override_set(
    *,
    handoff: Handoff,
    key: str,
    value: Any,
    actor: User | None = None,
    actor_label: str = "",
    reason: str = "",
) -> Handoff:
    """Record a decision a person made while resolving an exception; validation honours it.

    `pricing` decisions merge per CRM product code; the other keys replace. The decision is
    audited as an event on the handoff (its status does not change here: resolving the
    exception is what re-runs the deal).
    """
    if key not in OVERRIDE_KEYS:
        raise ValueError(f"unknown override {key!r}; expected one of {', '.join(OVERRIDE_KEYS)}")
    locked = Handoff.objects.select_for_update().get(pk=handoff.pk)
    overrides = dict(locked.overrides or {})
    if key == "pricing":
        overrides["pricing"] = {**(overrides.get("pricing") or {}), **value}
    else:
        overrides[key] = value
    locked.overrides = overrides
    locked.save(update_fields=["overrides", "updated_at"])
    HandoffEvent.objects.create(
        handoff=locked,
        actor=actor,
        actor_label=actor_label or ("" if actor else "system"),
        from_status=locked.status,
        to_status=locked.status,
        reason=reason or f"override {key}: {value}",
    )
    handoff.overrides = overrides
    return handoff


# -- ERP → CRM status (integration_hub.backflow) -------------------------------------------------
ERP_STATUS_KINDS = ("deal", "account")


@transaction.atomic
def handoff_erp_status_record(*, handoff_id: int, kind: str, view: dict[str, Any], written: bool,
                              record_id: str = "", message: str = "", erp_changed_at: datetime | None = None,
                              now: datetime | None = None) -> dict[str, Any]:
    """Remember what the status poll wrote to the CRM for this handoff (`kind` "deal" or
    "account"), or that the CRM refused it (`written` False: the record is pending and sent
    again on the next poll; what was last written stays). Returns the new `erp_status`.

    Not a lifecycle change (the handoff's status stays), so no handoff event: an
    `ErpStatusWrite` row is the audit trail (with the sync attempts and, for a refusal, the
    `crm_update_rejected` exception). `erp_changed_at` is when the ERP changed the order.
    """
    if kind not in ERP_STATUS_KINDS:
        raise ValueError(f"unknown ERP status kind {kind!r}; expected one of {', '.join(ERP_STATUS_KINDS)}")
    locked = Handoff.objects.select_for_update().get(pk=handoff_id)
    status = dict(locked.erp_status or {})
    pending = set(status.get("pending") or [])
    fields = ["erp_status"]
    if written:
        status[kind] = view
        pending.discard(kind)
        locked.erp_status_synced_at = now or timezone.now()
        fields.append("erp_status_synced_at")
    else:
        pending.add(kind)
    status["pending"] = sorted(pending)
    locked.erp_status = status
    locked.save(update_fields=fields)
    ErpStatusWrite.objects.create(handoff=locked, kind=kind, record_id=record_id, view=view, written=written,
                                  message=message, erp_changed_at=erp_changed_at)
    return status


def _watermark_claim(model: type[W], *, worker: str, **key: Any) -> W | None:
    """Compare-and-swap claim of a poll's watermark row: one poller at a time (two beats never
    read one window twice); a claim older than the lease belongs to a dead beat and is free again."""
    model._default_manager.get_or_create(**key)
    now = timezone.now()
    count = (
        model._default_manager.filter(**key)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_by=worker, claimed_until=now + _claim_lease())
    )
    return model._default_manager.get(**key) if count == 1 else None


def _watermark_release(model: type[W], *, worker: str, moved: dict[str, Any], **key: Any) -> bool:
    """Give the claim back (only its holder can), moving the watermark as `moved` says."""
    fields: dict[str, Any] = {"claimed_by": "", "claimed_until": None, **moved}
    return bool(model._default_manager.filter(claimed_by=worker, **key).update(**fields))


def erp_status_watermark_claim(*, erp_target: str, worker: str) -> ErpStatusWatermark | None:
    """The ERP → CRM status poll's claim of its target's watermark (see `_watermark_claim`)."""
    return _watermark_claim(ErpStatusWatermark, worker=worker, erp_target=erp_target)


def erp_status_watermark_release(*, erp_target: str, worker: str, last_changed_at: datetime | None = None) -> bool:
    """Give the claim back (only its holder can), moving the watermark forward if told to."""
    moved = {"last_changed_at": last_changed_at} if last_changed_at is not None else {}
    return _watermark_release(ErpStatusWatermark, worker=worker, moved=moved, erp_target=erp_target)


def poll_watermark_claim(*, org_id: str, worker: str) -> PollWatermark | None:
    """The CRM SystemModstamp poll's claim of its org's watermark (see `_watermark_claim`)."""
    return _watermark_claim(PollWatermark, worker=worker, org_id=org_id)


def poll_watermark_release(*, org_id: str, worker: str, last_system_modstamp: datetime | None = None) -> bool:
    moved = {"last_system_modstamp": last_system_modstamp} if last_system_modstamp is not None else {}
    return _watermark_release(PollWatermark, worker=worker, moved=moved, org_id=org_id)


def handoffs_due(*, now: datetime | None = None, stale_after_seconds: float | None = None) -> QuerySet[Handoff]:
    """Work a lost message left behind: workable, unclaimed (or lease gone), and due.

    For the sweeper: a handoff is due when its `next_attempt_at` passed, or when it has none
    and has not moved for `stale_after_seconds` (default HUB_SWEEP_GRACE_SECONDS).
    """
    now = now or timezone.now()
    grace = settings.HUB_SWEEP_GRACE_SECONDS if stale_after_seconds is None else stale_after_seconds
    stale = now - timedelta(seconds=grace)
    lease_expired = now - timedelta(seconds=settings.HUB_CLAIM_LEASE_SECONDS)
    # A wake-up sent by a sweep a moment ago is not sent again by a second beat's sweep.
    swept = now - timedelta(seconds=settings.HUB_SWEEP_INTERVAL_SECONDS / 2)
    return (
        Handoff.objects.filter(status__in=WORKABLE_STATUSES)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=lease_expired))
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, updated_at__lte=stale))
        .filter(Q(swept_at__isnull=True) | Q(swept_at__lt=swept))
    )


@transaction.atomic
def handoffs_sweep_claim(*, limit: int = 500, now: datetime | None = None) -> list[int]:
    """The handoffs a sweep sends a wake-up for, each claimed once (SKIP LOCKED, then stamped
    `swept_at`): a second beat sweeping at the same moment gets other rows or none."""
    now = now or timezone.now()
    ids = list(handoffs_due(now=now).order_by("updated_at").select_for_update(skip_locked=True)
               .values_list("pk", flat=True)[:limit])
    Handoff.objects.filter(pk__in=ids).update(swept_at=now)
    return ids


# -- reconciliation runs ------------------------------------------------------------------------
RECONCILIATION_LEASE = timedelta(hours=6)


@transaction.atomic
def reconciliation_run_request(*, days: int, erp_target: str, actor: User | None = None, via: str = "api",
                               today: date | None = None) -> tuple[ReconciliationRun, bool]:
    """Queue a reconciliation of the deals closed in the last `days` days; returns (run, created).

    While a run of the target is queued or running, asking again gives that run (a partial
    unique index decides a race between two beats). The run is sent to a worker on commit."""
    if days < 1:
        raise ValueError("days must be at least 1")
    end = today or timezone.localdate()
    # A run its worker died in would hold the target forever: past the lease it counts as failed.
    ReconciliationRun.objects.filter(
        erp_target=erp_target, status=ReconciliationStatus.RUNNING,
        started_at__lt=timezone.now() - RECONCILIATION_LEASE,
    ).update(status=ReconciliationStatus.FAILED, finished_at=timezone.now(), error="abandoned: its worker stopped")
    active = ReconciliationRun.objects.filter(erp_target=erp_target, status__in=RECONCILIATION_ACTIVE)
    existing = active.first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            run = ReconciliationRun.objects.create(
                erp_target=erp_target, window_start=end - timedelta(days=days - 1), window_end=end,
                requested_by=actor, requested_via=via)
    except IntegrityError:
        return active.get(), False
    enqueue_on_commit(RECONCILIATION_RUN, run.pk)
    return run, True


def reconciliation_run_claim(*, run_id: int, worker: str) -> ReconciliationRun | None:
    """Compare-and-swap queued → running: a message delivered twice runs the reconciliation once."""
    count = ReconciliationRun.objects.filter(pk=run_id, status=ReconciliationStatus.QUEUED).update(
        status=ReconciliationStatus.RUNNING, claimed_by=worker, started_at=timezone.now())
    if count != 1:
        return None
    return ReconciliationRun.objects.get(pk=run_id)


def reconciliation_run_finish(*, run_id: int, worker: str, counts: dict[str, int], finding_ids: list[int],
                              resolved_ids: list[int], deals_checked: int, orders_checked: int,
                              error: str = "") -> bool:
    """running → done (or failed, with `error`), by the worker holding the run only."""
    return bool(ReconciliationRun.objects.filter(pk=run_id, status=ReconciliationStatus.RUNNING,
                                                 claimed_by=worker).update(
        status=ReconciliationStatus.FAILED if error else ReconciliationStatus.DONE, finished_at=timezone.now(),
        counts=counts, finding_ids=finding_ids, resolved_ids=resolved_ids, deals_checked=deals_checked,
        orders_checked=orders_checked, error=error[:2000]))
