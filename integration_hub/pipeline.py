"""The handoff pipeline: extract → canonical → validate → risk → create → write back.

`handoff_process()` moves one claimed handoff as far as it can go now: validation ends in
`blocked` (typed exceptions) or `ready`; creation is one all-or-nothing insert, always preceded
by a look-up of the deal's key in the ERP (a crash, a dropped response or a second trigger may
have left an order behind); the write-back tells the CRM the order number or why the deal is held.

The pipeline knows the ERP and the CRM only through their ports (`integration_hub.ports`): the
handoff's `erp_target` picks the adapter. No network call happens inside a database
transaction. Every external call becomes a `SyncAttempt` of the handoff being worked on
(`integration_hub.recording`), and every self-healing step is appended to the attempt it followed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from approvals.risk import risk_inputs_read
from approvals.selectors import risk_settings_get
from approvals.services import approval_window_start, risk_route
from crosswalks.selectors import erp_target_route
from crosswalks.services import customer_mapping_learn
from exceptions.models import NON_HOLDING_TYPES, ExceptionStatus, SyncException
from exceptions.services import exception_open
from integration_hub import ports
from integration_hub.breaker import (
    PARKED,
    Gate,
    breaker_failure,
    breaker_gate,
    breaker_is_down_error,
    breaker_success,
    parked_until,
)
from integration_hub.canonical import CanonicalDeal, Derivation
from integration_hub.connectors.salesforce import COLLECTION_LIMIT
from integration_hub.crm.base import DealSyncStatus, StatusUpdate
from integration_hub.dispatch import WRITE_BACKS_FLUSH, max_countdown, send_now
from integration_hub.erp.base import ErpOrder, ErpPort
from integration_hub.errors import (
    AmbiguousOutcome,
    HubError,
    NotFound,
    PermanentError,
    TransientError,
    ValidationFailed,
)
from integration_hub.models import Handoff, HandoffStatus
from integration_hub.orders import handoff_status_write_back
from integration_hub.recording import heal, working_on
from integration_hub.selfheal import healing_for
from integration_hub.services import (
    handoff_enqueue,
    handoff_transition,
    handoffs_release,
    handoffs_unpark,
    handoffs_write_back_claim,
    transformation_log_add,
    transformation_logs_add,
)
from integration_hub.validation import Validation, validate_deal

logger = logging.getLogger(__name__)
S = HandoffStatus


def _erp(handoff: Handoff) -> ErpPort:
    return ports.erp_for(handoff.erp_target)


# The steps that call the ERP, and so pass its circuit breaker first (integration_hub.breaker).
_ERP_STAGES = frozenset({"validation", "create"})
_ERP_STATUSES = frozenset({S.RECEIVED, S.VALIDATING, S.READY, S.CREATING})


@dataclass
class _Passage:
    """The breaker's gate for the step in progress, and whether the ERP failed as down during it."""

    gate: Gate
    down: bool = False


_passage: ContextVar[_Passage | None] = ContextVar("breaker_passage", default=None)


# -- the entry point ----------------------------------------------------------------------------
def handoff_process(*, handoff_id: int, handoff: Handoff | None = None) -> None:
    """Move a (claimed) handoff forward until it waits on a person, on time, or is done.

    `handoff` is the row as the claim read it. Each step moves it through `handoff_transition`,
    which keeps the object truthful and moves the row only from the status the object holds, so
    the steps need not read it again in between.
    """
    handoff = handoff if handoff is not None else Handoff.objects.get(pk=handoff_id)
    with working_on(handoff):
        for _ in range(8):
            if handoff.next_attempt_at and handoff.next_attempt_at > timezone.now():
                _schedule(handoff, (handoff.next_attempt_at - timezone.now()).total_seconds())
                return
            step = _STEPS.get(handoff.status)
            if step is None or not _through_breaker(handoff, step):
                return


