"""The triggers besides the webhook: the SystemModstamp poll and the sweeper.

The poll catches every closed-won deal the webhook missed (Outbound Messages are at-least-once,
but a misconfigured flow sends none); the sweeper re-enqueues work a lost broker message or a
killed worker left behind. Both are idempotent: the handoff row, not the message, is the work.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from integration_hub import ports
from integration_hub.dispatch import PROCESS_HANDOFF, send_now
from integration_hub.errors import HubError, InvalidSalesforceId
from integration_hub.models import HandoffSource, PollWatermark, salesforce_id_18
from integration_hub.selectors import handoffs_due
from integration_hub.services import handoff_receive

logger = logging.getLogger(__name__)

# Re-read a little before the watermark: rows committed in the same second may arrive late.
_POLL_OVERLAP = timedelta(seconds=2)
_POLL_FIRST_LOOKBACK = timedelta(days=1)


def poll_salesforce() -> int:
    """Find closed-won deals changed since the watermark; returns how many new handoffs it made."""
    org_id = settings.SALESFORCE_ORG_ID
    watermark, _ = PollWatermark.objects.get_or_create(org_id=org_id)
    since = (watermark.last_system_modstamp or timezone.now() - _POLL_FIRST_LOOKBACK) - _POLL_OVERLAP
    try:
        changed = ports.crm().closed_won_changed(since=since, stages=settings.HUB_CLOSED_WON_STAGES)
    except HubError as error:
        logger.warning("poll: Salesforce query failed, will try again next tick: %s", error)
        return 0
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
    if newest and newest != watermark.last_system_modstamp:
        PollWatermark.objects.filter(pk=watermark.pk).update(last_system_modstamp=newest)
    return created


def sweep() -> int:
    """Re-enqueue workable handoffs nobody is working on; returns how many were enqueued."""
    ids = list(handoffs_due().order_by("updated_at").values_list("pk", flat=True)[:500])
    for handoff_id in ids:
        send_now(PROCESS_HANDOFF, handoff_id)
    if ids:
        logger.info("sweeper re-enqueued %d handoff(s)", len(ids))
    return len(ids)
