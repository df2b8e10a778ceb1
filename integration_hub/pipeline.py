"""The handoff pipeline: extract → canonical → validate → create → write back.

`handoff_process()` moves one claimed handoff as far as it can go now: validation ends in
`blocked` (typed exceptions) or `ready`; creation is one deep insert guarded by a look-up of
`PurchaseOrderByCustomer` whenever an earlier try may have gone through; the write-back tells
Salesforce the order number or why the deal is held.

No network call happens inside a database transaction. Every external call becomes a
`SyncAttempt` through the connectors' recorder, and every self-healing step is appended to the
attempt it followed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crosswalks.models import ChangeAction, ChangeChannel, CustomerMapping, MappingSource
from crosswalks.services import change_record
from crosswalks.tables import TABLES
from exceptions.models import ExceptionStatus, SyncException
from exceptions.services import exception_open
from integration_hub.canonical import CanonicalDeal, deal_from_salesforce, extract_soql
from integration_hub.connectors.base import CallRecord
from integration_hub.errors import (
    AmbiguousOutcome,
    HubError,
    NotFound,
    PermanentError,
    SessionExpired,
    StaleETag,
    TransientError,
    ValidationFailed,
)
from integration_hub.models import Handoff, HandoffStatus, SyncAttempt, TransformationLog
from integration_hub.selfheal import healing_for
from integration_hub.services import handoff_enqueue, handoff_transition, sync_attempt_add_healing, sync_attempt_record
from integration_hub.validation import (
    Validation,
    error_text,
    rejected_material,
    sales_area_terms,
    sales_order_header,
    sales_order_items,
    validate_deal,
)

logger = logging.getLogger(__name__)
S = HandoffStatus
T = TypeVar("T")

# Celery countdowns stay well under the broker's visibility timeout; longer waits are left to
# the sweeper, which reads `next_attempt_at`.
MAX_COUNTDOWN_SECONDS = 60.0

ERP_STATUS = {
    S.CREATED: "Created",
    S.WRITTEN_BACK: "Created",
    S.BLOCKED: "Blocked",
    S.AWAITING_APPROVAL: "Pending Approval",
    S.FAILED: "Failed",
    S.CANCELLED: "Cancelled",
}

_current_handoff: ContextVar[Handoff | None] = ContextVar("current_handoff", default=None)
_last_attempt: ContextVar[SyncAttempt | None] = ContextVar("last_attempt", default=None)


# -- connectors, one per process, recording into the handoff being worked on -----------------
def _record(record: CallRecord) -> None:
    healing = []
    if record.error_class == "CsrfTokenExpired":
        # The connector fetches a fresh token and resends once, by itself; say so on this attempt.
        healing.append("CSRF token expired: fetched a new token and sent the request again")
    attempt = sync_attempt_record(handoff=_current_handoff.get(), record=record, healing=healing)
    _last_attempt.set(attempt)


_clients: dict[str, tuple[tuple[str, ...], Any]] = {}


def _client(name: str, key: tuple[str, ...], build: Callable[[], Any]) -> Any:
    cached = _clients.get(name)
    if cached is None or cached[0] != key:
        _clients[name] = (key, build())
    return _clients[name][1]


def salesforce() -> Any:
    from integration_hub.connectors.salesforce import SalesforceClient

    key = (settings.SALESFORCE_INSTANCE_URL, settings.SALESFORCE_SESSION_ID, settings.SALESFORCE_USERNAME)
    return _client("salesforce", key, lambda: SalesforceClient.from_settings(recorder=_record))


def sap() -> Any:
    from integration_hub.connectors.sap import SapClient

    key = (settings.SAP_BASE_URL, settings.SAP_USER, settings.SAP_PASSWORD)
    return _client("sap", key, lambda: SapClient.from_settings(recorder=_record))


def _heal(step: str) -> None:
    attempt = _last_attempt.get()
    if attempt is not None:
        sync_attempt_add_healing(attempt=attempt, step=step)


def _salesforce_call(call: Callable[[Any], T]) -> T:
    """One Salesforce call; an expired session is re-authenticated once, then the call is sent again."""
    client = salesforce()
    try:
        return call(client)
    except SessionExpired:
        _heal("Salesforce session expired: authenticated again and resent the request")
        client.reauthenticate()
        return call(client)


# -- the entry point ----------------------------------------------------------------------------
def handoff_process(*, handoff_id: int) -> None:
    """Move a (claimed) handoff forward until it waits on a person, on time, or is done."""
    handoff = Handoff.objects.get(pk=handoff_id)
    token = _current_handoff.set(handoff)
    try:
        for _ in range(8):
            if handoff.next_attempt_at and handoff.next_attempt_at > timezone.now():
                _schedule(handoff, (handoff.next_attempt_at - timezone.now()).total_seconds())
                return
            step = _STEPS.get(handoff.status)
            if step is None or not step(handoff):
                return
            handoff.refresh_from_db()
    finally:
        _current_handoff.reset(token)
        _last_attempt.set(None)


def _schedule(handoff: Handoff, delay: float) -> None:
    if delay <= MAX_COUNTDOWN_SECONDS:
        handoff_enqueue(handoff_id=handoff.pk, countdown=max(0.0, delay))
    # Longer waits: the sweeper picks the row up once next_attempt_at has passed.


def _defer(handoff: Handoff, error: TransientError, *, stage: str) -> None:
    """A transient failure: record the healing, then wait (backoff, Retry-After) and try again."""
    attempts = handoff.attempts + 1
    healing = healing_for(error, attempts)
    _heal(healing.step)
    if stage == "create" and attempts >= settings.HUB_SAP_CREATE_MAX_FAILURES:
        _block_on_creation_error(handoff, error, attempts=attempts)
        return
    if stage != "create" and attempts >= settings.HUB_MAX_TRANSIENT_FAILURES:
        _fail(handoff, f"{stage} kept failing ({attempts} attempts); last error: {error}")
        return
    next_at = timezone.now() + timedelta(seconds=healing.wait_seconds)
    with transaction.atomic():
        fields = {"attempts": attempts, "next_attempt_at": next_at, "last_error": str(error)[:2000]}
        if handoff.status == S.CREATING:
            handoff_transition(handoff=handoff, to_status=S.READY, actor_label="worker",
                               reason=f"{stage} failed ({error}); {healing.step}", **fields)
        else:
            Handoff.objects.filter(pk=handoff.pk).update(**fields)
            for name, value in fields.items():
                setattr(handoff, name, value)
        _schedule(handoff, healing.wait_seconds)


def _fail(handoff: Handoff, reason: str) -> None:
    handoff_transition(handoff=handoff, to_status=S.FAILED, actor_label="worker", reason=reason, last_error=reason)
    write_back_hold(handoff, reason)


# -- validation ---------------------------------------------------------------------------------
def _validate(handoff: Handoff) -> bool:
    if handoff.status == S.RECEIVED:
        handoff_transition(handoff=handoff, to_status=S.VALIDATING, actor_label="worker", reason="validation started")
    try:
        records = _salesforce_call(lambda sf: sf.query_all(extract_soql(handoff.opportunity_id)))
    except TransientError as error:
        _defer(handoff, error, stage="extract")
        return False
    except PermanentError as error:
        _fail(handoff, f"Salesforce refused the extract: {error}")
        return False
    if not records:
        _fail(handoff, "the Opportunity no longer exists in Salesforce")
        return False
    record = records[0]
    if record.get("StageName") not in settings.HUB_CLOSED_WON_STAGES and not record.get("IsWon"):
        handoff_transition(handoff=handoff, to_status=S.CANCELLED, actor_label="worker",
                           reason=f"the deal left Closed Won (stage now {record.get('StageName')!r}); nothing sent to SAP")
        return False

    deal, derivations = deal_from_salesforce(record, org_id=handoff.org_id, currency=settings.HUB_CRM_CURRENCY)
    try:
        result = validate_deal(deal, sap(), handoff.overrides)
    except TransientError as error:
        _defer(handoff, error, stage="validation")
        return False
    except PermanentError as error:
        _fail(handoff, f"SAP refused a read during validation: {error}")
        return False
    result.derivations[:0] = derivations
    _finish_validation(handoff, result)
    if result.defects:
        write_back_hold(handoff, _hold_reason(handoff))
    return not result.defects


def _log_derivations(handoff: Handoff, result: Validation) -> None:
    TransformationLog.objects.bulk_create(
        TransformationLog(handoff=handoff, field_path=d.field[:200], source_value=d.source, result_value=d.result,
                          rule=d.rule[:200], confidence=round(max(0.0, min(1.0, d.confidence)), 3))
        for d in result.derivations
    )


def _learn_customer(handoff: Handoff, result: Validation) -> None:
    """A match SAP confirmed becomes a crosswalk row: the next deal for this account skips the search."""
    if result.learned_customer is None:
        return
    partner, confidence, rule = result.learned_customer
    org = result.deal.organization
    mapping, created = CustomerMapping.objects.get_or_create(
        org_id=handoff.org_id,
        crm_account_id=org.crm_account_id,
        defaults={"crm_account_name": org.name[:255], "sap_business_partner": partner,
                  "confidence": round(confidence, 3), "source": MappingSource.SUGGESTED},
    )
    if created:
        table = TABLES["customers"]
        change_record(table=table, action=ChangeAction.CREATE, channel=ChangeChannel.API, before=None,
                      after=table.snapshot(mapping), actor=None,
                      reason=f"learnt by the pipeline: {rule} at {confidence:.2f} (deal {result.deal.opportunity_id})")


def _finish_validation(handoff: Handoff, result: Validation) -> None:
    from approvals.risk import risk_inputs_read
    from approvals.services import risk_route

    # Risk scoring's reads (AR aging, agreed terms, deal owner) happen before the transaction.
    inputs = None if result.defects else risk_inputs_read(
        result.deal, sap=sap(), salesforce_call=_salesforce_call, today=timezone.localdate(), known=result)
    with transaction.atomic():
        # The canonical deal first: exception routing and enrichment read it when they open.
        Handoff.objects.filter(pk=handoff.pk).update(canonical=result.deal.to_json())
        _log_derivations(handoff, result)
        _learn_customer(handoff, result)
        for defect in result.defects:
            exception_open(handoff=handoff, type_code=defect.type_code, fingerprint=defect.identity,
                           title=defect.title[:200], message=defect.message, evidence=defect.evidence)
        fields = {"canonical": result.deal.to_json(), "attempts": 0, "next_attempt_at": None, "last_error": ""}
        if result.defects:
            summary = "; ".join(sorted({d.title for d in result.defects}))
            handoff_transition(handoff=handoff, to_status=S.BLOCKED, actor_label="worker",
                               reason=f"{len(result.defects)} check(s) failed: {summary}", **fields)
            return
        assert inputs is not None
        to_status, level, reason = risk_route(handoff=handoff, result=result, inputs=inputs)
        handoff_transition(handoff=handoff, to_status=to_status, actor_label="worker", reason=reason,
                           risk_level=level, **fields)
    if to_status == S.AWAITING_APPROVAL:
        write_back_hold(handoff, reason)


# -- creation -----------------------------------------------------------------------------------
def sales_order_payload(deal: CanonicalDeal) -> dict[str, Any]:
    """The one deep insert: header, partners and every item, all or nothing."""
    payload = sales_order_header(deal)
    if deal.requested_delivery_date:
        payload["RequestedDeliveryDate"] = datetime.combine(deal.requested_delivery_date, time(), tzinfo=UTC)
    partners = [{"PartnerFunction": "SH", "Customer": deal.ship_to.sap_ship_to or deal.organization.sap_business_partner}]
    if deal.primary_contact.sap_contact_person:
        partners.append({"PartnerFunction": "CP", "ContactPerson": deal.primary_contact.sap_contact_person})
    payload["to_Partner"] = partners
    payload["to_Item"] = sales_order_items(deal)
    handoff = _current_handoff.get()
    if handoff is not None and handoff.risk_level == "medium":
        # Medium risk: the order goes ahead but nothing ships until the approver's window closes.
        from approvals.selectors import risk_settings_get

        payload["DeliveryBlockReason"] = risk_settings_get().delivery_block_reason
    return payload


def _adopt(handoff: Handoff, order: dict[str, Any], reason: str) -> bool:
    handoff_transition(handoff=handoff, to_status=S.CREATED, actor_label="worker", reason=reason,
                       sap_sales_order=str(order["SalesOrder"]), attempts=0, next_attempt_at=None, last_error="")
    return True


def _create(handoff: Handoff) -> bool:
    # A crash or an unknown outcome may have left an order behind: look before creating.
    look_up_first = handoff.status == S.CREATING or handoff.attempts > 0
    if handoff.status == S.READY:
        handoff_transition(handoff=handoff, to_status=S.CREATING, actor_label="worker", reason="deep insert")
    deal = CanonicalDeal.from_json(handoff.canonical)
    client = sap()
    try:
        if look_up_first:
            found = client.find_sales_orders(deal.opportunity_id)
            if found:
                return _adopt(handoff, found[0], f"SAP already holds order {found[0]['SalesOrder']} for this deal")
        order = _create_healing(handoff, deal)
    except AmbiguousOutcome as error:
        try:
            found = client.find_sales_orders(deal.opportunity_id)
        except TransientError:
            found = []
        if found:
            _heal(f"outcome unknown ({error}); SAP holds order {found[0]['SalesOrder']}: adopted it, nothing resent")
            return _adopt(handoff, found[0], "order found by PurchaseOrderByCustomer after an unknown outcome")
        _defer(handoff, error, stage="create")
        return False
    except TransientError as error:
        _defer(handoff, error, stage="create")
        return False
    except PermanentError as error:
        _block_on_permanent(handoff, deal, error)
        return False
    created = _adopt(handoff, order, f"SAP order {order['SalesOrder']} created")
    if handoff.risk_level == "medium":
        from approvals.services import approval_window_start

        approval_window_start(handoff=handoff)
    return created


def _create_healing(handoff: Handoff, deal: CanonicalDeal) -> dict[str, Any]:
    """Deep insert; a rejected payment-terms key is re-derived from SAP's master data once."""
    client = sap()
    try:
        return client.create_sales_order(sales_order_payload(deal))
    except ValidationFailed as error:
        text = error_text(error).lower()
        if not any(term in text for term in ("terms of payment", "payment terms", "paymentterms")):
            raise
        partner = client.get_business_partner(deal.organization.sap_business_partner)
        terms = sales_area_terms(partner, deal)
        if not terms or terms == deal.payment_terms:
            raise
        _heal(f"SAP rejected payment terms {deal.payment_terms!r}: re-read the customer's sales area, "
              f"sending its terms {terms!r} instead")
        TransformationLog.objects.create(
            handoff=handoff, field_path="transaction.payment.terms", source_value=deal.payment_terms,
            result_value=terms, rule="SAP rejected the crosswalk key: customer sales-area default", confidence=0.9)
        deal.payment_terms = terms
        Handoff.objects.filter(pk=handoff.pk).update(canonical=deal.to_json())
        return client.create_sales_order(sales_order_payload(deal))


