"""sObject Collections update: `PATCH /services/data/vXX.X/composite/sobjects`.

What this follows, from WIRE-ERP.md §5.2 (sources [F1] [F2] [F3] there):

- The body is `{"allOrNone": <bool, optional, default false>, "records": [...]}`; `records` is
  required. Each record carries `attributes.type` and `id`; types may be mixed [F1][F2].
- At most 200 records [F1]. More is refused as a whole with 400
  `[{"errorCode": "EXCEEDED_ID_LIMIT", "message": "record limit reached. cannot submit more than
  200 records into this call"}]` (the text public clients quote for this limit).
- Records are updated in the order given and the SaveResults come back in request order [F1].
- A malformed request answers 400 with the usual error array (`errorCode`); a well-formed one
  answers 200 with one `{"id", "success", "errors": [{"statusCode", "message", "fields"}]}` per
  record (`statusCode`, not `errorCode`) [F1][F3].
- `allOrNone: true`: when any record fails nothing is written; the failing records keep their
  own errors and every other record answers `ALL_OR_NONE_OPERATION_ROLLED_BACK`, "Record rolled
  back because not all records were valid and the request was using AllOrNone header" [F3].

Where the sources are silent the sandbox chooses, and these are not confirmed against a real org:

- Whole-request 400s for what fails while the JSON is read, before any record is saved: a body
  that is not an object, `records` missing or not a list, a record that is not an object, no
  `attributes.type` (INVALID_TYPE "Must send a concrete entity type."), an unknown type
  (INVALID_TYPE), an unknown field (INVALID_FIELD), a value of the wrong JSON type
  (JSON_PARSER_ERROR).
- Per-record failures, everything the save itself checks: no id (MISSING_ARGUMENT "Id not
  specified in an update call"), a malformed id or one of another type (MALFORMED_ID; its result
  has no `id`, as in the vendor's example), a deleted or unknown record (ENTITY_IS_DELETED "entity
  is deleted"), and the single-record rules (read-only fields, restricted picklists, lengths,
  references, required fields) with their usual codes. A failed record with a well-formed id
  keeps its `id`; callers should still pair results with records by position.
- The 10-chunk limit for mixed types [F1] is not enforced: its error is unconfirmed, and the
  hub's connector groups records by type so it never sends more than one chunk per type.

Per-record faults (`refuse`, supplied by the view from the fault table) run before anything is
written, so a rolled-back `allOrNone` call does not give a one-shot fault back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from integration_hub.sandbox.salesforce import schema, store
from integration_hub.sandbox.salesforce.models import SfRecord
from integration_hub.sandbox.salesforce.schema import SObject
from integration_hub.sandbox.salesforce.store import SfApiError, api_error

MAX_RECORDS = 200
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}

# (sObject name, 18-character id) -> one `errors[]` entry to refuse that record with, or None.
RecordRefusal = Callable[[str, str], dict[str, Any] | None]


@dataclass
class _Item:
    obj: SObject
    raw_id: Any
    data: dict[str, Any]
    record_id: str | None = None
    result: dict[str, Any] | None = None  # set when the record fails before its save


def _failure(record_id: str | None, code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"success": False,
                              "errors": [{"statusCode": code, "message": message, "fields": fields or []}]}
    return {"id": record_id, **result} if record_id else result


def _parse_record(raw: Any) -> _Item:
    if not isinstance(raw, dict):
        raise api_error("JSON_PARSER_ERROR", "Each record must be a JSON object")
    attrs = raw.get("attributes")
    type_name = attrs.get("type") if isinstance(attrs, dict) else None
    if not isinstance(type_name, str) or not type_name:
        raise api_error("INVALID_TYPE", "Must send a concrete entity type.")
    obj = schema.sobject(type_name)
    if obj is None:
        raise api_error("INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
    raw_id: Any = None
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "attributes":
            continue
        if key.lower() == "id":
            raw_id = value
            continue
        field = obj.field(key)
        if field is None:
            raise api_error("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", fields=[key])
        try:
            store.coerce(obj, field, value)
        except SfApiError as exc:  # only a JSON type mismatch stops the reading; the rest is per record
            if exc.errors[0]["errorCode"] == "JSON_PARSER_ERROR":
                raise
        data[key] = value
    return _Item(obj=obj, raw_id=raw_id, data=data)


def _parse(body: Any) -> tuple[bool, list[_Item]]:
    if not isinstance(body, dict):
        raise api_error("JSON_PARSER_ERROR", "The request body must be a JSON object")
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise api_error("JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from value {all_or_none}")
    records = body.get("records")
    if not isinstance(records, list):
        raise api_error("JSON_PARSER_ERROR", "Required field 'records' is missing or not a list")
    if len(records) > MAX_RECORDS:
        raise api_error("EXCEEDED_ID_LIMIT",
                        f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call")
    return all_or_none, [_parse_record(raw) for raw in records]


def _check_target(item: _Item, refuse: RecordRefusal | None) -> None:
    """Resolve the record's id and refuse it early when it cannot be saved (read-only checks)."""
    raw = item.raw_id
    if raw is None or raw == "":
        item.result = _failure(None, "MISSING_ARGUMENT", "Id not specified in an update call")
        return
    record_id = schema.normalize_id(raw)
    if record_id is None:
        item.result = _failure(None, "MALFORMED_ID", f"malformed id {raw}")
        return
    if record_id[:3] != item.obj.prefix:
        item.result = _failure(None, "MALFORMED_ID", f"{item.obj.name} ID: id value of incorrect type: {raw}")
        return
    item.record_id = record_id
    live = SfRecord.objects.filter(record_id=record_id, sobject=item.obj.name, is_deleted=False).exists()
    if not live:
        item.result = _failure(record_id, "ENTITY_IS_DELETED", "entity is deleted")
        return
    refusal = refuse(item.obj.name, record_id) if refuse else None
    if refusal is not None:
        item.result = {"id": record_id, "success": False, "errors": [refusal]}


def _save(item: _Item) -> dict[str, Any]:
    assert item.record_id is not None
    try:
        store.record_update(sobject=item.obj.name, record_id=item.record_id, data=item.data)
    except SfApiError as exc:
        if exc.status == 404:  # deleted between the check and the save
            return _failure(item.record_id, "ENTITY_IS_DELETED", "entity is deleted")
        return {"id": item.record_id, "success": False, "errors": [
            {"statusCode": e["errorCode"], "message": e["message"], "fields": list(e.get("fields") or [])}
            for e in exc.errors
        ]}
    return {"id": item.record_id, "success": True, "errors": []}


def collection_update(*, body: Any, refuse: RecordRefusal | None = None) -> list[dict[str, Any]]:
    """Apply an sObject Collections update; returns the SaveResults in request order.

    Raises SfApiError (a whole-request 400) for a malformed request. Each record is saved in its
    own savepoint, so with `allOrNone` false a failed record leaves the others in place.
    """
    all_or_none, items = _parse(body)
    for item in items:
        _check_target(item, refuse)
    results: list[dict[str, Any]] = []
    with transaction.atomic():
        for item in items:
            results.append(item.result if item.result is not None else _save(item))
        failed = any(not result["success"] for result in results)
        if all_or_none and failed:
            transaction.set_rollback(True)
    if all_or_none and failed:
        results = [
            result if not result["success"] else {"id": result["id"], "success": False, "errors": [dict(ROLLED_BACK)]}
            for result in results
        ]
    return results
