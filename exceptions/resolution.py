"""Resolution paths, one per exception type (DESIGN.md catalogue), shared by the UI, the API
and bulk actions.

Each path fixes the *data* (a crosswalk row, or an override on the handoff that validation
honours) and then resolves the exception, so the last one closed re-runs the handoff from
validation. The paths that end a deal instead (send back, reject, cancel) move the handoff out
of `blocked` first — closing its exception must not re-run it — and tell Salesforce why after
commit (never call an external system inside a transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet

from crosswalks.models import CustomerMapping, MappingSource, PaymentTermsMapping, ProductMapping
from crosswalks.services import product_mapping_create, product_mapping_update
from exceptions.models import EventKind, ExceptionStatus, ExceptionType, SyncException
from exceptions.permissions import queue_has_perm, queues_for
from exceptions.services import (
    ExceptionNotOpen,
    _note,
    exception_dismiss,
    exception_resolve,
    queue_ensure,
)
from integration_hub.models import Handoff, HandoffStatus
from integration_hub.services import handoff_override_set, handoff_transition

User = AbstractBaseUser | None
POLICY_DEFAULT_TERMS = "Net 30"


class ResolutionError(ValueError):
    """The chosen path does not fit this exception, or its input is wrong."""


def _by(actor: User) -> str:
    return actor.get_username() if actor is not None else "system"


def _require_open(exception: SyncException) -> None:
    if exception.status != ExceptionStatus.OPEN:
        raise ExceptionNotOpen(f"exception {exception.pk} is {exception.status}, not open")


def _require_type(exception: SyncException, *types: str) -> None:
    if exception.type_code not in types:
        raise ResolutionError(f"this path does not apply to a {exception.get_type_code_display()} exception")


def _write_back_after_commit(handoff_id: int, reason: str) -> None:
    def send() -> None:
        from integration_hub.pipeline import write_back_hold

        write_back_hold(Handoff.objects.get(pk=handoff_id), reason)

    transaction.on_commit(send)


def root_cause_group(*, exception: SyncException, actor: User = None) -> QuerySet[SyncException]:
    """Open exceptions sharing this one's cause (type + fingerprint) across handoffs, limited to
    the queues `actor` may work."""
    group = SyncException.objects.filter(
        status=ExceptionStatus.OPEN, type_code=exception.type_code, fingerprint=exception.fingerprint
    )
    if actor is not None:
        group = group.filter(queue__in=queues_for(user=actor, perm="work"))
    return group.order_by("pk")


def _end_deal(
    *, exception: SyncException, actor: User, to_status: str, note: str, hold_reason: str
) -> SyncException:
    note = (note or "").strip()
    if not note:
        raise ResolutionError("say why: the note is written back to Salesforce")
    handoff = Handoff.objects.select_for_update().get(pk=exception.handoff_id)
    if handoff.status == HandoffStatus.BLOCKED:
        handoff_transition(handoff=handoff, to_status=to_status, actor=actor, reason=f"{hold_reason}: {note}",
                           last_error=f"{hold_reason}: {note}"[:2000])
    closed = exception_dismiss(exception=exception, actor=actor, note=f"{hold_reason}: {note}")
    _write_back_after_commit(handoff.pk, f"{hold_reason}: {note}")
    return closed


# -- the paths ------------------------------------------------------------------------------------
@transaction.atomic
def resolve_customer_pick(
    *, exception: SyncException, actor: User, business_partner: str, note: str = ""
) -> SyncException:
    """Map the deal's account to the picked SAP business partner (customer crosswalk, manual)."""
    _require_open(exception)
    _require_type(exception, ExceptionType.CUSTOMER_NOT_FOUND)
    business_partner = (business_partner or "").strip()
    if not business_partner or len(business_partner) > 10:
        raise ResolutionError("pick a business partner (up to 10 characters)")
    evidence = exception.evidence or {}
    account = str(evidence.get("account") or "")
    if not account:
        raise ResolutionError("the exception names no CRM account to map")
    CustomerMapping.objects.update_or_create(
        org_id=exception.handoff.org_id,
        crm_account_id=account,
        defaults={"sap_business_partner": business_partner, "source": MappingSource.MANUAL,
                  "confidence": Decimal("1"), "crm_account_name": str(evidence.get("account_name") or "")[:255]},
    )
    return _resolve_group(exception=exception, actor=actor,
                          note=note or f"mapped {evidence.get('account_name') or account} to BP {business_partner}")


