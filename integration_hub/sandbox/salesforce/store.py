"""Writes and reads of sandbox records, with the validation and derived fields Salesforce applies.

Services here are the only code that changes `SfRecord` rows, so the REST views, the seed and
tests all get the same rules (required fields, read-only fields, references, roll-ups, and the
Outbound Message when an Opportunity is won).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integration_hub.sandbox.salesforce import schema
from integration_hub.sandbox.salesforce.models import SfIdSequence, SfOutboundMessage, SfRecord
from integration_hub.sandbox.salesforce.schema import SObject

INTEGRATION_USER_ID = schema.make_id("005", 1)
DEFAULT_VERSION = "59.0"


class SfApiError(Exception):
    """An error Salesforce would answer with: HTTP status plus the JSON error array."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else str(status))
        self.status = status
        self.errors = errors


def api_error(code: str, message: str, *, fields: Iterable[str] = (), status: int = 400) -> SfApiError:
    return SfApiError(status, [{"message": message, "errorCode": code, "fields": list(fields)}])


def not_found() -> SfApiError:
    return api_error("NOT_FOUND", "The requested resource does not exist", status=404)


def get_sobject(name: str) -> SObject:
    obj = schema.sobject(name)
    if obj is None:
        raise api_error("NOT_FOUND", f"The requested resource does not exist: sObject type '{name}'", status=404)
    return obj


# -- ids ---------------------------------------------------------------------------------------
def allocate_ids(prefix: str, count: int = 1) -> list[str]:
    """Reserve `count` fresh ids for a key prefix (row-locked, so safe across processes)."""
    SfIdSequence.objects.get_or_create(prefix=prefix)
    with transaction.atomic():
        seq = SfIdSequence.objects.select_for_update().get(prefix=prefix)
        first = seq.last + 1
        seq.last += count
        seq.save(update_fields=["last"])
    return [schema.make_id(prefix, n) for n in range(first, first + count)]


# -- rendering ---------------------------------------------------------------------------------
def sobject_url(sobject: str, record_id: str, version: str = DEFAULT_VERSION) -> str:
    return f"/services/data/v{version}/sobjects/{sobject}/{record_id}"


def attributes(sobject: str, record_id: str | None, version: str = DEFAULT_VERSION) -> dict[str, str]:
    attrs = {"type": sobject}
    if record_id:
        attrs["url"] = sobject_url(sobject, record_id, version)
    return attrs


def render(record: SfRecord, fields: list[str] | None = None, version: str = DEFAULT_VERSION) -> dict[str, Any]:
    """A record the way `GET sobjects/<Type>/<id>` returns it: every field, in declared order."""
    obj = get_sobject(record.sobject)
    out: dict[str, Any] = {"attributes": attributes(obj.name, record.record_id, version)}
    names = list(obj.fields) if fields is None else fields
    for name in names:
        out[name] = record.fields.get(name)
    return out


# -- value coercion ----------------------------------------------------------------------------
def _json_error(field: schema.Field, value: Any) -> SfApiError:
    kind = "VALUE_STRING" if isinstance(value, str) else type(value).__name__.upper()
    return api_error(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {field.type} from {kind} value {value} or request may be missing a required field",
        fields=[field.name],
    )


def coerce(obj: SObject, field: schema.Field, value: Any) -> Any:
    """The stored (wire) form of a value written to `field`, or an SfApiError."""
    if value is None:
        return None
    kind = field.type
    if kind == schema.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _json_error(field, value)
    if kind in schema.NUMBER_TYPES:
        if isinstance(value, bool):
            raise _json_error(field, value)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _json_error(field, value) from None
        if not math.isfinite(number):
            raise _json_error(field, value)
        return int(number) if kind == schema.INT else number
    if kind == schema.DATE:
        if not isinstance(value, str) or schema.parse_date(value) is None:
            raise _json_error(field, value)
        return value.strip()
    if kind == schema.DATETIME:
        parsed = schema.parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise _json_error(field, value)
        return schema.format_datetime(parsed)
    if kind == schema.REFERENCE:
        normalized = schema.normalize_id(value)
        if normalized is None:
            label = field.name[:-2] if field.name.endswith("Id") else field.name
            raise api_error("MALFORMED_ID", f"{label} ID: id value of incorrect type: {value}", fields=[field.name])
        return normalized
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _json_error(field, value)
    text = str(value)
    if field.restricted and text not in field.picklist_values:
        raise api_error(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{field.display_label}: bad value for restricted picklist field: {text}",
            fields=[field.name],
        )
    if field.length and len(text) > field.length:
        raise api_error(
            "STRING_TOO_LONG",
            f"{field.name}: data value too large: {text[:40]} (max length={field.length})",
            fields=[field.name],
        )
    return text


