"""Writes on crosswalk tables: one save path for every table and every channel.

The workbench, the REST API, revert, the admin, the exception screen's resolutions and the
pipeline's own learning all save a row the same way, in two steps:

1. `crosswalk_row_check` cleans the values and asks SAP about them (a material, a business
   partner, a terms key). That is an external call, so it runs before any transaction.
2. `crosswalk_row_write` writes the checked row with its history (before/after, revertable) and
   resolves the open exceptions the edit fixes — the unblock preview's own query — so their
   handoffs go back to validation and their workers wake once the transaction commits.

`crosswalk_row_save` is the two in a row. CSV import writes its rows in bulk (csvio) after the
same checks, with the same history rows and the same `crosswalk_unblock`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from crosswalks.models import (
    DEFAULT_TARGET,
    ChangeAction,
    ChangeChannel,
    CrosswalkChange,
    CustomerMapping,
    MappingSource,
    ProductMapping,
)
from crosswalks.sap_lookup import SapLookup, sap_check
from crosswalks.selectors import unblock_preview
from crosswalks.tables import TABLES, Table, parse_items
from exceptions.models import ExceptionStatus, SyncException
from exceptions.services import exception_resolve
from integration_hub import ports
from integration_hub.erp.cache import erp_cache_forget_field
from integration_hub.models import Handoff, HandoffStatus


@dataclass(frozen=True)
class CheckedRow:
    """A row's cleaned values, checked against SAP (`erp_checked` False: deliberately not)."""

    table: Table
    values: dict[str, Any]
    erp_checked: bool = True


@dataclass(frozen=True)
class Unblocked:
    """What a crosswalk edit did to the deals it was blocking."""

    resolved: list[int] = field(default_factory=list)  # exceptions it resolved
    rerun_handoffs: list[int] = field(default_factory=list)  # back to validation, worker woken after commit
    still_blocked: list[int] = field(default_factory=list)  # another open exception keeps them blocked

    @property
    def handoff_ids(self) -> list[int]:
        return sorted(self.rerun_handoffs + self.still_blocked)


@dataclass(frozen=True)
class RowSaved:
    row: Any
    change: CrosswalkChange | None  # None: the save changed nothing
    unblocked: Unblocked

    @property
    def rerun_handoffs(self) -> list[int]:
        return list(self.unblocked.rerun_handoffs)


def actor_or_none(actor: Any) -> Any:
    """The user to record, or None for anonymous and system callers."""
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _as_validation_error(errors: Mapping[str, str]) -> ValidationError:
    return ValidationError({k: [v] for k, v in errors.items()})


_PARTNER_COLUMNS = ("sap_business_partner", "sap_ship_to")


def change_record(
    *, table: Table, action: str, channel: str, before: dict[str, str] | None, after: dict[str, str] | None,
    actor: Any, reason: str = "",
) -> CrosswalkChange | None:
    """Write one history row; a save that changed nothing leaves no trace."""
    if action == ChangeAction.UPDATE and before == after:
        return None
    # The ERP's cached master data of the partners a person's edit names is read afresh by the next
    # deal (a row the pipeline learnt names a partner it has just read).
    partners = {snap[name] for snap in (before, after) if snap for name in _PARTNER_COLUMNS if snap.get(name)}
    if partners and channel != ChangeChannel.PIPELINE:
        transaction.on_commit(partial(erp_cache_forget_field, field="customer", values=sorted(partners),
                                      targets=ports.ERP_TARGETS))
    row_key = table.row_key(after or before or {})
    return CrosswalkChange.objects.create(
        table=table.slug, row_key=row_key, action=action, channel=channel, before=before, after=after,
        actor=actor_or_none(actor), reason=reason,
    )


