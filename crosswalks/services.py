"""Writes on crosswalk tables. The admin, the API and CSV import all come through here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from crosswalks.models import (
    ChangeAction,
    ChangeChannel,
    CrosswalkChange,
    MappingSource,
    ProductMapping,
    ProductMappingComponent,
)
from crosswalks.tables import TABLES, Table


def _to_decimal(value: Any, *, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        errors.setdefault(field, []).append(f"{value!r} is not a number.")
        return None


def _clean_components(components: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    errors: dict[str, list[str]] = {}
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, component in enumerate(components):
        material = str(component.get("sap_material") or "").strip()
        if not material:
            errors.setdefault("components", []).append(f"component {index + 1}: an SAP material is required.")
            continue
        if material in seen:
            errors.setdefault("components", []).append(f"component {index + 1}: {material} is listed twice.")
            continue
        seen.add(material)
        factor = _to_decimal(component.get("quantity_factor", 1), field="components", errors=errors)
        if factor is not None and factor <= 0:
            errors.setdefault("components", []).append(
                f"component {index + 1} ({material}): the quantity factor must be greater than 0, not {factor}."
            )
        cleaned.append(
            {
                "sap_material": material,
                "quantity_factor": factor,
                "position": index if component.get("position") is None else int(component["position"]),
            }
        )
    if not cleaned and "components" not in errors:
        errors["components"] = ["A product mapping needs at least one SAP material."]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_confidence(confidence: Any) -> Decimal:
    errors: dict[str, list[str]] = {}
    value = _to_decimal(confidence, field="confidence", errors=errors)
    if value is not None and not Decimal("0") <= value <= Decimal("1"):
        errors.setdefault("confidence", []).append(f"Confidence must be between 0 and 1, not {value}.")
    if errors or value is None:
        raise ValidationError(errors)
    return value


def _write_components(mapping: ProductMapping, components: list[dict[str, Any]]) -> None:
    mapping.components.all().delete()
    ProductMappingComponent.objects.bulk_create(
        ProductMappingComponent(mapping=mapping, **component) for component in components
    )
    if hasattr(mapping, "_prefetched_objects_cache"):
        mapping._prefetched_objects_cache.clear()


def _actor_or_none(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def change_record(
    *, table: Table, action: str, channel: str, before: dict[str, str] | None, after: dict[str, str] | None,
    actor: Any, reason: str = "",
) -> CrosswalkChange | None:
    """Write one history row; a save that changed nothing leaves no trace."""
    if action == ChangeAction.UPDATE and before == after:
        return None
    row_key = table.row_key(after or before or {})
    return CrosswalkChange.objects.create(
        table=table.slug, row_key=row_key, action=action, channel=channel, before=before, after=after,
        actor=_actor_or_none(actor), reason=reason,
    )


@transaction.atomic
def product_mapping_create(
    *,
    crm_product_code: str,
    components: Iterable[Mapping[str, Any]],
    crm_product_name: str = "",
    confidence: Decimal | float | str = Decimal("1"),
    active: bool = True,
    source: str = MappingSource.MANUAL,
    actor: AbstractBaseUser | None = None,
    channel: str = ChangeChannel.API,
    reason: str = "",
) -> ProductMapping:
    """Map a CRM product to one or more SAP materials (each with a quantity factor > 0)."""
    code = (crm_product_code or "").strip()
    if not code:
        raise ValidationError({"crm_product_code": ["A CRM product code is required."]})
    if ProductMapping.objects.filter(crm_product_code=code).exists():
        raise ValidationError({"crm_product_code": [f"{code} is already mapped; edit that mapping instead."]})
    cleaned = _clean_components(components)
    mapping = ProductMapping.objects.create(
        crm_product_code=code,
        crm_product_name=crm_product_name,
        confidence=_clean_confidence(confidence),
        active=active,
        source=source,
        updated_by=actor,
    )
    _write_components(mapping, cleaned)
    table = TABLES["products"]
    change_record(table=table, action=ChangeAction.CREATE, channel=channel, before=None,
                  after=table.snapshot(mapping), actor=actor, reason=reason)
    return mapping


@transaction.atomic
def product_mapping_update(
    *,
    mapping: ProductMapping,
    actor: AbstractBaseUser | None = None,
    components: Iterable[Mapping[str, Any]] | None = None,
    channel: str = ChangeChannel.API,
    reason: str = "",
    **fields: Any,
) -> ProductMapping:
    """Change a mapping's fields; `components`, when given, replaces the whole list."""
    allowed = {"crm_product_code", "crm_product_name", "confidence", "active", "source"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in sorted(unknown)})
    if "confidence" in fields:
        fields["confidence"] = _clean_confidence(fields["confidence"])
    if "crm_product_code" in fields:
        code = (fields["crm_product_code"] or "").strip()
        if not code:
            raise ValidationError({"crm_product_code": ["A CRM product code is required."]})
        if ProductMapping.objects.filter(crm_product_code=code).exclude(pk=mapping.pk).exists():
            raise ValidationError({"crm_product_code": [f"{code} is already mapped."]})
        fields["crm_product_code"] = code
    cleaned = _clean_components(components) if components is not None else None
    table = TABLES["products"]
    before = table.snapshot(ProductMapping.objects.prefetch_related("components").get(pk=mapping.pk))
    for name, value in fields.items():
        setattr(mapping, name, value)
    mapping.updated_by = actor
    mapping.save()
    if cleaned is not None:
        _write_components(mapping, cleaned)
    change_record(table=table, action=ChangeAction.UPDATE, channel=channel, before=before,
                  after=table.snapshot(mapping), actor=actor, reason=reason)
    return mapping


