"""Work for the Celery workers, enqueued after commit and by task name only.

Services never import tasks (tasks sit on the top floor and call services): they name the task
here, and the message leaves only once the transaction that made the work visible commits — a
worker never wakes up to a row it cannot see, and a rolled-back transaction sends nothing (the
way Zulip's `queue_event_on_commit` does).
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction

# The task names services may enqueue; a typo fails at the call, not silently in a worker.
PROCESS_HANDOFF = "integration_hub.tasks.process_handoff"
BULK_JOB_RUN = "exceptions.tasks.bulk_job_run"
RECONCILIATION_RUN = "integration_hub.tasks.reconciliation_run"
TASK_NAMES = frozenset({PROCESS_HANDOFF, BULK_JOB_RUN, RECONCILIATION_RUN})


def send_now(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish at once (outside a transaction, e.g. from the sweeper)."""
    if task_name not in TASK_NAMES:
        raise ValueError(f"unknown task {task_name!r}; known: {', '.join(sorted(TASK_NAMES))}")
    task = current_app.tasks.get(task_name)
    if task is None:
        # A process that never imported the task module (the web) still publishes by name.
        current_app.send_task(task_name, args=args, countdown=countdown)
    elif countdown is None:
        task.delay(*args)
    else:
        task.apply_async(args, countdown=countdown)


def enqueue_on_commit(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish once the current transaction commits (at once when none is open)."""
    if task_name not in TASK_NAMES:
        raise ValueError(f"unknown task {task_name!r}; known: {', '.join(sorted(TASK_NAMES))}")
    transaction.on_commit(lambda: send_now(task_name, *args, countdown=countdown))