# -- the one save path -----------------------------------------------------------------------------
def crosswalk_row_check(
    *, table: Table, raw: Mapping[str, Any], lookup: SapLookup | None = None, erp: bool = True
) -> CheckedRow:
    """Clean `raw` (a row's snapshot form; a product's materials may also be a list of component
    dicts) and check it against SAP. Raises ValidationError, column → messages.

    An external call: never call this inside a transaction. `lookup` lets a caller that already
    asked SAP (the preview step of a screen) reuse the answers; `erp` False skips SAP, for a
    caller that has just read the values from SAP itself.
    """
    cleaned = table.clean(dict(raw))
    if cleaned.errors:
        raise _as_validation_error(cleaned.errors)
    if erp:
        errors = sap_check(table.slug, cleaned.values, lookup or SapLookup())
        if errors:
            raise _as_validation_error(errors)
    return CheckedRow(table, cleaned.values, erp_checked=erp)


@transaction.atomic
def crosswalk_row_write(
    *, row: CheckedRow, actor: Any, channel: str, reason: str = "", instance: Any | None = None,
    action: str | None = None, source: str | None = None, create_only: bool = False, note: str = "",
) -> RowSaved:
    """Create or update one checked row with its history, and resolve what the edit fixes.

    `instance` None means "the row with this key, or a new one" (`create_only`: refuse an existing
    one). `source` sets a mapping's source (manual, import, suggested). The open exceptions the
    row fixes are found here, with the unblock preview's query, and resolved with `note`; a
    handoff left with none goes back to validation once this transaction commits.
    """
    table, values = row.table, row.values
    if channel not in ChangeChannel.values:
        raise ValueError(f"unknown change channel {channel!r}")
    if source is not None and source not in MappingSource.values:
        raise ValidationError({"source": [f"{source!r} is not one of {', '.join(MappingSource.values)}."]})
    key = table.row_key(values)
    existing = table.find(values)
    if create_only and existing is not None:
        raise ValidationError({table.key[-1]: [f"{key} is already mapped; edit that row instead."]})
    if instance is not None and existing is not None and existing.pk != instance.pk:
        raise ValidationError({table.key[-1]: [f"{key} already has a row; edit that one."]})
    target = instance if instance is not None else existing
    before = None
    if target is not None and target.pk is not None:
        # Lock, then read what is stored (not the caller's instance, which a form may have changed).
        if table.model._default_manager.select_for_update().filter(pk=target.pk).exists():
            before = table.snapshot(table.queryset().get(pk=target.pk))
        else:
            target = None  # deleted meanwhile: saved as a new row
    extra = {"source": source} if source is not None and hasattr(table.model, "source") else None
    obj = table.apply(target, values, actor=actor_or_none(actor), extra=extra)
    after = table.snapshot(obj)
    change = change_record(table=table, action=action or (ChangeAction.UPDATE if before else ChangeAction.CREATE),
                           channel=channel, before=before, after=after, actor=actor, reason=reason)
    unblocked = crosswalk_unblock(table=table, rows=[values], actor=actor,
                                  note=note or f"{table.label}: {table.row_key(after)} saved")
    return RowSaved(obj, change, unblocked)


def crosswalk_row_save(
    *, table: Table, raw: Mapping[str, Any], actor: Any, channel: str, reason: str = "",
    instance: Any | None = None, action: str | None = None, source: str | None = None,
    create_only: bool = False, note: str = "", lookup: SapLookup | None = None,
) -> RowSaved:
    """Check `raw` against SAP, then write it (`crosswalk_row_write`). Not atomic on purpose: the
    check is an external call and must not run inside a transaction; the write is one."""
    checked = crosswalk_row_check(table=table, raw=raw, lookup=lookup)
    return crosswalk_row_write(row=checked, actor=actor, channel=channel, reason=reason, instance=instance,
                               action=action, source=source, create_only=create_only, note=note)


@transaction.atomic
def crosswalk_row_delete(
    *, table: Table, instance: Any, actor: Any, channel: str, reason: str = "", action: str = ChangeAction.DELETE,
) -> CrosswalkChange | None:
    """Remove a row; deals needing it raise their exception again on their next validation."""
    before = table.snapshot(instance)
    instance.delete()
    return change_record(table=table, action=action, channel=channel, before=before, after=None,
                         actor=actor, reason=reason)


