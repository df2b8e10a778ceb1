"""Resolution paths, one per exception type (DESIGN.md catalogue), shared by the UI, the API
and bulk actions.

Each path fixes the *data* (a crosswalk row, or an override on the handoff that validation
honours) and then resolves the exception, so the last one closed re-runs the handoff from
validation. A crosswalk row is written through the crosswalk services, as the workbench writes
it: checked against SAP first (outside any transaction), with history, and every open exception
the row fixes is resolved with it. The paths that end a deal instead (send back, reject, cancel)
move the handoff out of `blocked` first — closing its exception must not re-run it — and tell
Salesforce why after commit (never call an external system inside a transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet

from crosswalks.models import (
    ChangeChannel,
    CustomerMapping,
    MappingSource,
    PaymentTermsMapping,
    ProductMapping,
)
from crosswalks.services import CheckedRow, crosswalk_row_check, crosswalk_row_write
from crosswalks.tables import TABLES, format_components
from exceptions.errors import ExceptionNotOpen, ResolutionError
from exceptions.models import EventKind, ExceptionStatus, ExceptionType, SyncException
from exceptions.permissions import queue_has_perm, queues_for
from exceptions.queues import queue_ensure
from exceptions.services import exception_dismiss, exception_note, exception_resolve
from integration_hub.models import Handoff, HandoffStatus
from integration_hub.orders import handoff_status_write_back_on_commit
from integration_hub.services import handoff_override_set, handoff_transition

Actor = User | None
POLICY_DEFAULT_TERMS = "Net 30"


def _by(actor: Actor) -> str:
    return actor.get_username() if actor is not None else "system"


def _require_open(exception: SyncException) -> None:
    if exception.status != ExceptionStatus.OPEN:
        raise ExceptionNotOpen(f"exception {exception.pk} is {exception.status}, not open")


def _require_type(exception: SyncException, *types: str) -> None:
    if exception.type_code not in types:
        raise ResolutionError(f"this path does not apply to a {exception.get_type_code_display()} exception")


def root_cause_group(*, exception: SyncException, actor: Actor = None) -> QuerySet[SyncException]:
    """Open exceptions sharing this one's cause (type + fingerprint) across handoffs, limited to
    the queues `actor` may work."""
    group = SyncException.objects.filter(
        status=ExceptionStatus.OPEN, type_code=exception.type_code, fingerprint=exception.fingerprint
    )
    if actor is not None:
        group = group.filter(queue__in=queues_for(user=actor, perm="work"))
    return group.order_by("pk")


def _end_deal(
    *, exception: SyncException, actor: Actor, to_status: str, note: str, hold_reason: str
) -> SyncException:
    note = (note or "").strip()
    if not note:
        raise ResolutionError("say why: the note is written back to Salesforce")
    handoff = Handoff.objects.select_for_update().get(pk=exception.deal.pk)
    if handoff.status == HandoffStatus.BLOCKED:
        handoff_transition(handoff=handoff, to_status=to_status, actor=actor, reason=f"{hold_reason}: {note}",
                           last_error=f"{hold_reason}: {note}"[:2000])
    closed = exception_dismiss(exception=exception, actor=actor, note=f"{hold_reason}: {note}")
    handoff_status_write_back_on_commit(handoff_id=handoff.pk, reason=f"{hold_reason}: {note}")
    return closed


# -- the paths ------------------------------------------------------------------------------------
def _erp_checked(table: str, raw: dict[str, Any]) -> CheckedRow:
    """The crosswalk row checked as the workbench checks it (an external call: no transaction)."""
    try:
        return crosswalk_row_check(table=TABLES[table], raw=raw)
    except ValidationError as error:
        raise ResolutionError(" ".join(error.messages)) from error


def customer_pick_check(*, exception: SyncException, business_partner: str) -> CheckedRow:
    """The customer crosswalk row a pick writes, checked against SAP. Raises ResolutionError.

    A pick maps the account from now on: an existing row of the account is replaced (an update,
    with before/after history), its validity window reopened, and its ship-to dropped when the
    sold-to changes (a ship-to belongs to its sold-to)."""
    _require_open(exception)
    _require_type(exception, ExceptionType.CUSTOMER_NOT_FOUND)
    business_partner = (business_partner or "").strip().upper()
    if not business_partner or len(business_partner) > 10:
        raise ResolutionError("pick a business partner (up to 10 characters)")
    evidence = exception.evidence or {}
    account = str(evidence.get("account") or "")
    if not account:
        raise ResolutionError("the exception names no CRM account to map")
    org_id = exception.deal.org_id
    existing = CustomerMapping.objects.filter(org_id=org_id, crm_account_id=account).first()
    raw: dict[str, Any] = TABLES["customers"].snapshot(existing) if existing else {}
    if existing is not None and existing.sap_business_partner != business_partner:
        raw["sap_ship_to"] = ""
    name = str(evidence.get("account_name") or (existing.crm_account_name if existing else ""))[:255]
    raw.update(org_id=org_id, crm_account_id=account, crm_account_name=name, sap_business_partner=business_partner,
               confidence="1", valid_from="", valid_to="")
    return _erp_checked("customers", raw)


@transaction.atomic
def _customer_pick_apply(*, exception: SyncException, actor: Actor, row: CheckedRow, note: str) -> SyncException:
    _require_open(exception)
    values = row.values
    note = note or f"mapped {values['crm_account_name'] or values['crm_account_id']} to BP {values['sap_business_partner']}"
    crosswalk_row_write(row=row, actor=actor, channel=ChangeChannel.RESOLUTION, source=MappingSource.MANUAL,
                        reason=f"exception #{exception.pk}: {note}", note=note)
    return _resolve_rest(exception=exception, actor=actor, note=note)


def resolve_customer_pick(
    *, exception: SyncException, actor: Actor, business_partner: str, note: str = ""
) -> SyncException:
    """Map the deal's account to the picked SAP business partner (customer crosswalk, manual).

    SAP is asked first, outside any transaction (so call this outside one): a partner SAP does
    not know is refused with a ResolutionError and nothing is written."""
    row = customer_pick_check(exception=exception, business_partner=business_partner)
    return _customer_pick_apply(exception=exception, actor=actor, row=row, note=note)


@transaction.atomic
def resolve_pricing(*, exception: SyncException, actor: Actor, action: str, note: str = "") -> SyncException:
    """Accept SAP's price, or approve the CRM price as a manual condition (override `pricing`)."""
    _require_open(exception)
    _require_type(exception, ExceptionType.PRICING_MISMATCH)
    if action not in ("accept_sap", "crm_price"):
        raise ResolutionError("choose accept_sap or crm_price")
    code = str((exception.evidence or {}).get("product_code") or "")
    handoff_override_set(handoff=exception.deal, key="pricing", value={code: {"action": action, "by": _by(actor)}},
                         actor=actor, reason=f"pricing {code}: {action}" + (f" ({note})" if note else ""))
    label = "accepted SAP's price" if action == "accept_sap" else "approved the CRM price as a manual override"
    return exception_resolve(exception=exception, actor=actor, note=note or f"{label} for {code}")


