"""Beat tasks: the escalation sweep (idempotent; two beats at once fire each step once) and the
bulk-job sweep; the worker task of a bulk action."""

from __future__ import annotations

from celery import shared_task

from exceptions import bulk, snooze, undo
from exceptions.escalation import escalation_sweep as sweep
from exceptions.screens import screen_counts_changed
from integration_hub.dispatch import BULK_JOB_RUN, send_now


@shared_task
def escalation_sweep() -> dict[str, int]:
    return sweep()


@shared_task
def bulk_job_run(job_id: int) -> None:
    bulk.bulk_job_run(job_id=job_id)


@shared_task
def bulk_jobs_sweep() -> int:
    """Beat: re-enqueue bulk jobs a lost message or a dead worker left unfinished."""
    due = bulk.bulk_jobs_due()
    for job_id in due:
        send_now(BULK_JOB_RUN, job_id)
    return len(due)


@shared_task
def pending_resolution_apply(pending_id: int) -> str:
    """A held resolution whose undo window ran out (resolve and next). A person's resolution: the
    counts they see next are fresh, not the ones cached while it was held."""
    outcome = undo.resolution_apply(pending_id=pending_id)
    if outcome == "applied":
        screen_counts_changed()
    return outcome


@shared_task
def snooze_sweep() -> dict[str, int]:
    """Beat: wake the snoozes whose condition holds, apply held resolutions a lost message left."""
    done = {"woke": snooze.snooze_sweep(), "applied": undo.resolutions_apply_due()}
    if any(done.values()):
        screen_counts_changed()  # a woken row is back in the list; a held one has left it
    return done