def _check_payload(obj: SObject, data: Any, *, creating: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise api_error("JSON_PARSER_ERROR", "The request body must be a JSON object")
    values: dict[str, Any] = {}
    unknown = [key for key in data if key != "attributes" and obj.field(key) is None]
    if unknown:
        raise api_error(
            "INVALID_FIELD",
            f"No such column '{unknown[0]}' on sobject of type {obj.name}",
            fields=[unknown[0]],
        )
    readonly = []
    for key, value in data.items():
        if key == "attributes":
            continue
        field = obj.field(key)
        assert field is not None
        if field.readonly or (field.create_only and not creating):
            readonly.append(field.name)
            continue
        values[field.name] = coerce(obj, field, value)
    if readonly:
        raise api_error(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(readonly)}. Please check the security settings of "
            "this field and verify that it is read/write for your profile or permission set.",
            fields=readonly,
        )
    return values


def _check_required(obj: SObject, values: dict[str, Any]) -> None:
    missing = [f.name for f in obj.fields.values() if f.required and values.get(f.name) in (None, "")]
    if missing:
        raise api_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                        fields=missing)


def _load(record_id: str, sobject: str | None = None, *, lock: bool = False) -> SfRecord | None:
    qs = SfRecord.objects.filter(record_id=record_id, is_deleted=False)
    if sobject:
        qs = qs.filter(sobject=sobject)
    if lock:
        qs = qs.select_for_update()
    return qs.first()


def _check_references(obj: SObject, values: dict[str, Any]) -> dict[str, SfRecord]:
    """Every reference must point at a live record of the right type."""
    found: dict[str, SfRecord] = {}
    for name, value in values.items():
        field = obj.fields[name]
        if field.type != schema.REFERENCE or value is None:
            continue
        target = schema.sobject(field.reference_to)
        if target is None:  # a type the sandbox does not model (Contract): trust the prefix
            continue
        record = _load(value, target.name) if value[:3] == target.prefix else None
        if record is None:
            raise api_error(
                "INVALID_CROSS_REFERENCE_KEY",
                f"invalid cross reference id: {value}" if value[:3] != target.prefix
                else f"{field.name}: id value of incorrect type or record does not exist: {value}",
                fields=[name],
            )
        found[name] = record
    return found


# -- derived fields ----------------------------------------------------------------------------
def _stamp(fields: dict[str, Any], now: datetime, *, creating: bool) -> None:
    stamp = schema.format_datetime(now)
    if creating:
        fields["CreatedDate"] = stamp
        fields["CreatedById"] = INTEGRATION_USER_ID
        fields["IsDeleted"] = False
    fields["LastModifiedDate"] = stamp
    fields["LastModifiedById"] = INTEGRATION_USER_ID
    fields["SystemModstamp"] = stamp


def _full_name(fields: dict[str, Any]) -> str:
    return " ".join(p for p in (fields.get("FirstName"), fields.get("LastName")) if p)


def _derive_opportunity(fields: dict[str, Any], changed: set[str]) -> None:
    stage = fields.get("StageName") or ""
    fields["IsClosed"] = stage in schema.CLOSED_STAGES
    fields["IsWon"] = schema.CLOSED_STAGES.get(stage, False)
    if "StageName" in changed and "Probability" not in changed:
        fields["Probability"] = schema.STAGE_PROBABILITY.get(stage, fields.get("Probability"))
    if "StageName" in changed and "ForecastCategoryName" not in changed:
        fields["ForecastCategoryName"] = (
            "Closed" if fields["IsWon"] else "Omitted" if fields["IsClosed"] else "Pipeline"
        )
    fields.setdefault("HasOpportunityLineItem", False)
    fields.setdefault("TotalOpportunityQuantity", None)


def _money(value: float) -> float:
    return round(value + 0.0, 2)


