"""The crosswalk tables as one registry, so the workbench, CSV, history and the API treat them alike.

Every table row has a *snapshot*: a flat dict of strings keyed by the CSV column names. Snapshots
are what the history stores (before/after), what export writes, what import and the forms read
and what revert restores — one representation, so a revert is "save this snapshot again".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404

from crosswalks.models import (
    DEFAULT_TARGET,
    CurrencyMapping,
    CustomerMapping,
    ErpTarget,
    ErpTargetRule,
    PaymentTermsMapping,
    ProductMapping,
    ProductMappingComponent,
    TaxRule,
    UnitOfMeasureMapping,
)
from integration_hub.errors import InvalidSalesforceId
from integration_hub.models import salesforce_id_18

# "MAT-EL-001 × 1 + MAT-AA-001 × 2 EA": materials of a bundle, each with factor and optional unit.
_COMPONENT = re.compile(r"^\s*([A-Za-z0-9][\w./-]*)\s*(?:[*×]\s*([0-9]+(?:[.,][0-9]+)?))?\s*([A-Za-z]{1,3})?\s*$")
_MATERIAL = re.compile(r"^[A-Za-z0-9][\w./-]*$")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str = "text"  # text | upper | decimal01 | bool | date | int | materials | items | target | sfid
    required: bool = False
    max_length: int = 255
    default: str = ""
    help: str = ""
    # A trailing column only some ERP targets need: an export leaves it off a row where it holds
    # nothing but its default, so a hub on S/4HANA alone reads and writes the files it always did.
    optional: bool = False


@dataclass
class Cleaned:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_components(text: str) -> list[dict[str, Any]]:
    """`"MAT-A × 2 EA + MAT-B"` → component dicts; raises ValueError with a plain-words message."""
    parts = [p for p in (text or "").split("+") if p.strip()]
    if not parts:
        raise ValueError("at least one SAP material is needed")
    components, seen = [], set()
    for position, part in enumerate(parts):
        match = _COMPONENT.match(part)
        if not match:
            raise ValueError(f"'{part.strip()}' is not 'MATERIAL × factor [unit]'")
        material, factor_text, unit = match.groups()
        factor = Decimal((factor_text or "1").replace(",", "."))
        if factor <= 0:
            raise ValueError(f"the quantity factor of {material} must be greater than 0")
        if material in seen:
            raise ValueError(f"{material} is listed twice")
        seen.add(material)
        components.append({"sap_material": material, "quantity_factor": factor,
                           "unit": (unit or "").upper(), "position": position})
    return components


def clean_components(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Component dicts, as the REST API, the admin and the exception screen send them, into the
    form `parse_components` gives; raises ValueError with a plain-words message."""
    components: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        material = str(item.get("sap_material") or "").strip()
        if not material:
            raise ValueError(f"component {index + 1}: an SAP material is required")
        if len(material) > 40 or not _MATERIAL.match(material):
            raise ValueError(f"component {index + 1}: '{material}' is not an SAP material number")
        if material in seen:
            raise ValueError(f"{material} is listed twice")
        seen.add(material)
        raw_factor = item.get("quantity_factor")
        text = "1" if raw_factor is None or str(raw_factor).strip() == "" else str(raw_factor).strip()
        try:
            factor = Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise ValueError(f"component {index + 1} ({material}): '{text}' is not a number") from None
        if not factor.is_finite() or factor <= 0:
            raise ValueError(f"the quantity factor of {material} must be greater than 0, not {text}")
        unit = str(item.get("unit") or "").strip().upper()
        if len(unit) > 3:
            raise ValueError(f"the unit of {material} is '{unit}'; an SAP unit has at most 3 characters")
        position = item.get("position")
        try:
            place = index if position is None or str(position).strip() == "" else int(position)
        except ValueError:
            raise ValueError(f"component {index + 1} ({material}): position '{position}' is not a number") from None
        components.append({"sap_material": material, "quantity_factor": factor, "unit": unit, "position": place})
    if not components:
        raise ValueError("at least one SAP material is needed")
    return components