@transaction.atomic
def resolve_pricing(*, exception: SyncException, actor: User, action: str, note: str = "") -> SyncException:
    """Accept SAP's price, or approve the CRM price as a manual condition (override `pricing`)."""
    _require_open(exception)
    _require_type(exception, ExceptionType.PRICING_MISMATCH)
    if action not in ("accept_sap", "crm_price"):
        raise ResolutionError("choose accept_sap or crm_price")
    code = str((exception.evidence or {}).get("product_code") or "")
    handoff_override_set(handoff=exception.handoff, key="pricing", value={code: {"action": action, "by": _by(actor)}},
                         actor=actor, reason=f"pricing {code}: {action}" + (f" ({note})" if note else ""))
    label = "accepted SAP's price" if action == "accept_sap" else "approved the CRM price as a manual override"
    return exception_resolve(exception=exception, actor=actor, note=note or f"{label} for {code}")


@transaction.atomic
def resolve_send_back(*, exception: SyncException, actor: User, note: str) -> SyncException:
    """Send the deal back to sales: the handoff fails and the reason is written to Salesforce."""
    _require_open(exception)
    return _end_deal(exception=exception, actor=actor, to_status=HandoffStatus.FAILED, note=note,
                     hold_reason=f"Sent back to sales ({exception.get_type_code_display()})")


def _require_credit_role(actor: User) -> None:
    if actor is not None and not queue_has_perm(user=actor, queue=queue_ensure(slug="credit"), perm="work"):
        raise PermissionDenied("only credit management may release or reject a credit hold")


@transaction.atomic
def resolve_credit_release(*, exception: SyncException, actor: User, note: str = "") -> SyncException:
    _require_open(exception)
    _require_type(exception, ExceptionType.CREDIT_CHECK_FAILED)
    _require_credit_role(actor)
    handoff_override_set(handoff=exception.handoff, key="credit", value={"action": "release", "by": _by(actor)},
                         actor=actor, reason="credit hold released" + (f": {note}" if note else ""))
    return exception_resolve(exception=exception, actor=actor, note=note or "credit hold released")


@transaction.atomic
def resolve_credit_reject(*, exception: SyncException, actor: User, note: str) -> SyncException:
    _require_open(exception)
    _require_type(exception, ExceptionType.CREDIT_CHECK_FAILED)
    _require_credit_role(actor)
    return _end_deal(exception=exception, actor=actor, to_status=HandoffStatus.CANCELLED, note=note,
                     hold_reason="Credit hold rejected")


@transaction.atomic
def resolve_product_map(
    *, exception: SyncException, actor: User, components: list[dict[str, Any]], crm_product_name: str = ""
) -> SyncException:
    """Write the product crosswalk row (1 → N materials with quantity factors) and resolve every
    open exception of the same product the actor may work: one mapping, the whole root cause."""
    _require_open(exception)
    _require_type(exception, ExceptionType.PRODUCT_NOT_MAPPED)
    evidence = exception.evidence or {}
    code = str(evidence.get("product_code") or "").strip()
    if not code:
        raise ResolutionError("the exception names no CRM product code")
    rows = [c for c in components if str(c.get("sap_material") or "").strip()]
    if not rows:
        raise ResolutionError("add at least one SAP material")
    name = crm_product_name or str(evidence.get("product_name") or "")
    existing = ProductMapping.objects.filter(crm_product_code__iexact=code).first()
    try:
        if existing is None:
            product_mapping_create(crm_product_code=code, crm_product_name=name, components=rows, actor=actor,
                                   source=MappingSource.MANUAL)
        else:
            product_mapping_update(mapping=existing, actor=actor, components=rows, active=True,
                                   confidence=Decimal("1"), source=MappingSource.MANUAL)
    except ValidationError as error:
        raise ResolutionError("; ".join(error.messages)) from error
    materials = ", ".join(f"{r['sap_material']} × {r.get('quantity_factor') or 1}" for r in rows)
    return _resolve_group(exception=exception, actor=actor, note=f"mapped {code} to {materials}")


