"""Beat tasks: close intervention windows (release the SAP delivery block) and escalate SLAs."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from approvals.models import Approval, ApprovalStatus
from approvals.services import ApprovalError, approval_escalate, approval_release, approval_windows_due
from integration_hub.errors import HubError

logger = logging.getLogger(__name__)


@shared_task
def approval_windows_close() -> int:
    """Release the block of every medium deal whose window closed without intervention."""
    released = 0
    for approval_id in approval_windows_due(now=timezone.now()):
        try:
            approval_release(approval=Approval(pk=approval_id))
            released += 1
        except ApprovalError:
            continue  # someone held, cancelled or released it meanwhile
        except HubError as error:
            logger.warning("approval %s: block not released yet (%s); next beat retries", approval_id, error)
    return released


@shared_task
def approval_sla_escalate() -> int:
    now = timezone.now()
    due = Approval.objects.filter(status=ApprovalStatus.PENDING, due_at__lte=now, escalated_at__isnull=True)
    return sum(1 for approval in due if approval_escalate(approval=approval, now=now) is not None)