def format_components(components: list[Any]) -> str:
    out = []
    for c in components:
        get = c.get if isinstance(c, dict) else lambda name, c=c: getattr(c, name)
        factor = Decimal(str(get("quantity_factor"))).normalize()
        unit = get("unit") or ""
        out.append(f"{get('sap_material')} × {factor:f}{' ' + unit if unit else ''}")
    return " + ".join(out)


# "netsuite:101 × 1 + netsuite:205 × 2": a product's items in ERPs other than S/4HANA.
_ITEM = re.compile(r"^\s*([a-z0-9]+)\s*:\s*([A-Za-z0-9][\w./-]*)\s*(?:[*×]\s*([0-9]+(?:[.,][0-9]+)?))?\s*([A-Za-z]{1,3})?\s*$")
OTHER_TARGETS = tuple(t for t in ErpTarget.values if t != DEFAULT_TARGET)


def _factor(text: str, item: str) -> Decimal:
    try:
        factor = Decimal((text or "1").replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"'{text}' is not a number") from None
    if not factor.is_finite() or factor <= 0:
        raise ValueError(f"the quantity factor of {item} must be greater than 0, not {text}")
    return factor


def clean_items(items: Iterable[Mapping[str, Any]], *, target: str = "") -> list[dict[str, Any]]:
    """Item dicts of a target other than S/4HANA (`{"erp_item", "quantity_factor"[, "erp_target", "unit"]}`,
    as the REST API sends them) into component dicts; raises ValueError in plain words."""
    components: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(items):
        erp = str(entry.get("erp_target") or target or "").strip().lower()
        item = str(entry.get("erp_item") or "").strip()
        if erp not in OTHER_TARGETS:
            raise ValueError(f"item {index + 1}: '{erp}' is not an ERP target ({', '.join(OTHER_TARGETS)})")
        if not item:
            raise ValueError(f"item {index + 1}: the {erp} item id is required")
        if len(item) > 40 or not _MATERIAL.match(item):
            raise ValueError(f"item {index + 1}: '{item}' is not an item id")
        if (erp, item) in seen:
            raise ValueError(f"{erp} item {item} is listed twice")
        seen.add((erp, item))
        raw_factor = entry.get("quantity_factor")
        factor = _factor("" if raw_factor is None else str(raw_factor).strip(), item)
        unit = str(entry.get("unit") or "").strip().upper()[:3]
        components.append({"erp_target": erp, "erp_item": item, "sap_material": "", "quantity_factor": factor,
                           "unit": unit, "position": index})
    return components


def parse_items(text: str) -> list[dict[str, Any]]:
    """`"netsuite:101 × 2 + netsuite:205"` → component dicts of other targets."""
    entries = []
    for part in (p for p in (text or "").split("+") if p.strip()):
        match = _ITEM.match(part)
        if not match:
            raise ValueError(f"'{part.strip()}' is not 'target:ITEM × factor [unit]'")
        erp, item, factor, unit = match.groups()
        entries.append({"erp_target": erp, "erp_item": item, "quantity_factor": factor or "1", "unit": unit or ""})
    return clean_items(entries)


def format_items(components: list[Any]) -> str:
    out = []
    for c in components:
        get = c.get if isinstance(c, dict) else lambda name, c=c: getattr(c, name)
        if (get("erp_target") or DEFAULT_TARGET) == DEFAULT_TARGET:
            continue
        factor = Decimal(str(get("quantity_factor"))).normalize()
        unit = get("unit") or ""
        out.append(f"{get('erp_target')}:{get('erp_item')} × {factor:f}{' ' + unit if unit else ''}")
    return " + ".join(out)


def s4_components(components: list[Any]) -> list[Any]:
    return [c for c in components
            if ((c.get("erp_target") if isinstance(c, dict) else c.erp_target) or DEFAULT_TARGET) == DEFAULT_TARGET]