def crosswalk_change_revert(
    *, change: CrosswalkChange, actor: Any, channel: str, reason: str = "", lookup: SapLookup | None = None,
) -> RowSaved | None:
    """Put the row back the way it was before `change` (deleting it if the change created it).

    `channel` has no default: the history says where the revert was made (screen or API), and a
    default would quietly file an API revert under the screen.

    Restoring is a save like any other: the old values are checked against SAP again (they may
    have gone from SAP since), and a mapping brought back resolves the exceptions it fixes.
    """
    table = TABLES[change.table]
    current = table.find(table.clean(change.after or change.before or {}).values)
    why = reason or f"revert of change {change.pk} ({change.get_action_display()} {change.created_at:%Y-%m-%d %H:%M})"
    if change.before is None:
        if current is not None:
            crosswalk_row_delete(table=table, instance=current, actor=actor, channel=channel, reason=why,
                                 action=ChangeAction.REVERT)
        return None
    checked = crosswalk_row_check(table=table, raw=change.before, lookup=lookup)
    return crosswalk_row_write(row=checked, actor=actor, channel=channel, reason=why, instance=current,
                               action=ChangeAction.REVERT)


@transaction.atomic
def crosswalk_unblock(*, table: Table, rows: list[dict[str, Any]], actor: Any, note: str) -> Unblocked:
    """Resolve the open exceptions that `rows` (cleaned values of `table`, as just written) fix.

    The same query as the unblock preview, so what a screen promised is what happens. The last
    open exception of a blocked handoff sends it back to validation (`exception_resolve`), and
    its worker is woken after commit.
    """
    fixed = [e.pk for e in unblock_preview(table=table.slug, rows=rows).exceptions]
    if not fixed:
        return Unblocked()
    resolved: list[int] = []
    handoffs: set[int] = set()
    # Locked while open: nobody closes them between this read and the resolution.
    for exception in (SyncException.objects.select_for_update()
                      .filter(pk__in=fixed, status=ExceptionStatus.OPEN).order_by("pk")):
        exception_resolve(exception=exception, actor=actor_or_none(actor), note=note)
        resolved.append(exception.pk)
        handoffs.add(exception.deal.pk)
    statuses = dict(Handoff.objects.filter(pk__in=handoffs).values_list("pk", "status"))
    return Unblocked(
        resolved=resolved,
        rerun_handoffs=sorted(pk for pk, status in statuses.items() if status != HandoffStatus.BLOCKED),
        still_blocked=sorted(pk for pk, status in statuses.items() if status == HandoffStatus.BLOCKED),
    )


# -- the pipeline's learning -----------------------------------------------------------------------
def customer_mapping_learn(
    *, org_id: str, crm_account_id: str, crm_account_name: str, business_partner: str,
    confidence: float | Decimal, reason: str, erp_target: str = DEFAULT_TARGET,
) -> CustomerMapping | None:
    """Keep a customer match the pipeline made (tax id, DUNS, fuzzy name + address) as a
    crosswalk row, so the account's next deal skips the search. Returns the new row, or None
    when the account already has one: learning never replaces a mapping.

    SAP is not asked again: the pipeline read this partner from SAP during the same validation,
    and this runs inside the pipeline's transaction, where no external call may happen. The row
    goes through the one write (history on the "pipeline" channel, source "suggested"), so
    other deals blocked on this account are resolved and re-run after commit.
    """
    known = CustomerMapping.objects.filter(org_id=org_id, crm_account_id=crm_account_id, erp_target=erp_target)
    if known.exists():
        return None
    row = crosswalk_row_check(table=TABLES["customers"], erp=False, raw={
        "org_id": org_id, "crm_account_id": crm_account_id, "crm_account_name": (crm_account_name or "")[:255],
        "sap_business_partner": business_partner, "confidence": str(round(Decimal(str(confidence)), 3)),
        "erp_target": erp_target,
    })
    try:
        with transaction.atomic():
            saved = crosswalk_row_write(row=row, actor=None, channel=ChangeChannel.PIPELINE, reason=reason,
                                        source=MappingSource.SUGGESTED, create_only=True, note=reason)
    except IntegrityError:
        return None  # another worker learnt the same account a moment ago
    except ValidationError:
        if known.exists():
            return None
        raise
    return saved.row


