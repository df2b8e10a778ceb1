"""After the handoff: what sales is told, and changes to a deal's ERP order.

The engine's core, below the domain apps: the pipeline, approvals and resolutions all tell
Salesforce where a deal stands through `handoff_status_write_back`, and change or cancel an
existing order through the ERP port under optimistic locking (a stale ETag is re-read once,
never overwritten blindly). No call here runs inside a database transaction.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from django.db import transaction

from integration_hub import ports
from integration_hub.errors import HubError, StaleETag
from integration_hub.models import Handoff, HandoffStatus
from integration_hub.recording import heal, working_on
from integration_hub.services import handoff_transition

logger = logging.getLogger(__name__)
S = HandoffStatus

# The ERP sync status sales sees for each lifecycle status.
ERP_STATUS: dict[str, str] = {
    S.CREATED: "Created",
    S.WRITTEN_BACK: "Created",
    S.BLOCKED: "Blocked",
    S.AWAITING_APPROVAL: "Pending Approval",
    S.FAILED: "Failed",
    S.CANCELLED: "Cancelled",
}


def handoff_status_write_back(*, handoff: Handoff, reason: str, status: str | None = None) -> None:
    """Tell sales why the deal is held: the sync status (`status`, else from the handoff's
    lifecycle status) and the hold reason. Best effort: the hub's own record is already durable."""
    label = status or ERP_STATUS.get(handoff.status, "Blocked")
    try:
        with working_on(handoff):
            ports.crm().deal_status_write(handoff.opportunity_id, status=label, hold_reason=reason)
    except HubError as error:
        logger.warning("handoff %s: hold reason not written back to the CRM: %s", handoff.pk, error)


def handoff_status_write_back_on_commit(*, handoff_id: int, reason: str, status: str | None = None) -> None:
    """The same, once the decision that prompted it has committed."""

    def send() -> None:
        handoff = Handoff.objects.filter(pk=handoff_id).first()
        if handoff is not None:
            handoff_status_write_back(handoff=handoff, reason=reason, status=status)

    transaction.on_commit(send)


def erp_order_block_set(*, handoff: Handoff, delivery_block: str) -> None:
    """Set or release ("") the delivery block of the deal's order, under If-Match."""
    erp = ports.erp_for(handoff.erp_target)
    with working_on(handoff):
        order = erp.order_get(handoff.sap_sales_order)
        try:
            erp.order_change(handoff.sap_sales_order, etag=order.etag, delivery_block=delivery_block)
        except StaleETag:
            heal(f"ETag of order {handoff.sap_sales_order} was stale: re-read the order and sent its current ETag")
            order = erp.order_get(handoff.sap_sales_order)
            erp.order_change(handoff.sap_sales_order, etag=order.etag, delivery_block=delivery_block)


def erp_order_cancel(*, handoff: Handoff, reason: str, actor: User | None = None) -> None:
    """Cancel the deal's ERP order (it still has its delivery block: nothing shipped), then the
    handoff, and tell sales."""
    erp = ports.erp_for(handoff.erp_target)
    with working_on(handoff):
        order = erp.order_get(handoff.sap_sales_order)
        try:
            erp.order_cancel(handoff.sap_sales_order, etag=order.etag)
        except StaleETag:
            heal(f"ETag of order {handoff.sap_sales_order} was stale: re-read the order before deleting it")
            order = erp.order_get(handoff.sap_sales_order)
            erp.order_cancel(handoff.sap_sales_order, etag=order.etag)
    handoff_transition(handoff=handoff, to_status=S.CANCELLED, actor=actor, actor_label="" if actor else "worker",
                       reason=f"SAP order {handoff.sap_sales_order} deleted: {reason}")
    handoff_status_write_back(handoff=handoff, reason=reason)