def _block_on_permanent(handoff: Handoff, deal: CanonicalDeal, error: PermanentError) -> None:
    """SAP said no for a reason a person must fix; a rejected material goes to product ops."""
    text = error_text(error)
    material = rejected_material(error, deal)
    if material:
        try:
            exists = sap().get_product(material) is not None
        except (TransientError, NotFound):
            exists = False
        _heal(f"SAP rejected material {material}: re-read it ({'exists' if exists else 'not in SAP'}); "
              "routed to product ops instead of resending")
        line = next(line for line in deal.lines if any(m.material == material for m in line.materials))
        with transaction.atomic():
            exception_open(
                handoff=handoff, type_code="product_not_mapped", fingerprint=f"product:{line.product_code}",
                title=f"SAP rejected material {material} for {line.description}"[:200],
                message=f"The crosswalk maps '{line.description}' to {material}, which SAP refused: {error.message}. "
                        "Correct the crosswalk row; the deal re-runs when this is resolved.",
                evidence={"product_code": line.product_code, "material": material, "sap_error": text,
                          "material_exists_in_sap": exists},
            )
            handoff_transition(handoff=handoff, to_status=S.BLOCKED, actor_label="worker",
                               reason=f"SAP rejected material {material}", last_error=text[:2000])
        write_back_hold(handoff, _hold_reason(handoff))
        return
    _block_on_creation_error(handoff, error, attempts=handoff.attempts + 1)


