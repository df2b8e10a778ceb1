"""Work for the Celery workers, enqueued after commit and by task name only.

Services never import tasks (tasks sit on the top floor and call services): they name the task
here, and the message leaves only once the transaction that made the work visible commits — a
worker never wakes up to a row it cannot see, and a rolled-back transaction sends nothing (the
way Zulip's `queue_event_on_commit` does).

Publishing never fails the caller: the row (a handoff, a bulk job, a reconciliation run) is the
durable record of the work and the message only a wake-up. When the broker is down, the failure
is logged and the sweepers send the wake-up again once it is back — a webhook keeps answering
Ack through a Redis outage, and nothing it accepted is lost.

No countdown may reach the broker's visibility timeout: Redis hands a message that waited longer
than that to a second worker (an ETA message is "unacknowledged" while it waits), so the task
would run twice. Longer waits belong in the row (`Handoff.next_attempt_at`), where the sweeper
finds them; `send_now` refuses a countdown beyond `max_countdown()`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)

# After a failed publish this process does not try the broker again for HUB_BROKER_RETRY_SECONDS:
# a burst of a hundred deals arriving during an outage must not wait a second each on a dead broker.
_broker_down_until = 0.0

# The task names services may enqueue; a typo fails at the call, not silently in a worker.
PROCESS_HANDOFF = "integration_hub.tasks.process_handoff"
BULK_JOB_RUN = "exceptions.tasks.bulk_job_run"
RECONCILIATION_RUN = "integration_hub.tasks.reconciliation_run"
PENDING_RESOLUTION_APPLY = "exceptions.tasks.pending_resolution_apply"
WRITE_BACKS_FLUSH = "integration_hub.tasks.write_backs_flush"
# Accounts payable: match (again) one vendor invoice; a closed exception of an invoice asks for it.
VENDOR_INVOICE_REMATCH = "integration_hub.ap.tasks.vendor_invoice_rematch"
TASK_NAMES = frozenset({PROCESS_HANDOFF, BULK_JOB_RUN, RECONCILIATION_RUN, PENDING_RESOLUTION_APPLY,
                        WRITE_BACKS_FLUSH, VENDOR_INVOICE_REMATCH})


def max_countdown() -> float:
    """The longest countdown a message may carry: HUB_MAX_COUNTDOWN_SECONDS, and never more than
    half the broker's visibility timeout (the filesystem broker has none)."""
    limit = float(settings.HUB_MAX_COUNTDOWN_SECONDS)
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    return min(limit, float(visibility) / 2) if isinstance(visibility, int | float) else limit


def send_now(task_name: str, *args: Any, countdown: float | None = None) -> bool:
    """Publish at once (outside a transaction, e.g. from the sweeper). Returns whether the
    broker took the message; when it is down the sweepers send it again later."""
    if task_name not in TASK_NAMES:
        raise ValueError(f"unknown task {task_name!r}; known: {', '.join(sorted(TASK_NAMES))}")
    if countdown is not None and countdown > max_countdown():
        raise ValueError(f"a countdown of {countdown:.0f} s would outlive the broker's visibility timeout "
                         f"(at most {max_countdown():.0f} s): store the time on the row for the sweeper instead")
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        logger.info("broker still unavailable, %s%r not sent now (the sweeper sends it again)", task_name, args)
        return False
    try:
        task = current_app.tasks.get(task_name)
        if task is None:
            # A process that never imported the task module (the web) still publishes by name.
            current_app.send_task(task_name, args=args, countdown=countdown)
        elif countdown is None:
            task.delay(*args)
        else:
            task.apply_async(args, countdown=countdown)
    except BrokerUnavailable as error:
        _broker_down_until = time.monotonic() + settings.HUB_BROKER_RETRY_SECONDS
        logger.warning("broker unavailable, %s%r not sent now (the sweeper sends it again): %s",
                       task_name, args, error)
        return False
    return True


def enqueue_on_commit(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish once the current transaction commits (at once when none is open)."""
    if task_name not in TASK_NAMES:
        raise ValueError(f"unknown task {task_name!r}; known: {', '.join(sorted(TASK_NAMES))}")
    transaction.on_commit(lambda: send_now(task_name, *args, countdown=countdown))