# -- the product crosswalk's REST API form (components as a list) ---------------------------------
PRODUCTS = TABLES["products"]
_PRODUCT_FIELDS = {"crm_product_code", "crm_product_name", "confidence", "active"}


def _components_error(error: ValidationError) -> ValidationError:
    """The API calls the materials `components`: name its errors so."""
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError({"components" if k in ("materials", "erp_items") else k: v
                            for k, v in error.message_dict.items()})


def product_mapping_create(
    *,
    crm_product_code: str,
    components: Iterable[Mapping[str, Any]],
    crm_product_name: str = "",
    confidence: Decimal | float | str = Decimal("1"),
    active: bool = True,
    source: str = MappingSource.MANUAL,
    actor: User | None = None,
    channel: str = ChangeChannel.API,
    reason: str = "",
    lookup: SapLookup | None = None,
    erp_target: str = DEFAULT_TARGET,
) -> RowSaved:
    """Map a new CRM product to one or more SAP materials (each with a quantity factor > 0):
    `crosswalk_row_save` with the components as a list, refusing a code already mapped.

    For another `erp_target` the components name that ERP's items (`{"erp_item", "quantity_factor"}`);
    a code already mapped keeps its other targets' components and gets this target's."""
    if erp_target != DEFAULT_TARGET:
        existing = ProductMapping.objects.filter(crm_product_code=crm_product_code).first()
        if existing is not None:
            return product_mapping_update(mapping=existing, actor=actor, components=components, channel=channel,
                                          reason=reason, lookup=lookup, erp_target=erp_target)
    raw = {"crm_product_code": crm_product_code, "crm_product_name": crm_product_name,
           "materials": list(components), "confidence": confidence, "active": active}
    if erp_target != DEFAULT_TARGET:
        raw["materials"], raw["erp_items"] = "", [{**c, "erp_target": erp_target} for c in components]
    try:
        return crosswalk_row_save(table=PRODUCTS, raw=raw, actor=actor, channel=channel, reason=reason,
                                  source=source, create_only=True, lookup=lookup)
    except ValidationError as error:
        raise _components_error(error) from error


def product_mapping_update(
    *,
    mapping: ProductMapping,
    actor: User | None = None,
    components: Iterable[Mapping[str, Any]] | None = None,
    channel: str = ChangeChannel.API,
    reason: str = "",
    lookup: SapLookup | None = None,
    source: str | None = None,
    erp_target: str = DEFAULT_TARGET,
    **fields: Any,
) -> RowSaved:
    """Change a mapping's fields (`components`, when given, replaces the whole list of
    `erp_target`'s components), through `crosswalk_row_save`: the fields not given keep their stored
    values, and so do the components of the other targets."""
    unknown = set(fields) - _PRODUCT_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in sorted(unknown)})
    raw: dict[str, Any] = PRODUCTS.snapshot(ProductMapping.objects.prefetch_related("components").get(pk=mapping.pk))
    raw.update(fields)
    if components is not None and erp_target == DEFAULT_TARGET:
        raw["materials"] = list(components)
    elif components is not None:
        kept = [c for c in parse_items(str(raw.get("erp_items") or "")) if c["erp_target"] != erp_target]
        raw["erp_items"] = kept + [{**c, "erp_target": erp_target} for c in components]
    try:
        return crosswalk_row_save(table=PRODUCTS, raw=raw, actor=actor, channel=channel, reason=reason,
                                  instance=mapping, source=source, lookup=lookup)
    except ValidationError as error:
        raise _components_error(error) from error


def product_mapping_delete(
    *, mapping: ProductMapping, actor: User | None = None, channel: str = ChangeChannel.API,
    reason: str = "",
) -> None:
    """Remove a mapping; deals using the product will raise `product_not_mapped` again."""
    crosswalk_row_delete(table=PRODUCTS, instance=mapping, actor=actor, channel=channel, reason=reason)