@transaction.atomic
def resolve_ship_to(
    *, exception: SyncException, actor: User, address: dict[str, Any], note: str = ""
) -> SyncException:
    """Ship to a picked SAP address or a corrected one (override `ship_to`)."""
    _require_open(exception)
    _require_type(exception, ExceptionType.ADDRESS_INVALID, ExceptionType.MISSING_REQUIRED_FIELD)
    cleaned = {k: str(address.get(k) or "").strip() for k in ("street", "city", "region", "postal_code", "country")}
    if not (cleaned["street"] and cleaned["city"] and cleaned["country"]):
        raise ResolutionError("street, city and country are required")
    if address.get("address_id"):
        cleaned["address_id"] = str(address["address_id"])
    handoff_override_set(handoff=exception.handoff, key="ship_to", value=cleaned, actor=actor,
                         reason=f"ship-to set to {cleaned['street']}, {cleaned['postal_code']} {cleaned['city']}")
    return exception_resolve(exception=exception, actor=actor,
                             note=note or f"ship to {cleaned['street']}, {cleaned['postal_code']} {cleaned['city']}")


def policy_default_terms_key() -> str | None:
    row = PaymentTermsMapping.objects.filter(crm_value__iexact=POLICY_DEFAULT_TERMS).first()
    return row.sap_terms_key if row else None


@transaction.atomic
def resolve_payment_terms(
    *, exception: SyncException, actor: User, terms_key: str = "", use_default: bool = False
) -> SyncException:
    """Fill the payment terms with an SAP key from the crosswalk, or the policy default (Net 30)."""
    _require_open(exception)
    _require_type(exception, ExceptionType.MISSING_REQUIRED_FIELD)
    if use_default:
        key = policy_default_terms_key()
        if key is None:
            raise ResolutionError(f"the payment-terms crosswalk has no '{POLICY_DEFAULT_TERMS}' row")
    else:
        key = (terms_key or "").strip()
        if not PaymentTermsMapping.objects.filter(sap_terms_key=key).exists():
            raise ResolutionError(f"{key or '(empty)'} is not an SAP terms key of the crosswalk")
    handoff_override_set(handoff=exception.handoff, key="payment_terms", value=key, actor=actor,
                         reason=f"payment terms set to {key}" + (" (policy default)" if use_default else ""))
    return exception_resolve(exception=exception, actor=actor,
                             note=f"payment terms {key}" + (f" ({POLICY_DEFAULT_TERMS}, policy default)"
                                                            if use_default else ""))


@transaction.atomic
def resolve_retry(*, exception: SyncException, actor: User, note: str = "") -> SyncException:
    """Resolve as is (the data was fixed elsewhere, or SAP is healthy again): re-run the deal."""
    _require_open(exception)
    return exception_resolve(exception=exception, actor=actor, note=note or "retry from validation")


@transaction.atomic
def resolve_cancel(*, exception: SyncException, actor: User, note: str) -> SyncException:
    """Give the deal up: the handoff is cancelled and Salesforce hears why."""
    _require_open(exception)
    _require_type(exception, ExceptionType.SAP_CREATION_ERROR)
    return _end_deal(exception=exception, actor=actor, to_status=HandoffStatus.CANCELLED, note=note,
                     hold_reason="Cancelled by integration ops")


def _resolve_group(*, exception: SyncException, actor: User, note: str) -> SyncException:
    resolved = exception_resolve(exception=exception, actor=actor, note=note)
    for sibling in root_cause_group(exception=exception, actor=actor).exclude(pk=exception.pk):
        exception_resolve(exception=sibling, actor=actor, note=f"{note} (same root cause as #{exception.pk})")
    return resolved


