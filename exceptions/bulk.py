"""Bulk actions on a selection of exceptions, shared by the list screen, the API and the worker.

Each item is its own transaction (one failure leaves the others done) and writes its own audit
row through the same services as a single action; an item already in the wanted state is
"unchanged", so a repeated bulk action changes nothing twice. The screen runs a selection as a
BulkJob: a Celery task works it item by item and records each outcome, which is the progress
bar; the API's synchronous form answers with the counts. A started job reaches its worker by
task name (integration_hub.dispatch), so this module never imports exceptions.tasks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from exceptions.errors import BulkError, ExceptionNotOpen, ResolutionError
from exceptions.forms import FilterForm
from exceptions.models import BulkJob, BulkJobStatus, ExceptionStatus, Queue, SyncException
from exceptions.permissions import can_be_assigned, queues_for
from exceptions.resolution import exception_resolve_path
from exceptions.selectors import exception_list
from exceptions.services import exception_assign, exception_snooze
from integration_hub.dispatch import BULK_JOB_RUN, enqueue_on_commit

logger = logging.getLogger(__name__)

BULK_ACTIONS = {"assign_me": "Assign to me", "assign": "Assign to…", "unassign": "Unassign",
                "retry": "Resolve (retry)", "resolve": "Resolve with the same action", "snooze": "Snooze 24 h"}
# A selection larger than this is refused with a message: narrow the filter first.
BULK_LIMIT = 5000
LEASE = timedelta(seconds=60)
FLUSH_ITEMS = 25
FLUSH_SECONDS = 0.5


def _assignee(data: dict[str, Any]) -> User:
    who = str(data.get("assignee") or "").strip()
    user = get_user_model().objects.filter(username=who, is_active=True).first() if who else None
    if user is None:
        raise BulkError(f"There is no active user called {who!r}." if who else "Pick whom to assign to.")
    return user


def bulk_item(*, exception: SyncException, user: Any, action: str, data: dict[str, Any] | None = None,
              assignee: User | None = None) -> str:
    """Apply `action` to one exception: "changed", "unchanged" or "failed: <reason>"."""
    data = data or {}
    try:
        if action in ("assign_me", "assign"):
            target = user if action == "assign_me" else assignee or _assignee(data)
            if not can_be_assigned(user=target, queue=exception.queue):
                return f"failed: {target.get_username()} does not work the {exception.queue.name} queue"
            did = exception_assign(exception=exception, assignee=target, actor=user)
        elif action == "unassign":
            did = exception_assign(exception=exception, assignee=None, actor=user)
        elif action == "snooze":
            now = timezone.now()
            if exception.status != ExceptionStatus.OPEN:
                did = False
            elif exception.snoozed_until and exception.snoozed_until > now:
                did = False  # already snoozed: a repeat must not push the wake-up further out
            else:
                until = (now + timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
                did = exception_snooze(exception=exception, actor=user, until=until)
        elif action in ("retry", "resolve"):
            if exception.status != ExceptionStatus.OPEN:
                did = False
            else:
                path = data.get("path", "retry") if action == "resolve" else "retry"
                exception_resolve_path(exception=exception, actor=user, path=path, data=data)
                did = True
        else:
            raise ResolutionError(f"unknown bulk action {action!r}")
    except (ResolutionError, ExceptionNotOpen, PermissionDenied, BulkError) as error:
        return f"failed: {error}"
    return "changed" if did else "unchanged"


def _due(now: Any) -> Q:
    return Q(status=BulkJobStatus.QUEUED) | Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def _workable(user: Any, queue: Queue | None, ids: list[int]) -> list[SyncException]:
    qs = SyncException.objects.select_related("queue").filter(
        pk__in=ids, queue__in=queues_for(user=user, perm="work")
    )
    if queue is not None:
        qs = qs.filter(queue=queue)
    found = {e.pk: e for e in qs}
    return [found[pk] for pk in ids if pk in found]


def _counts(outcomes: list[str]) -> dict[str, int]:
    return {key: sum(1 for o in outcomes if o.startswith(key)) for key in ("changed", "unchanged", "failed")}


def exception_bulk(*, user: Any, queue: Queue | None, ids: list[int], action: str,
                   data: dict[str, Any] | None = None) -> dict[str, int]:
    """Apply `action` to the selection now and answer the counts (the API's synchronous form)."""
    if action not in BULK_ACTIONS:
        raise BulkError(f"unknown bulk action {action!r}")
    assignee = _assignee(data or {}) if action == "assign" else None
    outcomes = [bulk_item(exception=e, user=user, action=action, data=data, assignee=assignee)
                for e in _workable(user, queue, ids)]
    return _counts(outcomes)


def bulk_ids_for_filter(*, user: Any, queue: Queue, query: str) -> list[int]:
    """The ids the list's filter (its query string, as the screen builds it) matches in `queue`,
    as many as a bulk action may take + 1 (so an oversized selection is refused, not cut).
    Raises `BulkError` when the filter has an invalid value."""
    params = QueryDict(query, mutable=True)
    if "status" not in params:
        params["status"] = ExceptionStatus.OPEN
    form = FilterForm(params)
    if not form.is_valid():
        # Dropping the bad filter would select more than the person meant to change.
        raise BulkError(f"The filter has a problem, so nothing was selected: {' '.join(form.error_summary())}")
    qs = exception_list(user=user, queue=queue, include_snoozed=params.get("snoozed") == "1",
                        **form.filters())
    return list(qs.values_list("pk", flat=True)[: BULK_LIMIT + 1])


def _job_key(*, user: Any, queue: Queue | None, action: str, data: dict[str, Any], ids: list[int]) -> str:
    raw = json.dumps([user.pk, queue.pk if queue else None, action, data, sorted(ids)], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def bulk_job_start(*, user: Any, queue: Queue | None, ids: list[int], action: str,
                   assignee: str = "") -> BulkJob:
    """Record the job and wake a worker after commit (`assignee`: a username, for "assign").
    The same request while its job is still running (a double-submitted form) answers that job
    instead of starting another."""
    data = {"assignee": assignee.strip()} if action == "assign" and assignee.strip() else {}
    if action not in BULK_ACTIONS:
        raise BulkError("Pick one of the bulk actions.")
    if action == "assign":
        _assignee(data)
    items = [e.pk for e in _workable(user, queue, list(dict.fromkeys(ids)))]
    if not items:
        raise BulkError("Select at least one exception you may work.")
    if len(items) > BULK_LIMIT:
        raise BulkError(f"{len(items):,} exceptions selected; a bulk action takes at most {BULK_LIMIT:,}. "
                        "Narrow the filter first.")
    key = _job_key(user=user, queue=queue, action=action, data=data, ids=items)
    label = f"Assign to {data['assignee']}" if action == "assign" else BULK_ACTIONS[action]
    try:
        with transaction.atomic():
            job = BulkJob.objects.create(key=key, actor=user, queue=queue, action=action, label=label, data=data,
                                         ids=items)
    except IntegrityError:
        return BulkJob.objects.exclude(status=BulkJobStatus.DONE).get(key=key)
    enqueue_on_commit(BULK_JOB_RUN, job.pk)
    return job


def bulk_job_claim(*, job_id: int, now: Any = None) -> BulkJob | None:
    """Take the job for LEASE: a queued job, or a running one whose worker stopped renewing."""
    now = now or timezone.now()
    claimed = BulkJob.objects.filter(pk=job_id).exclude(status=BulkJobStatus.DONE).filter(
        _due(now)
    ).update(status=BulkJobStatus.RUNNING, lease_until=now + LEASE)
    return BulkJob.objects.get(pk=job_id) if claimed == 1 else None


def bulk_job_run(*, job_id: int) -> BulkJob | None:
    """Work a claimed job item by item, recording each outcome as it happens (the progress)."""
    job = bulk_job_claim(job_id=job_id)
    if job is None:
        return None
    user = job.actor
    assignee, refused = None, ""
    if job.action == "assign":
        try:
            assignee = _assignee(job.data)
        except BulkError as error:  # deactivated since the job started
            refused = f"failed: {error}"
    items = {e.pk: e for e in _workable(user, job.queue, [int(pk) for pk in job.ids])}
    flushed = time.monotonic()
    pending = 0
    for pk in job.ids:
        if str(pk) in job.results:
            continue  # done before a crash: never twice
        exception = items.get(int(pk))
        if exception is None:
            outcome = "failed: no longer in a queue you work"
        elif refused:
            outcome = refused
        else:
            outcome = bulk_item(exception=exception, user=user, action=job.action, data=job.data, assignee=assignee)
        job.results[str(pk)] = outcome
        pending += 1
        # The progress is written in small batches (each write carries the whole map); a crash
        # loses at most a batch of outcomes, whose items a successor finds already done.
        if pending >= FLUSH_ITEMS or time.monotonic() - flushed >= FLUSH_SECONDS:
            BulkJob.objects.filter(pk=job.pk).update(results=job.results, lease_until=timezone.now() + LEASE)
            flushed, pending = time.monotonic(), 0
    BulkJob.objects.filter(pk=job.pk).update(results=job.results, status=BulkJobStatus.DONE,
                                             finished_at=timezone.now(), lease_until=None)
    job.refresh_from_db()
    logger.info("bulk job %s (%s): %s", job.pk, job.label, _counts(list(job.results.values())))
    return job


def bulk_jobs_due(*, now: Any = None) -> list[int]:
    """Jobs a lost message or a dead worker left unfinished (the beat re-enqueues them)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=30)
    return list(BulkJob.objects.exclude(status=BulkJobStatus.DONE)
                .filter(_due(now), created_at__lt=stale).values_list("pk", flat=True)[:100])