def _block_on_creation_error(handoff: Handoff, error: HubError, *, attempts: int) -> None:
    with transaction.atomic():
        exception_open(
            handoff=handoff, type_code="sap_creation_error", fingerprint="create",
            title=f"SAP could not create the order: {error.message}"[:200],
            message=f"Creating the sales order failed {attempts} time(s); self-healing could not fix it. "
                    f"Last error: {error}. Resolve to retry from validation.",
            evidence={"error_class": error.__class__.__name__, "status": error.status, "code": error.code,
                      "details": [str(d) for d in error.details], "attempts": attempts,
                      "transient": isinstance(error, TransientError)},
        )
        handoff_transition(handoff=handoff, to_status=S.BLOCKED, actor_label="worker",
                           reason=f"SAP creation error after {attempts} attempt(s): {error}",
                           attempts=attempts, last_error=str(error)[:2000], next_attempt_at=None)
    write_back_hold(handoff, _hold_reason(handoff))


def sap_order_update(handoff: Handoff, fields: dict[str, Any]) -> None:
    """Change an existing SAP order under optimistic locking; a stale ETag is re-read, once.

    Used for changes after creation (e.g. a delivery block while an approver may still
    intervene); never blind: the second PATCH carries the ETag SAP has now.
    """
    client = sap()
    token = _current_handoff.set(handoff)
    try:
        order = client.get_sales_order(handoff.sap_sales_order, expand=False)
        try:
            client.update_sales_order(handoff.sap_sales_order, fields, order.get("etag"))
        except StaleETag:
            _heal(f"ETag of order {handoff.sap_sales_order} was stale: re-read the order and sent its current ETag")
            order = client.get_sales_order(handoff.sap_sales_order, expand=False)
            client.update_sales_order(handoff.sap_sales_order, fields, order.get("etag"))
    finally:
        _current_handoff.reset(token)


