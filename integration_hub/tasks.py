"""Thin Celery tasks: ids in, claim the row, call one service, give the claim back.

Tasks sit on the top floor: they import the pipeline and the triggers; nothing below imports
them (services enqueue by name through `integration_hub.dispatch`).
"""

from __future__ import annotations

import logging
import os
import socket

from celery import shared_task
from django.conf import settings

from integration_hub import backflow, pipeline, ports, reconciliation, triggers
from integration_hub.dispatch import max_countdown
from integration_hub.errors import TransientError
from integration_hub.models import WORKABLE_STATUSES
from integration_hub.services import (
    handoff_claim,
    handoff_release,
    reconciliation_run_claim,
    reconciliation_run_request,
)

logger = logging.getLogger(__name__)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@shared_task(bind=True, max_retries=5)
def process_handoff(self, handoff_id: int) -> None:
    worker = _worker_name()
    handoff = handoff_claim(handoff_id=handoff_id, from_statuses=WORKABLE_STATUSES, worker=worker)
    if handoff is None:
        logger.info("handoff %s not claimed (already taken, finished or waiting on a person)", handoff_id)
        return
    try:
        pipeline.handoff_process(handoff_id=handoff_id, handoff=handoff)
    except TransientError as exc:
        # Never longer than the broker's visibility timeout allows (dispatch.max_countdown).
        countdown = min(max_countdown(), max(1.0, exc.retry_after or 2**self.request.retries))
        raise self.retry(exc=exc, countdown=countdown) from exc
    finally:
        handoff_release(handoff_id=handoff_id, worker=worker)


@shared_task
def write_backs_flush() -> int:
    """Write back the created deals waiting for it, in composite calls of up to 200."""
    return pipeline.write_backs_flush(worker=_worker_name())


@shared_task
def poll_salesforce() -> int:
    """Beat: closed-won deals changed since the SystemModstamp watermark become handoffs."""
    return triggers.poll_salesforce()


@shared_task
def refresh_erp_caches() -> int:
    """Beat: keep the ERP master data of deals in flight warm in the shared cache."""
    return triggers.erp_caches_refresh()


@shared_task
def sweep_handoffs() -> int:
    """Beat: re-enqueue handoffs a lost message or a dead worker left behind."""
    return triggers.sweep()


@shared_task
def poll_erp_statuses() -> int:
    """Beat: ERP order, delivery, invoice, payment and credit changes written to the CRM;
    returns how many records were sent."""
    return sum(result.records_sent for result in backflow.erp_status_poll_all())


@shared_task
def reconciliation_run(run_id: int) -> dict[str, int] | None:
    """A queued reconciliation run: claimed once (queued → running), however often delivered."""
    worker = f"{_worker_name()}:{run_id}"
    run = reconciliation_run_claim(run_id=run_id, worker=worker)
    if run is None:
        logger.info("reconciliation run %s not claimed (already taken or finished)", run_id)
        return None
    return reconciliation.reconciliation_execute(run=run, worker=worker).counts


@shared_task
def reconciliation_nightly() -> list[int]:
    """Beat: a reconciliation of the last HUB_RECONCILIATION_DAYS days for every ERP target."""
    return [reconciliation_run_request(days=settings.HUB_RECONCILIATION_DAYS, erp_target=target, via="beat")[0].pk
            for target in ports.ERP_TARGETS]
