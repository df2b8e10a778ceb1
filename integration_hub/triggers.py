"""The triggers besides the webhook: the SystemModstamp poll and the sweeper.

The poll catches every closed-won deal the webhook missed (Outbound Messages are at-least-once,
but a misconfigured flow sends none); the sweeper re-enqueues work a lost broker message or a
killed worker left behind. Both are idempotent: the handoff row, not the message, is the work.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from integration_hub import ports
from integration_hub.dispatch import PROCESS_HANDOFF, RECONCILIATION_RUN, send_now
from integration_hub.erp.cache import CachedErp
from integration_hub.errors import HubError, InvalidSalesforceId
from integration_hub.models import (
    HandoffSource,
    PollWatermark,
    ReconciliationRun,
    ReconciliationStatus,
    salesforce_id_18,
)
from integration_hub.selectors import erp_customers_in_flight
from integration_hub.services import (
    handoff_receive,
    handoffs_sweep_claim,
    poll_watermark_claim,
    poll_watermark_release,
)

logger = logging.getLogger(__name__)

# Re-read a little before the watermark: rows committed in the same second may arrive late.
_POLL_OVERLAP = timedelta(seconds=2)
_POLL_FIRST_LOOKBACK = timedelta(days=1)


def poll_salesforce() -> int:
    """Find closed-won deals changed since the watermark; returns how many new handoffs it made."""
    org_id = settings.SALESFORCE_ORG_ID
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    watermark = poll_watermark_claim(org_id=org_id, worker=worker)
    if watermark is None:
        logger.info("poll of %s skipped: another poller holds it", org_id)
        return 0
    newest = None
    try:
        created, newest = _poll(watermark)
    finally:
        poll_watermark_release(org_id=org_id, worker=worker, last_system_modstamp=newest)
    return created


def _poll(watermark: PollWatermark) -> tuple[int, datetime | None]:
    """(new handoffs, the watermark to move to or None)."""
    org_id = watermark.org_id
    since = (watermark.last_system_modstamp or timezone.now() - _POLL_FIRST_LOOKBACK) - _POLL_OVERLAP
    try:
        changed = ports.crm().closed_won_changed(since=since, stages=settings.HUB_CLOSED_WON_STAGES)
    except HubError as error:
        logger.warning("poll: Salesforce query failed, will try again next tick: %s", error)
        return 0, None
    created = 0
    newest = watermark.last_system_modstamp
    for deal in changed:
        try:
            opportunity_id = salesforce_id_18(deal.deal_id)
        except InvalidSalesforceId as error:
            # Skipped for good (the watermark still moves past it): the same id stays broken.
            logger.warning("poll: skipped an Opportunity whose Id is not a Salesforce id: %s", error)
        else:
            _, is_new = handoff_receive(org_id=org_id, opportunity_id=opportunity_id, source=HandoffSource.POLL,
                                        actor_label="poll")
            created += int(is_new)
        if deal.changed_at and (newest is None or deal.changed_at > newest):
            newest = deal.changed_at
    return created, newest if newest and newest != watermark.last_system_modstamp else None


def sweep() -> int:
    """Re-enqueue workable handoffs nobody is working on; returns how many were enqueued."""
    ids = handoffs_sweep_claim(limit=500)
    for handoff_id in ids:
        send_now(PROCESS_HANDOFF, handoff_id)
    if ids:
        logger.info("sweeper re-enqueued %d handoff(s)", len(ids))
    # A reconciliation run whose message was lost (the broker was down when it was asked for)
    # waits queued: send it again; its claim makes a second delivery a no-op.
    stale = timezone.now() - timedelta(seconds=settings.HUB_SWEEP_GRACE_SECONDS)
    for run_id in ReconciliationRun.objects.filter(status=ReconciliationStatus.QUEUED, created_at__lt=stale
                                                   ).values_list("pk", flat=True):
        send_now(RECONCILIATION_RUN, run_id)
    return len(ids)


def erp_caches_refresh() -> int:
    """Beat: re-read the master data the deals in flight need, before their cache entries expire."""
    done = 0
    for target in ports.ERP_TARGETS:
        customers = erp_customers_in_flight(erp_target=target)
        port = ports.erp_for(target)
        if not customers or not isinstance(port, CachedErp):
            continue
        try:
            done += port.refresh(customers)
        except HubError as error:
            logger.warning("ERP cache refresh for %s stopped: %s", target, error)
    return done