@transaction.atomic
def resolve_send_back(*, exception: SyncException, actor: Actor, note: str) -> SyncException:
    """Send the deal back to sales: the handoff fails and the reason is written to Salesforce."""
    _require_open(exception)
    return _end_deal(exception=exception, actor=actor, to_status=HandoffStatus.FAILED, note=note,
                     hold_reason=f"Sent back to sales ({exception.get_type_code_display()})")


def _require_credit_role(actor: Actor) -> None:
    if actor is not None and not queue_has_perm(user=actor, queue=queue_ensure(slug="credit"), perm="work"):
        raise PermissionDenied("only credit management may release or reject a credit hold")


@transaction.atomic
def resolve_credit_release(*, exception: SyncException, actor: Actor, note: str = "") -> SyncException:
    _require_open(exception)
    _require_type(exception, ExceptionType.CREDIT_CHECK_FAILED)
    _require_credit_role(actor)
    handoff_override_set(handoff=exception.deal, key="credit", value={"action": "release", "by": _by(actor)},
                         actor=actor, reason="credit hold released" + (f": {note}" if note else ""))
    return exception_resolve(exception=exception, actor=actor, note=note or "credit hold released")


@transaction.atomic
def resolve_credit_reject(*, exception: SyncException, actor: Actor, note: str) -> SyncException:
    _require_open(exception)
    _require_type(exception, ExceptionType.CREDIT_CHECK_FAILED)
    _require_credit_role(actor)
    return _end_deal(exception=exception, actor=actor, to_status=HandoffStatus.CANCELLED, note=note,
                     hold_reason="Credit hold rejected")