def sap_order_cancel(handoff: Handoff, *, reason: str, actor: Any = None) -> None:
    """Delete the deal's SAP order (it still has its delivery block: nothing shipped) and cancel
    the handoff. A stale ETag is re-read once, never overwritten blindly."""
    client = sap()
    token = _current_handoff.set(handoff)
    try:
        order = client.get_sales_order(handoff.sap_sales_order, expand=False)
        try:
            client.delete_sales_order(handoff.sap_sales_order, order.get("etag"))
        except StaleETag:
            _heal(f"ETag of order {handoff.sap_sales_order} was stale: re-read the order before deleting it")
            order = client.get_sales_order(handoff.sap_sales_order, expand=False)
            client.delete_sales_order(handoff.sap_sales_order, order.get("etag"))
    finally:
        _current_handoff.reset(token)
    handoff_transition(handoff=handoff, to_status=S.CANCELLED, actor=actor, actor_label="" if actor else "worker",
                       reason=f"SAP order {handoff.sap_sales_order} deleted: {reason}")
    write_back_hold(handoff, reason)


# -- write-back ---------------------------------------------------------------------------------
def _hold_reason(handoff: Handoff) -> str:
    titles = list(
        SyncException.objects.filter(handoff=handoff, status=ExceptionStatus.OPEN).order_by("pk").values_list("title", flat=True)
    )
    return "; ".join(titles)[:255]