def _through_breaker(handoff: Handoff, step: Callable[[Handoff], bool]) -> bool:
    """Run a step that calls the ERP only when its breaker lets it; otherwise park the handoff."""
    if handoff.status not in _ERP_STATUSES:
        return step(handoff)
    gate = breaker_gate(target=handoff.erp_target, worker=handoff.claimed_by or "worker")
    if not gate.allowed:
        _park(handoff, gate, reason="SAP is not being called while its circuit breaker is open")
        return False
    passage = _Passage(gate)
    token = _passage.set(passage)
    try:
        proceeded = step(handoff)
    finally:
        _passage.reset(token)
    if not passage.down and breaker_success(target=handoff.erp_target, gate=gate):
        handoffs_unpark(erp_target=handoff.erp_target, prefix=PARKED)
    return proceeded


def _park(handoff: Handoff, gate: Gate, *, reason: str) -> None:
    """Wait for the ERP to come back without spending an attempt (nothing was wrong with the deal)."""
    next_at = parked_until(gate)
    note = f"{PARKED} until {timezone.localtime(next_at):%H:%M:%S}: {reason}"
    with transaction.atomic():
        fields: dict[str, Any] = {"next_attempt_at": next_at, "last_error": note[:2000]}
        if handoff.status == S.CREATING:
            handoff_transition(handoff=handoff, to_status=S.READY, actor_label="worker", reason=note, **fields)
        else:
            Handoff.objects.filter(pk=handoff.pk).update(**fields)
            for name, value in fields.items():
                setattr(handoff, name, value)
        _schedule(handoff, (next_at - timezone.now()).total_seconds())


def _schedule(handoff: Handoff, delay: float) -> None:
    # A countdown stays under the broker's visibility timeout (dispatch.max_countdown); longer
    # waits are left to the sweeper, which picks the row up once `next_attempt_at` has passed.
    if delay <= max_countdown():
        handoff_enqueue(handoff_id=handoff.pk, countdown=max(0.0, delay))


def _defer(handoff: Handoff, error: TransientError, *, stage: str) -> None:
    """A transient failure: record the healing, then wait (backoff, Retry-After) and try again."""
    passage = _passage.get()
    if passage is not None and stage in _ERP_STAGES and breaker_is_down_error(error):
        passage.down = True
        gate = breaker_failure(target=handoff.erp_target, error=error, gate=passage.gate)
        if not gate.allowed:
            heal(f"SAP is down ({error.__class__.__name__}): circuit breaker open, the deal waits without "
                 "calling again")
            _park(handoff, gate, reason=str(error))
            return
    attempts = handoff.attempts + 1
    healing = healing_for(error, attempts)
    heal(healing.step)
    if stage == "create" and attempts >= settings.HUB_SAP_CREATE_MAX_FAILURES:
        _block_on_creation_error(handoff, error, attempts=attempts)
        return
    if stage != "create" and attempts >= settings.HUB_MAX_TRANSIENT_FAILURES:
        _fail(handoff, f"{stage} kept failing ({attempts} attempts); last error: {error}")
        return
    next_at = timezone.now() + timedelta(seconds=healing.wait_seconds)
    with transaction.atomic():
        fields: dict[str, Any] = {"attempts": attempts, "next_attempt_at": next_at, "last_error": str(error)[:2000]}
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
    handoff_status_write_back(handoff=handoff, reason=reason)


# -- validation ---------------------------------------------------------------------------------
def _validate(handoff: Handoff) -> bool:
    if handoff.status == S.RECEIVED:
        handoff_transition(handoff=handoff, to_status=S.VALIDATING, actor_label="worker", reason="validation started")
    try:
        crm_deal = ports.crm().deal_read(handoff.opportunity_id, org_id=handoff.org_id,
                                         currency=settings.HUB_CRM_CURRENCY)
    except TransientError as error:
        _defer(handoff, error, stage="extract")
        return False
    except PermanentError as error:
        _fail(handoff, f"Salesforce refused the extract: {error}")
        return False
    if crm_deal is None:
        _fail(handoff, "the Opportunity no longer exists in Salesforce")
        return False
    if crm_deal.stage not in settings.HUB_CLOSED_WON_STAGES and not crm_deal.is_won:
        handoff_transition(handoff=handoff, to_status=S.CANCELLED, actor_label="worker",
                           reason=f"the deal left Closed Won (stage now {crm_deal.stage!r}); nothing sent to SAP")
        return False

    _route(handoff, crm_deal.deal, crm_deal.derivations)
    erp = _erp(handoff)
    try:
        result = validate_deal(crm_deal.deal, erp, handoff.overrides)
    except TransientError as error:
        _defer(handoff, error, stage="validation")
        return False
    except PermanentError as error:
        _fail(handoff, f"SAP refused a read during validation: {error}")
        return False
    result.derivations[:0] = crm_deal.derivations
    _finish_validation(handoff, result, erp)
    if result.defects:
        handoff_status_write_back(handoff=handoff, reason=_hold_reason(handoff))
    return not result.defects