@transaction.atomic
def product_mapping_delete(
    *, mapping: ProductMapping, actor: AbstractBaseUser | None = None, channel: str = ChangeChannel.API,
    reason: str = "",
) -> None:
    """Remove a mapping; deals using the product will raise `product_not_mapped` again."""
    table = TABLES["products"]
    before = table.snapshot(mapping)
    mapping.delete()
    change_record(table=table, action=ChangeAction.DELETE, channel=channel, before=before, after=None,
                  actor=actor, reason=reason)


# -- every table -----------------------------------------------------------------------------------
def _as_validation_error(errors: dict[str, str]) -> ValidationError:
    return ValidationError({k: [v] for k, v in errors.items()})


@transaction.atomic
def crosswalk_row_save(
    *, table: Table, raw: Mapping[str, Any], actor: Any, channel: str, reason: str = "",
    instance: Any | None = None, resolve: Iterable[Any] = (), action: str | None = None,
) -> Any:
    """Create or update one row of any crosswalk table from its snapshot form, with history.

    `instance` None means "the row with this key, or a new one". `resolve`: open exceptions the
    edit fixes (from `unblock_preview`); they are resolved here, so their handoffs re-run once
    this transaction commits. SAP checks happen before, outside the transaction.
    """
    cleaned = table.clean(dict(raw))
    if cleaned.errors:
        raise _as_validation_error(cleaned.errors)
    existing = table.find(cleaned.values)
    if instance is not None and existing is not None and existing.pk != instance.pk:
        raise ValidationError({table.key[-1]: [f"{table.row_key(cleaned.values)} already has a row; edit that one."]})
    target = instance or existing
    before = table.snapshot(target) if target is not None else None
    obj = table.apply(target, cleaned.values, actor=_actor_or_none(actor))
    after = table.snapshot(obj)
    change_record(table=table, action=action or (ChangeAction.UPDATE if before else ChangeAction.CREATE),
                  channel=channel, before=before, after=after, actor=actor, reason=reason)
    crosswalk_unblock(exceptions=resolve, actor=actor, note=f"{table.label}: {table.row_key(after)} saved")
    return obj


@transaction.atomic
def crosswalk_row_delete(*, table: Table, instance: Any, actor: Any, channel: str, reason: str = "") -> None:
    before = table.snapshot(instance)
    instance.delete()
    change_record(table=table, action=ChangeAction.DELETE, channel=channel, before=before, after=None,
                  actor=actor, reason=reason)


@transaction.atomic
def crosswalk_change_revert(*, change: CrosswalkChange, actor: Any, reason: str = "") -> Any:
    """Put the row back the way it was before `change` (deleting it if the change created it)."""
    table = TABLES[change.table]
    probe = change.after or change.before or {}
    cleaned = table.clean(probe)
    current = table.find(cleaned.values)
    why = reason or f"revert of change {change.pk} ({change.get_action_display()} {change.created_at:%Y-%m-%d %H:%M})"
    if change.before is None:
        if current is not None:
            before = table.snapshot(current)
            current.delete()
            change_record(table=table, action=ChangeAction.REVERT, channel=ChangeChannel.UI, before=before,
                          after=None, actor=actor, reason=why)
        return None
    return crosswalk_row_save(table=table, raw=change.before, actor=actor, channel=ChangeChannel.UI,
                              reason=why, instance=current, action=ChangeAction.REVERT)


@transaction.atomic
def crosswalk_unblock(*, exceptions: Iterable[Any], actor: Any, note: str) -> list[int]:
    """Resolve the exceptions an edit fixed; the last one of a handoff sends it back to validation."""
    from exceptions.models import ExceptionStatus, SyncException
    from exceptions.services import exception_resolve

    ids = [e.pk for e in exceptions]
    resolved = []
    for exception in SyncException.objects.filter(pk__in=ids, status=ExceptionStatus.OPEN).order_by("pk"):
        exception_resolve(exception=exception, actor=_actor_or_none(actor), note=note)
        resolved.append(exception.handoff_id)
    return resolved