def product_map_check(
    *, exception: SyncException, components: list[dict[str, Any]], crm_product_name: str = ""
) -> CheckedRow:
    """The product crosswalk row (1 → N materials with quantity factors) a mapping writes, checked
    against SAP. Raises ResolutionError. The mapping applies from now on: active, confidence 1,
    validity window reopened."""
    _require_open(exception)
    _require_type(exception, ExceptionType.PRODUCT_NOT_MAPPED)
    evidence = exception.evidence or {}
    code = str(evidence.get("product_code") or "").strip()
    if not code:
        raise ResolutionError("the exception names no CRM product code")
    rows = [c for c in components if str(c.get("sap_material") or "").strip()]
    if not rows:
        raise ResolutionError("add at least one SAP material")
    existing = ProductMapping.objects.prefetch_related("components").filter(crm_product_code__iexact=code).first()
    raw: dict[str, Any] = TABLES["products"].snapshot(existing) if existing else {"crm_product_code": code}
    name = crm_product_name or (existing.crm_product_name if existing else "") or str(evidence.get("product_name") or "")
    raw.update(crm_product_name=name, materials=rows, confidence="1", active="yes", valid_from="", valid_to="")
    return _erp_checked("products", raw)


@transaction.atomic
def _product_map_apply(*, exception: SyncException, actor: Actor, row: CheckedRow) -> SyncException:
    _require_open(exception)
    values = row.values
    note = f"mapped {values['crm_product_code']} to {format_components(values['materials'])}"
    crosswalk_row_write(row=row, actor=actor, channel=ChangeChannel.RESOLUTION, source=MappingSource.MANUAL,
                        reason=f"exception #{exception.pk}: {note}", note=note)
    return _resolve_rest(exception=exception, actor=actor, note=note)


def resolve_product_map(
    *, exception: SyncException, actor: Actor, components: list[dict[str, Any]], crm_product_name: str = ""
) -> SyncException:
    """Write the product crosswalk row and resolve every open exception it fixes: one mapping,
    the whole root cause.

    SAP is asked first, outside any transaction (so call this outside one): a material SAP does
    not have is refused with a ResolutionError and nothing is written."""
    row = product_map_check(exception=exception, components=components, crm_product_name=crm_product_name)
    return _product_map_apply(exception=exception, actor=actor, row=row)


@transaction.atomic
def resolve_ship_to(
    *, exception: SyncException, actor: Actor, address: dict[str, Any], note: str = ""
) -> SyncException:
    """Ship to a picked SAP address or a corrected one (override `ship_to`)."""
    _require_open(exception)
    _require_type(exception, ExceptionType.ADDRESS_INVALID, ExceptionType.MISSING_REQUIRED_FIELD)
    cleaned = {k: str(address.get(k) or "").strip() for k in ("street", "city", "region", "postal_code", "country")}
    if not (cleaned["street"] and cleaned["city"] and cleaned["country"]):
        raise ResolutionError("street, city and country are required")
    if address.get("address_id"):
        cleaned["address_id"] = str(address["address_id"])
    handoff_override_set(handoff=exception.deal, key="ship_to", value=cleaned, actor=actor,
                         reason=f"ship-to set to {cleaned['street']}, {cleaned['postal_code']} {cleaned['city']}")
    return exception_resolve(exception=exception, actor=actor,
                             note=note or f"ship to {cleaned['street']}, {cleaned['postal_code']} {cleaned['city']}")


def policy_default_terms_key() -> str | None:
    row = PaymentTermsMapping.objects.filter(crm_value__iexact=POLICY_DEFAULT_TERMS).first()
    return row.sap_terms_key if row else None