# -- one entry point for views, the API and bulk actions --------------------------------------------
def _address_from(data: dict[str, Any], exception: SyncException) -> dict[str, Any]:
    pick = data.get("nearest")
    if pick not in (None, ""):
        nearest = (exception.evidence or {}).get("nearest") or []
        try:
            chosen = nearest[int(pick)]
        except (ValueError, IndexError, TypeError) as error:
            raise ResolutionError("pick one of the nearest SAP addresses") from error
        return {**chosen.get("address", {}), "address_id": chosen.get("address_id") or ""}
    return data


PATHS: dict[str, tuple[str, Callable[..., SyncException]]] = {
    "pick_customer": ("Map to this business partner", lambda e, a, d: resolve_customer_pick(
        exception=e, actor=a, business_partner=str(d.get("business_partner") or ""), note=str(d.get("note") or ""))),
    "accept_sap": ("Accept SAP price", lambda e, a, d: resolve_pricing(
        exception=e, actor=a, action="accept_sap", note=str(d.get("note") or ""))),
    "crm_price": ("Approve CRM price", lambda e, a, d: resolve_pricing(
        exception=e, actor=a, action="crm_price", note=str(d.get("note") or ""))),
    "send_back": ("Send back to sales", lambda e, a, d: resolve_send_back(
        exception=e, actor=a, note=str(d.get("note") or ""))),
    "release": ("Release credit hold", lambda e, a, d: resolve_credit_release(
        exception=e, actor=a, note=str(d.get("note") or ""))),
    "reject": ("Reject order", lambda e, a, d: resolve_credit_reject(
        exception=e, actor=a, note=str(d.get("note") or ""))),
    "map_product": ("Map product", lambda e, a, d: resolve_product_map(
        exception=e, actor=a, components=list(d.get("components") or []),
        crm_product_name=str(d.get("crm_product_name") or ""))),
    "ship_to": ("Use this ship-to", lambda e, a, d: resolve_ship_to(
        exception=e, actor=a, address=_address_from(d, e), note=str(d.get("note") or ""))),
    "payment_terms": ("Set payment terms", lambda e, a, d: resolve_payment_terms(
        exception=e, actor=a, terms_key=str(d.get("terms_key") or ""),
        use_default=str(d.get("use_default") or "").lower() in ("1", "true", "on", "yes"))),
    "retry": ("Retry", lambda e, a, d: resolve_retry(exception=e, actor=a, note=str(d.get("note") or ""))),
    "cancel": ("Cancel deal", lambda e, a, d: resolve_cancel(exception=e, actor=a, note=str(d.get("note") or ""))),
}

# Which paths each type offers; `retry` everywhere: a person may have fixed the data elsewhere.
PATHS_BY_TYPE: dict[str, tuple[str, ...]] = {
    ExceptionType.CUSTOMER_NOT_FOUND: ("pick_customer", "retry", "send_back"),
    ExceptionType.PRICING_MISMATCH: ("accept_sap", "crm_price", "send_back"),
    ExceptionType.CREDIT_CHECK_FAILED: ("release", "reject"),
    ExceptionType.PRODUCT_NOT_MAPPED: ("map_product", "retry"),
    ExceptionType.ADDRESS_INVALID: ("ship_to", "send_back"),
    ExceptionType.MISSING_REQUIRED_FIELD: ("payment_terms", "ship_to", "retry", "send_back"),
    ExceptionType.SAP_CREATION_ERROR: ("retry", "cancel"),
}


@transaction.atomic
def exception_resolve_path(
    *, exception: SyncException, actor: User, path: str, data: dict[str, Any]
) -> SyncException:
    """Run resolution `path` on `exception` (fresh from the database) with the form/API `data`."""
    if path not in PATHS_BY_TYPE.get(exception.type_code, ()):
        raise ResolutionError(f"{path!r} is not a resolution of {exception.get_type_code_display()}")
    exception = SyncException.objects.select_related("handoff", "queue").get(pk=exception.pk)
    resolved = PATHS[path][1](exception, actor, data)
    _note(resolved, actor=actor, kind=EventKind.ACTION, reason=PATHS[path][0], path=path)
    return resolved