def component_rows(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every component a product row's cleaned values name, S/4 materials first, ready for the model."""
    rows = [{**c, "erp_target": DEFAULT_TARGET, "erp_item": ""} for c in values.get("materials") or []]
    start = len(rows)
    rows += [{**c, "position": start + i} for i, c in enumerate(values.get("erp_items") or [])]
    return rows


COMPONENT_KINDS = ("materials", "items")


def _clean_value(column: Column, raw: Any) -> Any:
    if column.kind == "materials" and isinstance(raw, list | tuple):
        return clean_components(raw)
    if column.kind == "items" and isinstance(raw, list | tuple):
        return clean_items(raw)
    text = "" if raw is None else str(raw).strip()
    if not text:
        text = column.default
    if not text:
        if column.required:
            raise ValueError("is required")
        return None if column.kind in {"date", "decimal01", "int"} else ""
    if column.kind in {"text", "upper"}:
        if len(text) > column.max_length:
            raise ValueError(f"is {len(text)} characters long; at most {column.max_length} fit")
        return text.upper() if column.kind == "upper" else text
    if column.kind == "decimal01":
        try:
            value = Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise ValueError(f"'{text}' is not a number") from None
        if not Decimal(0) <= value <= Decimal(1):
            raise ValueError(f"must be between 0 and 1, not {text}")
        return value
    if column.kind == "int":
        if not text.isdigit():
            raise ValueError(f"'{text}' is not a whole number")
        return int(text)
    if column.kind == "bool":
        lowered = text.lower()
        if lowered in {"1", "true", "yes", "y", "on", "x"}:
            return True
        if lowered in {"0", "false", "no", "n", "off"}:
            return False
        raise ValueError(f"'{text}' is not yes or no")
    if column.kind == "date":
        for form in (text, text.replace("/", "-")):
            try:
                return date.fromisoformat(form)
            except ValueError:
                continue
        match = re.match(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$", text)  # 31.12.2026, as Excel in Germany writes it
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        raise ValueError(f"'{text}' is not a date (use YYYY-MM-DD)")
    if column.kind == "materials":
        return parse_components(text)
    if column.kind == "items":
        return parse_items(text)
    if column.kind == "target":
        if text.lower() not in ErpTarget.values:
            raise ValueError(f"'{text}' is not an ERP target ({', '.join(ErpTarget.values)})")
        return text.lower()
    if column.kind == "sfid":
        try:
            return salesforce_id_18(text)
        except InvalidSalesforceId as error:
            raise ValueError(f"is not a Salesforce id ({error})") from None
    raise AssertionError(column.kind)


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass
class Table:
    slug: str
    label: str
    # Code over any crosswalk model goes through `_default_manager` (Django's advice for generic
    # code): `type[Model]` has no `objects`. None of these models declares another manager.
    model: type[models.Model]
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    search: tuple[str, ...]
    editor_queues: tuple[str, ...]
    # Case-insensitive keys (payment terms are matched with lower() by validation).
    key_ci: bool = False
    # A column naming the ERP target a row is for: part of the row's identity, and of its key text
    # only for a target other than S/4HANA (the keys of S/4 rows read as they always did).
    target_column: str = ""
    extra_clean: Callable[[dict[str, Any], dict[str, str]], None] | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    # -- keys --------------------------------------------------------------------------------------
    def row_key(self, values: dict[str, Any]) -> str:
        key = "|".join(_to_text(values.get(name)) for name in self.key)
        target = str(values.get(self.target_column) or DEFAULT_TARGET) if self.target_column else DEFAULT_TARGET
        if target != DEFAULT_TARGET:
            key += f"|{target}"
        return key.lower() if self.key_ci else key

    def find(self, values: dict[str, Any]) -> Any:
        lookup = {f"{name}__iexact" if self.key_ci else name: values.get(name) or "" for name in self.key}
        if self.target_column:
            lookup[self.target_column] = values.get(self.target_column) or DEFAULT_TARGET
        return self.queryset().filter(**lookup).first()

    def queryset(self) -> QuerySet[Any]:
        qs = self.model._default_manager.all()
        if self.model is ProductMapping:
            qs = qs.prefetch_related("components")
        return qs

    def filtered(self, q: str | None) -> QuerySet[Any]:
        qs = self.queryset()
        if q:
            condition = Q()
            for name in self.search:
                condition |= Q(**{f"{name}__icontains": q})
            qs = qs.filter(condition).distinct()
        return qs

    # -- snapshots ---------------------------------------------------------------------------------
    def snapshot(self, obj: Any) -> dict[str, str]:
        result = {}
        for column in self.columns:
            if column.kind == "materials":
                result[column.name] = format_components(s4_components(list(obj.components.all())))
            elif column.kind == "items":
                result[column.name] = format_items(list(obj.components.all()))
            else:
                result[column.name] = _to_text(getattr(obj, column.name))
        return result

    def plain_snapshot(self, obj: Any) -> dict[str, str]:
        """The snapshot without a product's materials: what an unsaved instance (an admin form's) can tell."""
        return {c.name: _to_text(getattr(obj, c.name)) for c in self.columns if c.kind not in COMPONENT_KINDS}

    def values_snapshot(self, values: dict[str, Any]) -> dict[str, str]:
        """The snapshot a row saved from these cleaned values will have (for diffs before saving)."""
        return {
            c.name: format_components(values.get(c.name) or []) if c.kind == "materials"
            else format_items(values.get(c.name) or []) if c.kind == "items" else _to_text(values.get(c.name))
            for c in self.columns
        }

    def clean(self, raw: dict[str, Any], *, only: Iterable[str] | None = None) -> Cleaned:
        """Cleaned values and column → message errors; `only`: just these columns (a form's own)."""
        out = Cleaned()
        wanted = set(only) if only is not None else None
        for column in self.columns:
            if wanted is not None and column.name not in wanted:
                continue
            try:
                out.values[column.name] = _clean_value(column, raw.get(column.name))
            except ValueError as error:
                out.errors[column.name] = f"{column.label} {error}."
        if self.extra_clean and not out.errors:
            self.extra_clean(out.values, out.errors)
        return out

    # -- writes (no history here: services.py records it) -------------------------------------------
    def apply(self, obj: Any, values: dict[str, Any], *, actor: Any = None,
              extra: dict[str, Any] | None = None) -> Any:
        """Create (obj None) or update a row from cleaned values; `extra`: model fields that are
        not columns (a mapping's `source`)."""
        plain = {k: v for k, v in values.items() if self.column(k).kind not in COMPONENT_KINDS} | (extra or {})
        if obj is None:
            obj = self.model(**plain)
        else:
            for name, value in plain.items():
                setattr(obj, name, value)
        if isinstance(obj, ProductMapping):
            obj.updated_by = actor
        obj.full_clean(validate_unique=False, validate_constraints=False)
        obj.save()
        if isinstance(obj, ProductMapping) and ("materials" in values or "erp_items" in values):
            obj.components.all().delete()
            ProductMappingComponent.objects.bulk_create(
                ProductMappingComponent(mapping=obj, **component) for component in component_rows(values)
            )
            # The prefetch cache would otherwise serve the old components to the snapshot.
            if hasattr(obj, "_prefetched_objects_cache"):
                obj._prefetched_objects_cache.clear()
        return obj


def _validity(values: dict[str, Any], errors: dict[str, str]) -> None:
    start, end = values.get("valid_from"), values.get("valid_to")
    if start and end and end < start:
        errors["valid_to"] = f"Valid to ({end}) is before valid from ({start})."


def _product_items(values: dict[str, Any], errors: dict[str, str]) -> None:
    """A product maps to SAP materials, to another ERP's items, or both; never to nothing."""
    if not values.get("materials") and not values.get("erp_items"):
        errors["materials"] = "SAP materials is required (or the items of another ERP)."
    _validity(values, errors)


def _customer_defaults(values: dict[str, Any], errors: dict[str, str]) -> None:
    if not values.get("org_id"):
        values["org_id"] = settings.SALESFORCE_ORG_ID
    _validity(values, errors)


def _target_rule(values: dict[str, Any], errors: dict[str, str]) -> None:
    if bool(values.get("crm_account_id")) == bool(values.get("billing_country")):
        errors["crm_account_id"] = "Give either a Salesforce account id or a billing country, not both or neither."


_VALIDITY = (
    Column("valid_from", "Valid from", "date", help="blank = already valid"),
    Column("valid_to", "Valid to", "date", help="blank = open-ended"),
)

TABLES: dict[str, Table] = {
    t.slug: t
    for t in (
        Table(
            "products", "Products → materials", ProductMapping,
            (
                Column("crm_product_code", "CRM product code", required=True, max_length=100),
                Column("crm_product_name", "CRM product name"),
                Column("materials", "SAP materials", "materials",
                       help="MAT-A × 1 + MAT-B × 2 EA"),
                Column("confidence", "Confidence", "decimal01", default="1"),
                Column("active", "Active", "bool", default="yes"),
                *_VALIDITY,
                Column("erp_items", "Other ERP items", "items", help="netsuite:101 × 1 + netsuite:205 × 2",
                       optional=True),
            ),
            key=("crm_product_code",),
            search=("crm_product_code", "crm_product_name", "components__sap_material", "components__erp_item"),
            editor_queues=("product-ops",),
            extra_clean=_product_items,
        ),
        Table(
            "customers", "Accounts → business partners", CustomerMapping,
            (
                Column("crm_account_id", "Salesforce account id", required=True, max_length=18),
                Column("crm_account_name", "Account name"),
                Column("sap_business_partner", "Sold-to BP", "upper", required=True, max_length=10),
                Column("sap_ship_to", "Ship-to BP", "upper", max_length=10),
                Column("confidence", "Confidence", "decimal01", default="1"),
                *_VALIDITY,
                Column("org_id", "Salesforce org id", max_length=18, help="blank = this hub's org"),
                Column("erp_target", "ERP", "target", default=DEFAULT_TARGET, help="s4hana | netsuite",
                       optional=True),
            ),
            key=("org_id", "crm_account_id"), target_column="erp_target",
            search=("crm_account_id", "crm_account_name", "sap_business_partner"),
            editor_queues=("master-data",),
            extra_clean=_customer_defaults,
        ),
        Table(
            "terms", "Payment terms", PaymentTermsMapping,
            (
                Column("crm_value", "CRM payment terms", required=True, max_length=100),
                Column("sap_terms_key", "SAP terms key", "upper", required=True, max_length=4),
                Column("erp_target", "ERP", "target", default=DEFAULT_TARGET, help="s4hana | netsuite",
                       optional=True),
            ),
            key=("crm_value",), search=("crm_value", "sap_terms_key"), target_column="erp_target",
            editor_queues=("master-data", "sales-ops"), key_ci=True,
        ),
        Table(
            "tax", "Tax rules", TaxRule,
            (
                Column("country", "Country", "upper", required=True, max_length=2),
                Column("region", "Region", "upper", max_length=3),
                Column("material_tax_class", "Material tax class", required=True, max_length=1),
                Column("sap_tax_classification", "SAP tax classification", required=True, max_length=2),
                Column("priority", "Priority", "int", default="100"),
            ),
            key=("country", "region", "material_tax_class"),
            search=("country", "region", "sap_tax_classification"),
            editor_queues=("master-data",),
        ),
        Table(
            "units", "Units of measure", UnitOfMeasureMapping,
            (
                Column("crm_unit", "CRM unit", required=True, max_length=30),
                Column("sap_unit", "SAP unit", "upper", required=True, max_length=3),
            ),
            key=("crm_unit",), search=("crm_unit", "sap_unit"), editor_queues=("product-ops",),
        ),
        Table(
            "currencies", "Currencies", CurrencyMapping,
            (
                Column("crm_currency", "CRM currency", required=True, max_length=30),
                Column("sap_currency", "SAP currency", "upper", required=True, max_length=3),
            ),
            key=("crm_currency",), search=("crm_currency", "sap_currency"), editor_queues=("master-data",),
        ),
        Table(
            "erp-targets", "ERP targets", ErpTargetRule,
            (
                Column("crm_account_id", "Salesforce account id", "sfid", max_length=18,
                       help="blank = a rule by billing country"),
                Column("billing_country", "Billing country", "upper", max_length=2, help="blank = a rule by account"),
                Column("erp_target", "ERP", "target", required=True, help="s4hana | netsuite"),
                Column("note", "Note"),
            ),
            key=("crm_account_id", "billing_country"), search=("crm_account_id", "billing_country", "erp_target"),
            editor_queues=("integration-ops",), extra_clean=_target_rule,
        ),
    )
}


def table_get(slug: str) -> Table:
    try:
        return TABLES[slug]
    except KeyError:
        raise Http404(f"no crosswalk table {slug!r}") from None