def write_back_hold(handoff: Handoff, reason: str, *, status: str | None = None) -> None:
    """Tell sales why the deal is held: ERP_Sync_Status__c (`status`, else from the handoff's
    lifecycle status) and ERP_Hold_Reason__c. Best effort: the hub's own record is already durable."""
    label = status or ERP_STATUS.get(handoff.status, "Blocked")
    fields = {"ERP_Sync_Status__c": label, "ERP_Hold_Reason__c": reason[:255] or None}
    try:
        _salesforce_call(lambda sf: sf.update("Opportunity", handoff.opportunity_id, fields))
    except HubError as error:
        logger.warning("handoff %s: hold reason not written back to Salesforce: %s", handoff.pk, error)


def _write_back(handoff: Handoff) -> bool:
    fields = {"SAP_Sales_Order__c": handoff.sap_sales_order, "ERP_Sync_Status__c": "Created", "ERP_Hold_Reason__c": None}
    try:
        _salesforce_call(lambda sf: sf.update("Opportunity", handoff.opportunity_id, fields))
    except TransientError as error:
        _defer(handoff, error, stage="write-back")
        return False
    except PermanentError as error:
        _fail(handoff, f"order {handoff.sap_sales_order} created, but Salesforce refused the write-back: {error}")
        return False
    handoff_transition(handoff=handoff, to_status=S.WRITTEN_BACK, actor_label="worker",
                       reason=f"SAP_Sales_Order__c = {handoff.sap_sales_order}", attempts=0, next_attempt_at=None)
    return False


_STEPS: dict[str, Callable[[Handoff], bool]] = {
    S.RECEIVED: _validate,
    S.VALIDATING: _validate,
    S.READY: _create,
    S.CREATING: _create,
    S.CREATED: _write_back,
}