@transaction.atomic
def resolve_payment_terms(
    *, exception: SyncException, actor: Actor, terms_key: str = "", use_default: bool = False
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
    handoff_override_set(handoff=exception.deal, key="payment_terms", value=key, actor=actor,
                         reason=f"payment terms set to {key}" + (" (policy default)" if use_default else ""))
    return exception_resolve(exception=exception, actor=actor,
                             note=f"payment terms {key}" + (f" ({POLICY_DEFAULT_TERMS}, policy default)"
                                                            if use_default else ""))


@transaction.atomic
def resolve_retry(*, exception: SyncException, actor: Actor, note: str = "") -> SyncException:
    """Resolve as is (the data was fixed elsewhere, or SAP is healthy again): re-run the deal."""
    _require_open(exception)
    return exception_resolve(exception=exception, actor=actor, note=note or "retry from validation")


@transaction.atomic
def resolve_cancel(*, exception: SyncException, actor: Actor, note: str) -> SyncException:
    """Give the deal up: the handoff is cancelled and Salesforce hears why."""
    _require_open(exception)
    _require_type(exception, ExceptionType.SAP_CREATION_ERROR)
    return _end_deal(exception=exception, actor=actor, to_status=HandoffStatus.CANCELLED, note=note,
                     hold_reason="Cancelled by integration ops")


def _resolve_rest(*, exception: SyncException, actor: Actor, note: str) -> SyncException:
    """After a crosswalk write, which resolved every exception of a blocked deal it fixes: the
    exception itself if still open (its deal was not blocked at that moment) and the rest of its
    root cause in the queues `actor` works."""
    resolved = SyncException.objects.select_for_update().get(pk=exception.pk)
    if resolved.status == ExceptionStatus.OPEN:
        resolved = exception_resolve(exception=resolved, actor=actor, note=note)
    for sibling in root_cause_group(exception=exception, actor=actor).exclude(pk=exception.pk):
        exception_resolve(exception=sibling, actor=actor, note=f"{note} (same root cause as #{exception.pk})")
    return resolved


# -- one entry point for views, the API and bulk actions --------------------------------------------
def _address_from(data: dict[str, Any], exception: SyncException) -> dict[str, Any]:
    pick = data.get("nearest")
    if pick is not None and pick != "":
        nearest = (exception.evidence or {}).get("nearest") or []
        try:
            chosen = nearest[int(pick)]
        except (ValueError, IndexError, TypeError) as error:
            raise ResolutionError("pick one of the nearest SAP addresses") from error
        return {**chosen.get("address", {}), "address_id": chosen.get("address_id") or ""}
    return data


class Path(NamedTuple):
    label: str
    # Inside the transaction: (exception, actor, data, what `check` returned) → the exception.
    run: Callable[[SyncException, Actor, dict[str, Any], Any], SyncException]
    # Before it, for the paths that ask SAP about a crosswalk row: (exception, data) → the row.
    check: Callable[[SyncException, dict[str, Any]], Any] | None = None


def _text(data: dict[str, Any], key: str) -> str:
    return str(data.get(key) or "")


PATHS: dict[str, Path] = {
    "pick_customer": Path(
        "Map to this business partner",
        lambda e, a, d, row: _customer_pick_apply(exception=e, actor=a, row=row, note=_text(d, "note")),
        lambda e, d: customer_pick_check(exception=e, business_partner=_text(d, "business_partner"))),
    "accept_sap": Path("Accept SAP price", lambda e, a, d, _: resolve_pricing(
        exception=e, actor=a, action="accept_sap", note=_text(d, "note"))),
    "crm_price": Path("Approve CRM price", lambda e, a, d, _: resolve_pricing(
        exception=e, actor=a, action="crm_price", note=_text(d, "note"))),
    "send_back": Path("Send back to sales", lambda e, a, d, _: resolve_send_back(
        exception=e, actor=a, note=_text(d, "note"))),
    "release": Path("Release credit hold", lambda e, a, d, _: resolve_credit_release(
        exception=e, actor=a, note=_text(d, "note"))),
    "reject": Path("Reject order", lambda e, a, d, _: resolve_credit_reject(
        exception=e, actor=a, note=_text(d, "note"))),
    "map_product": Path(
        "Map product",
        lambda e, a, d, row: _product_map_apply(exception=e, actor=a, row=row),
        lambda e, d: product_map_check(exception=e, components=list(d.get("components") or []),
                                       crm_product_name=_text(d, "crm_product_name"))),
    "ship_to": Path("Use this ship-to", lambda e, a, d, _: resolve_ship_to(
        exception=e, actor=a, address=_address_from(d, e), note=_text(d, "note"))),
    "payment_terms": Path("Set payment terms", lambda e, a, d, _: resolve_payment_terms(
        exception=e, actor=a, terms_key=_text(d, "terms_key"),
        use_default=_text(d, "use_default").lower() in ("1", "true", "on", "yes"))),
    "retry": Path("Retry", lambda e, a, d, _: resolve_retry(exception=e, actor=a, note=_text(d, "note"))),
    "cancel": Path("Cancel deal", lambda e, a, d, _: resolve_cancel(exception=e, actor=a, note=_text(d, "note"))),
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
    # The next status poll writes the record again; it also resolves itself once one lands.
    ExceptionType.CRM_UPDATE_REJECTED: ("retry",),
}


def exception_resolve_path(
    *, exception: SyncException, actor: Actor, path: str, data: dict[str, Any]
) -> SyncException:
    """Run resolution `path` on `exception` (fresh from the database) with the form/API `data`.

    Not atomic itself: a path that writes a crosswalk row first asks SAP about it, which must
    happen outside any transaction (so call this outside one); the write, the resolution and
    the audit note are then one transaction."""
    if path not in PATHS_BY_TYPE.get(exception.type_code, ()):
        raise ResolutionError(f"{path!r} is not a resolution of {exception.get_type_code_display()}")
    exception = SyncException.objects.select_related("handoff", "queue").get(pk=exception.pk)
    spec = PATHS[path]
    checked = spec.check(exception, data) if spec.check is not None else None
    with transaction.atomic():
        resolved = spec.run(exception, actor, data, checked)
        exception_note(resolved, actor=actor, kind=EventKind.ACTION, reason=spec.label, path=path)
    return resolved