def _route(handoff: Handoff, deal: CanonicalDeal, derivations: list[Derivation]) -> None:
    """Which ERP the deal goes to, decided at every extraction until an order exists (the deal's own
    choice of target, an ERP-target rule by account or billing country, the default)."""
    org = deal.organization
    choice = erp_target_route(requested=deal.erp_target_requested, crm_account_id=org.crm_account_id,
                              billing_country=org.billing_country, known=ports.ERP_TARGETS)
    derivations.append(Derivation("transaction.erp_target", deal.erp_target_requested or org.billing_country,
                                  choice.target, choice.rule, 1.0))
    if choice.target != handoff.erp_target and not handoff.sap_sales_order:
        Handoff.objects.filter(pk=handoff.pk).update(erp_target=choice.target)
        handoff.erp_target = choice.target


def _learn_customer(handoff: Handoff, result: Validation) -> None:
    """A match the ERP confirmed becomes a crosswalk row: the next deal for this account skips the search."""
    if result.learned_customer is None:
        return
    partner, confidence, rule = result.learned_customer
    org = result.deal.organization
    customer_mapping_learn(org_id=handoff.org_id, crm_account_id=org.crm_account_id, crm_account_name=org.name,
                           business_partner=partner, confidence=confidence, erp_target=handoff.erp_target,
                           reason=f"learnt by the pipeline: {rule} at {confidence:.2f} (deal {result.deal.opportunity_id})")


def _finish_validation(handoff: Handoff, result: Validation, erp: ErpPort) -> None:
    # Risk scoring's reads (AR aging, agreed terms, deal owner) happen before the transaction.
    inputs = None if result.defects else risk_inputs_read(
        result.deal, erp=erp, crm=ports.crm(), today=timezone.localdate(), known=result)
    with transaction.atomic():
        # The canonical deal first when exceptions open: their routing and enrichment read it.
        # A clean deal's is saved by its transition below.
        if result.defects:
            Handoff.objects.filter(pk=handoff.pk).update(canonical=result.deal.to_json())
        transformation_logs_add(handoff=handoff, derivations=result.derivations)
        _learn_customer(handoff, result)
        for defect in result.defects:
            exception_open(handoff=handoff, type_code=defect.type_code, fingerprint=defect.identity,
                           title=defect.title[:200], message=defect.message, evidence=defect.evidence)
        fields: dict[str, Any] = {"canonical": result.deal.to_json(), "attempts": 0, "next_attempt_at": None, "last_error": ""}
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
        handoff_status_write_back(handoff=handoff, reason=reason)


# -- creation -----------------------------------------------------------------------------------
def _delivery_block(handoff: Handoff) -> str:
    # Medium risk: the order goes ahead but nothing ships until the approver's window closes.
    return risk_settings_get().delivery_block_reason if handoff.risk_level == "medium" else ""


def _adopt(handoff: Handoff, order: ErpOrder, reason: str) -> bool:
    handoff_transition(handoff=handoff, to_status=S.CREATED, actor_label="worker", reason=reason,
                       sap_sales_order=order.number, attempts=0, next_attempt_at=None, last_error="")
    return True