def _derive_line(fields: dict[str, Any], changed: set[str], creating: bool) -> None:
    entry = _load(fields["PricebookEntryId"], "PricebookEntry") if fields.get("PricebookEntryId") else None
    if creating:
        opp = _load(fields["OpportunityId"], "Opportunity", lock=True)
        if opp is None:  # checked by _check_references; keeps the type checker honest
            raise not_found()
        opp_book = opp.fields.get("Pricebook2Id")
        if entry is None:
            if not fields.get("Product2Id"):
                raise api_error("REQUIRED_FIELD_MISSING", "Required fields are missing: [PricebookEntryId]",
                                fields=["PricebookEntryId"])
            entry = _find_entry(fields["Product2Id"], opp_book)
            if entry is None:
                raise api_error("FIELD_INTEGRITY_EXCEPTION",
                                "field integrity exception: Product2Id (no active price book entry for this product)",
                                fields=["Product2Id"])
            fields["PricebookEntryId"] = entry.record_id
        book = entry.fields.get("Pricebook2Id")
        if opp_book and opp_book != book:
            raise api_error(
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: PricebookEntryId (pricebook entry is in a different pricebook than "
                "the one assigned to the opportunity)",
                fields=["PricebookEntryId"],
            )
        if not opp_book:
            opp.fields["Pricebook2Id"] = book
            opp.save(update_fields=["fields"])
        if "UnitPrice" in changed and "TotalPrice" in changed and fields.get("UnitPrice") is not None \
                and fields.get("TotalPrice") is not None:
            raise api_error("FIELD_INTEGRITY_EXCEPTION",
                            "field integrity exception: TotalPrice (only one of unit price or total price may be "
                            "specified)", fields=["TotalPrice"])
        if fields.get("UnitPrice") is None and fields.get("TotalPrice") is None:
            raise api_error("FIELD_INTEGRITY_EXCEPTION",
                            "field integrity exception: unknown (must specify either UnitPrice or TotalPrice)",
                            fields=["UnitPrice"])
    if entry is not None:
        product = _load(entry.fields.get("Product2Id") or "", "Product2")
        fields["Product2Id"] = entry.fields.get("Product2Id")
        fields["ListPrice"] = entry.fields.get("UnitPrice")
        fields["ProductCode"] = product.fields.get("ProductCode") if product else None
        fields["Name"] = product.fields.get("Name") if product else None
    quantity = float(fields.get("Quantity") or 0)
    discount = float(fields.get("Discount") or 0)
    factor = 1 - discount / 100
    if "TotalPrice" in changed and "UnitPrice" not in changed and fields.get("TotalPrice") is not None:
        denominator = quantity * factor
        fields["UnitPrice"] = _money(fields["TotalPrice"] / denominator) if denominator else 0.0
    unit = float(fields.get("UnitPrice") or 0)
    fields["TotalPrice"] = _money(quantity * unit * factor)


def _find_entry(product_id: str, book_id: str | None) -> SfRecord | None:
    qs = SfRecord.objects.filter(sobject="PricebookEntry", is_deleted=False, fields__Product2Id=product_id)
    if book_id:
        qs = qs.filter(fields__Pricebook2Id=book_id)
    return qs.order_by("id").first()


def _refresh_opportunity(opportunity_id: str, now: datetime) -> None:
    """Roll the line items up into the Opportunity, as Salesforce does on every line change."""
    opp = _load(opportunity_id, "Opportunity", lock=True)
    if opp is None:
        return
    lines = list(
        SfRecord.objects.filter(sobject="OpportunityLineItem", is_deleted=False, fields__OpportunityId=opportunity_id)
    )
    fields = dict(opp.fields)
    fields["HasOpportunityLineItem"] = bool(lines)
    if lines:
        fields["Amount"] = _money(sum(float(line.fields.get("TotalPrice") or 0) for line in lines))
        fields["TotalOpportunityQuantity"] = sum(float(line.fields.get("Quantity") or 0) for line in lines)
    else:
        fields["TotalOpportunityQuantity"] = None
    _stamp(fields, now, creating=False)
    opp.fields = fields
    opp.system_modstamp = now
    opp.save(update_fields=["fields", "system_modstamp"])


def _derive(obj: SObject, fields: dict[str, Any], changed: set[str], *, creating: bool) -> None:
    if obj.name in ("Contact", "User"):
        fields["Name"] = _full_name(fields)
    elif obj.name == "Opportunity":
        _derive_opportunity(fields, changed)
    elif obj.name == "OpportunityLineItem":
        _derive_line(fields, changed, creating)
    elif obj.name == "PricebookEntry" and creating:
        product = _load(fields["Product2Id"], "Product2")
        fields["Name"] = product.fields.get("Name") if product else None
        fields["ProductCode"] = product.fields.get("ProductCode") if product else None
        fields.setdefault("IsActive", True)
        fields.setdefault("UseStandardPrice", False)
    elif obj.name == "Pricebook2" and creating:
        fields.setdefault("IsStandard", False)
        fields.setdefault("IsActive", True)
    elif obj.name == "Product2" and creating:
        fields.setdefault("IsActive", True)
    if creating and "OwnerId" in obj.fields and not fields.get("OwnerId"):
        fields["OwnerId"] = INTEGRATION_USER_ID


def _queue_outbound_if_won(obj: SObject, record_id: str, before: str | None, after: str | None,
                           now: datetime) -> None:
    if obj.name != "Opportunity" or after != schema.CLOSED_WON or before == schema.CLOSED_WON:
        return
    notification_id, = allocate_ids("04l")
    SfOutboundMessage.objects.create(
        notification_id=notification_id,
        action_id=outbound_action_id(),
        sobject=obj.name,
        record_id=record_id,
        next_attempt_at=now,
        created_at=now,
    )


def outbound_action_id() -> str:
    """The one workflow outbound-message action the sandbox org has configured."""
    return schema.make_id("04k", 1)


# -- services ----------------------------------------------------------------------------------
@transaction.atomic
def record_create(*, sobject: str, data: Any, record_id: str | None = None) -> SfRecord:
    """Create one record as `POST sobjects/<Type>/` does; raises SfApiError on invalid input."""
    obj = get_sobject(sobject)
    values = _check_payload(obj, data, creating=True)
    _check_required(obj, values)
    _check_references(obj, values)
    now = timezone.now()
    fields: dict[str, Any] = {name: None for name in obj.fields}
    fields.update(values)
    new_id = record_id or allocate_ids(obj.prefix)[0]
    fields["Id"] = new_id
    _derive(obj, fields, set(values), creating=True)
    _stamp(fields, now, creating=True)
    record = SfRecord.objects.create(
        sobject=obj.name, record_id=new_id, fields=fields, created_date=now, system_modstamp=now
    )
    if obj.name == "OpportunityLineItem":
        _refresh_opportunity(fields["OpportunityId"], now)
    _queue_outbound_if_won(obj, new_id, None, fields.get("StageName"), now)
    return record


def _resolve(obj: SObject, record_id: str, *, lock: bool = False) -> SfRecord:
    normalized = schema.normalize_id(record_id)
    if normalized is None or normalized[:3] != obj.prefix:
        raise not_found()
    record = _load(normalized, obj.name, lock=lock)
    if record is None:
        raise not_found()
    return record


def record_get(*, sobject: str, record_id: str) -> SfRecord:
    return _resolve(get_sobject(sobject), record_id)


@transaction.atomic
def record_update(*, sobject: str, record_id: str, data: Any) -> SfRecord:
    """Apply a PATCH; unchanged semantics for fields not in `data`."""
    obj = get_sobject(sobject)
    record = _resolve(obj, record_id, lock=True)
    values = _check_payload(obj, data, creating=False)
    missing = [n for n, v in values.items() if obj.fields[n].required and v in (None, "")]
    if missing:
        raise api_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                        fields=missing)
    _check_references(obj, values)
    now = timezone.now()
    before_stage = record.fields.get("StageName")
    fields = dict(record.fields)
    fields.update(values)
    _derive(obj, fields, set(values), creating=False)
    _stamp(fields, now, creating=False)
    record.fields = fields
    record.system_modstamp = now
    record.save(update_fields=["fields", "system_modstamp"])
    if obj.name == "OpportunityLineItem":
        _refresh_opportunity(fields["OpportunityId"], now)
    _queue_outbound_if_won(obj, record.record_id, before_stage, fields.get("StageName"), now)
    return record


@transaction.atomic
def record_delete(*, sobject: str, record_id: str) -> None:
    """Soft delete (the recycle bin): `queryAll` still sees the record."""
    obj = get_sobject(sobject)
    record = _resolve(obj, record_id, lock=True)
    now = timezone.now()
    fields = dict(record.fields)
    fields["IsDeleted"] = True
    _stamp(fields, now, creating=False)
    record.fields = fields
    record.is_deleted = True
    record.system_modstamp = now
    record.save(update_fields=["fields", "is_deleted", "system_modstamp"])
    if obj.name == "OpportunityLineItem":
        _refresh_opportunity(fields["OpportunityId"], now)
    if obj.name == "Opportunity":  # lines and roles go with their master
        for child in SfRecord.objects.filter(
            sobject__in=["OpportunityLineItem", "OpportunityContactRole"], is_deleted=False,
            fields__OpportunityId=record.record_id,
        ):
            child.is_deleted = True
            child.fields = {**child.fields, "IsDeleted": True}
            child.save(update_fields=["fields", "is_deleted"])


def org_id() -> str:
    return str(settings.SANDBOX_SALESFORCE_ORG_ID)
