"""Writes on crosswalk tables. The admin, the API and CSV import all come through here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from crosswalks.models import MappingSource, ProductMapping, ProductMappingComponent


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
    return mapping


@transaction.atomic
def product_mapping_update(
    *,
    mapping: ProductMapping,
    actor: AbstractBaseUser | None = None,
    components: Iterable[Mapping[str, Any]] | None = None,
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
    for name, value in fields.items():
        setattr(mapping, name, value)
    mapping.updated_by = actor
    mapping.save()
    if cleaned is not None:
        _write_components(mapping, cleaned)
    return mapping


@transaction.atomic
def product_mapping_delete(*, mapping: ProductMapping, actor: AbstractBaseUser | None = None) -> None:
    """Remove a mapping; deals using the product will raise `product_not_mapped` again."""
    mapping.delete()