def _create(handoff: Handoff) -> bool:
    if handoff.status == S.READY:
        handoff_transition(handoff=handoff, to_status=S.CREATING, actor_label="worker", reason="deep insert")
    deal = CanonicalDeal.from_json(handoff.canonical)
    erp = _erp(handoff)
    try:
        # Look before creating: a crash, an unknown outcome or a second handoff of the same deal may
        # have left an order behind. One read buys at most one order per deal — unless the ERP's
        # create is itself an upsert by the deal's key, which cannot make a second order.
        found = [] if getattr(erp, "creates_idempotently", False) else erp.orders_find(deal.opportunity_id)
        if found:
            return _adopt(handoff, found[0], f"SAP already holds order {found[0].number} for this deal")
        order = _create_healing(handoff, deal, erp)
    except AmbiguousOutcome as error:
        try:
            found = erp.orders_find(deal.opportunity_id)
        except TransientError:
            found = []
        if found:
            heal(f"outcome unknown ({error}); SAP holds order {found[0].number}: adopted it, nothing resent")
            return _adopt(handoff, found[0], "order found by the deal's key after an unknown outcome")
        _defer(handoff, error, stage="create")
        return False
    except TransientError as error:
        _defer(handoff, error, stage="create")
        return False
    except PermanentError as error:
        _block_on_permanent(handoff, deal, error, erp)
        return False
    created = _adopt(handoff, order, f"SAP order {order.number} created")
    if handoff.risk_level == "medium":
        approval_window_start(handoff=handoff)
    return created


def _create_healing(handoff: Handoff, deal: CanonicalDeal, erp: ErpPort) -> ErpOrder:
    """Create; a rejected payment-terms key is re-derived from the ERP's master data once."""
    block = _delivery_block(handoff)
    try:
        return erp.order_create(deal, delivery_block=block)
    except ValidationFailed as error:
        rejection = erp.rejection(error, deal)
        if rejection is None or rejection.field != "payment_terms":
            raise
        org = deal.organization
        terms = erp.customer_get(org.sap_business_partner).terms_in(org.sales_organization, org.distribution_channel)
        if not terms or terms == deal.payment_terms:
            raise
        heal(f"SAP rejected payment terms {deal.payment_terms!r}: re-read the customer's sales area, "
             f"sending its terms {terms!r} instead")
        transformation_log_add(
            handoff=handoff, field_path="transaction.payment.terms", source_value=deal.payment_terms,
            result_value=terms, rule="SAP rejected the crosswalk key: customer sales-area default", confidence="0.9")
        deal.payment_terms = terms
        Handoff.objects.filter(pk=handoff.pk).update(canonical=deal.to_json())
        return erp.order_create(deal, delivery_block=block)


def _block_on_permanent(handoff: Handoff, deal: CanonicalDeal, error: PermanentError, erp: ErpPort) -> None:
    """The ERP said no for a reason a person must fix; a rejected material goes to product ops."""
    text = error.full_text()
    rejection = erp.rejection(error, deal)
    if rejection is not None and rejection.field == "material":
        material = rejection.value
        try:
            exists = erp.material_exists(material)
        except (TransientError, NotFound):
            exists = False
        heal(f"SAP rejected material {material}: re-read it ({'exists' if exists else 'not in SAP'}); "
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
        handoff_status_write_back(handoff=handoff, reason=_hold_reason(handoff))
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
    handoff_status_write_back(handoff=handoff, reason=_hold_reason(handoff))


# -- write-back ---------------------------------------------------------------------------------
def _hold_reason(handoff: Handoff) -> str:
    titles = list(
        SyncException.objects.filter(handoff=handoff, status=ExceptionStatus.OPEN).exclude(type_code__in=NON_HOLDING_TYPES)
        .order_by("pk").values_list("title", flat=True)
    )
    return "; ".join(titles)[:255]


def _write_back(handoff: Handoff) -> bool:
    """Created in SAP: say so in the CRM. With a linger (HUB_WRITEBACK_LINGER_SECONDS) the deal
    joins the next batch instead — in a burst, one composite call writes up to 200 deals."""
    if settings.HUB_WRITEBACK_LINGER_SECONDS > 0:
        # Hand the row to the batch: give the claim back first, so the flush can take it.
        handoffs_release(ids=[handoff.pk], worker=handoff.claimed_by)
        write_backs_flush_soon()
        return False
    try:
        ports.crm().deal_status_write(handoff.opportunity_id, status="Created", order_number=handoff.sap_sales_order,
                                      erp_target=handoff.erp_target)
    except TransientError as error:
        _defer(handoff, error, stage="write-back")
        return False
    except PermanentError as error:
        _fail(handoff, f"order {handoff.sap_sales_order} created, but Salesforce refused the write-back: {error}")
        return False
    _written_back(handoff, batch=1)
    return False


def _written_back(handoff: Handoff, *, batch: int) -> None:
    how = f" (one composite call for {batch} deals)" if batch > 1 else ""
    handoff_transition(handoff=handoff, to_status=S.WRITTEN_BACK, actor_label="worker",
                       reason=f"order {handoff.sap_sales_order} written back to the CRM{how}", attempts=0,
                       next_attempt_at=None)


# Per-record refusals Salesforce clears by itself (a row lock held by another transaction).
_RECORD_RETRYABLE = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE"})
_FLUSH_KEY = "pipeline:write-backs-flush"


def write_backs_flush_soon() -> None:
    """Ask for a flush in HUB_WRITEBACK_LINGER_SECONDS, once per window however many deals ask.

    The request holds the time its flush starts: a deal released before then is in that flush,
    so it need not ask. A later deal asks again; a second flush finding nothing costs one query.
    """
    linger = settings.HUB_WRITEBACK_LINGER_SECONDS
    now = time.time()
    starts = cache.get(_FLUSH_KEY)
    if isinstance(starts, float) and starts > now:
        return
    cache.set(_FLUSH_KEY, now + linger, timeout=max(1, math.ceil(linger)))
    if not send_now(WRITE_BACKS_FLUSH, countdown=linger):
        cache.delete(_FLUSH_KEY)  # the broker is down: the sweeper's wake-up asks again


def write_backs_flush(*, worker: str) -> int:
    """Write back every created deal waiting for it, at most COLLECTION_LIMIT records a
    composite call; returns how many deals were sent.

    A flush that wrote something asks for one more a linger later, unless a deal already did: a deal
    whose worker's clock or cache saw this flush as still to come is in the next one (the sweeper is
    the last net), and only one flush waits at a time, so a burst's write-backs gather.
    """
    sent = 0
    while True:
        batch = handoffs_write_back_claim(worker=worker, limit=COLLECTION_LIMIT)
        if batch:
            try:
                _write_back_batch(batch)
            finally:
                handoffs_release(ids=[h.pk for h in batch], worker=worker)
            sent += len(batch)
        if len(batch) < COLLECTION_LIMIT:
            break
    if sent and settings.HUB_WRITEBACK_LINGER_SECONDS > 0:
        write_backs_flush_soon()  # unless a deal has asked already: one flush waits at a time
    return sent


def _write_back_batch(batch: list[Handoff]) -> None:
    updates = [StatusUpdate(record_id=h.opportunity_id, sync=DealSyncStatus(status="Created",
                                                                           order_number=h.sap_sales_order,
                                                                           erp_target=h.erp_target))
               for h in batch]
    try:
        # One exchange for the batch: its sync attempt belongs to the first deal; the others'
        # events name the composite call.
        with working_on(batch[0]):
            outcomes = ports.crm().deal_statuses_write(updates)
    except TransientError as error:
        for handoff in batch:
            with working_on(handoff):
                _defer(handoff, error, stage="write-back")
        return
    except PermanentError as error:
        for handoff in batch:
            _fail(handoff, f"order {handoff.sap_sales_order} created, but Salesforce refused the write-back: {error}")
        return
    for handoff, outcome in zip(batch, outcomes, strict=True):
        if outcome.ok:
            _written_back(handoff, batch=len(batch))
        elif any(e.get("code") in _RECORD_RETRYABLE for e in outcome.errors):
            with working_on(handoff):
                _defer(handoff, TransientError(f"Salesforce: {outcome.message}", system="salesforce"),
                       stage="write-back")
        else:
            _fail(handoff, f"order {handoff.sap_sales_order} created, but Salesforce refused the write-back: "
                           f"{outcome.message}")


_STEPS: dict[str, Callable[[Handoff], bool]] = {
    S.RECEIVED: _validate,
    S.VALIDATING: _validate,
    S.READY: _create,
    S.CREATING: _create,
    S.CREATED: _write_back,
}
