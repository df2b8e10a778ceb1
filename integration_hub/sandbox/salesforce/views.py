"""The Salesforce REST API as the sandbox serves it (WIRE.md PART B, WIRE-ERP.md §5.2).

Every API view goes through `_api`: bearer auth, the daily call counter, fault injection in
Salesforce's wire format, errors as JSON arrays, and `Sforce-Limit-Info: api-usage=N/15000`
(WIRE.md B1) on every answer to an authenticated request, 404s and 405s included. N counts the
calls of the day, this one included; a refused token is not counted and gets no header.

Faults (`POST /_sandbox/faults`, see `integration_hub.sandbox.faults`) match these operation
names: `query` (query, queryAll and their next pages), `limits`, `resources`, `describe`,
`describe:<Type>`, `create:<Type>`, `get:<Type>`, `update:<Type>`, `delete:<Type>`, and
`composite:sobjects` for a whole sObject Collections update.

One record of a collection update can be made to fail while the rest land, with a fault on
`composite:sobjects:<Type>:<18-character id>` (or a pattern such as
`composite:sobjects:Opportunity:*`), checked before anything is written:
- kind `lock`: that record answers UNABLE_TO_LOCK_ROW, "unable to obtain exclusive access to
  this record or 1 records: <id>" (transient; the next try succeeds once the fault is used up);
- kind `status` with `status` 400: that record answers FIELD_CUSTOM_VALIDATION_EXCEPTION with
  the fault's `message` (a validation rule of the org refusing it; permanent).
Other kinds and statuses do not apply to single records, and latency is only ever applied to
the call. Deleting a record (`DELETE sobjects/<Type>/<id>`) makes it answer ENTITY_IS_DELETED.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from integration_hub.sandbox.faults import drop_response, fault_take
from integration_hub.sandbox.models import Fault
from integration_hub.sandbox.salesforce import composite, schema, soql, store
from integration_hub.sandbox.salesforce.models import SfApiUsage, SfOutboundMessage, SfQueryCursor
from integration_hub.sandbox.salesforce.outbound import dispatch_pending
from integration_hub.sandbox.salesforce.store import SfApiError, api_error

logger = logging.getLogger("hub.sandbox.salesforce")

DAILY_LIMIT = 15000
DEFAULT_BATCH = 2000
_FAULT_KINDS = (
    Fault.Kind.STATUS, Fault.Kind.DROP, Fault.Kind.LOCK, Fault.Kind.SESSION_EXPIRY,
    Fault.Kind.RATE_LIMIT, Fault.Kind.STALE_ETAG,
)
_STATUS_CODES = {500: "UNKNOWN_EXCEPTION", 502: "SERVER_UNAVAILABLE", 503: "SERVER_UNAVAILABLE",
                 504: "SERVER_UNAVAILABLE", 400: "BAD_REQUEST", 404: "NOT_FOUND", 409: "CONFLICT",
                 412: "PRECONDITION_FAILED", 429: "REQUEST_LIMIT_EXCEEDED"}

Handler = Callable[[], HttpResponse]


def _errors(status: int, code: str, message: str, fields: list[str] | None = None) -> JsonResponse:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return JsonResponse([body], status=status, safe=False)


def _authorized(request: HttpRequest) -> bool:
    return request.headers.get("Authorization", "") == f"Bearer {settings.SANDBOX_SALESFORCE_TOKEN}"


def _count_call() -> int:
    today = timezone.now().date()
    if not SfApiUsage.objects.filter(day=today).update(count=F("count") + 1):
        SfApiUsage.objects.get_or_create(day=today)
        SfApiUsage.objects.filter(day=today).update(count=F("count") + 1)
    return SfApiUsage.objects.filter(day=today).values_list("count", flat=True).first() or 0


def _render_fault(fault: Fault) -> HttpResponse:
    kind = fault.kind
    if kind == Fault.Kind.LOCK:
        return _errors(400, "UNABLE_TO_LOCK_ROW", fault.message or
                       "unable to obtain exclusive access to this record or 1 records", [])
    if kind == Fault.Kind.SESSION_EXPIRY:
        return _errors(401, "INVALID_SESSION_ID", fault.message or "Session expired or invalid")
    if kind == Fault.Kind.RATE_LIMIT:
        status = 429 if fault.status == 429 else 403
        response = _errors(status, "REQUEST_LIMIT_EXCEEDED", fault.message or "TotalRequests Limit exceeded.")
        if fault.retry_after is not None:
            response["Retry-After"] = str(fault.retry_after)
        return response
    if kind == Fault.Kind.STALE_ETAG:
        return _errors(412, "PRECONDITION_FAILED", fault.message or
                       "The requested resource has been modified since the precondition was set")
    status = fault.status or 500
    code = _STATUS_CODES.get(status, "UNKNOWN_EXCEPTION")
    message = fault.message or ("Server temporarily unavailable" if code == "SERVER_UNAVAILABLE"
                                else "An unexpected error occurred. Please include this ErrorId if you contact "
                                     "support: 1234567890-12345 (-1234567890)")
    response = _errors(status, code, message)
    if fault.retry_after is not None:
        response["Retry-After"] = str(fault.retry_after)
    return response


def _usage(response: HttpResponse, used: int) -> HttpResponse:
    response["Sforce-Limit-Info"] = f"api-usage={used}/{DAILY_LIMIT}"
    return response


def _counted(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """A response outside `_api` (404, 405): counted and stamped when the caller is authenticated."""
    return _usage(response, _count_call()) if _authorized(request) else response


def _api(request: HttpRequest, operation: str, handler: Handler) -> HttpResponse:
    if not _authorized(request):
        return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
    used = _count_call()
    fault = fault_take(system="salesforce", operation=operation, kinds=_FAULT_KINDS)
    if fault is not None and fault.kind != Fault.Kind.DROP:
        response = _render_fault(fault)
    else:
        try:
            response = handler()
        except SfApiError as exc:
            response = JsonResponse(exc.errors, status=exc.status, safe=False)
        except Exception:  # a sandbox bug must still look like Salesforce to the client
            logger.exception("sandbox failure in %s", operation)
            response = _errors(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        if fault is not None:  # drop: the work is committed, the client never hears of it
            drop_response(request)
    return _usage(response, used)


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise api_error("JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}") from None


def _method_not_allowed(request: HttpRequest, allowed: str) -> HttpResponse:
    response = _errors(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}")
    response["Allow"] = allowed
    return _counted(request, response)


# -- versions, resources, limits ---------------------------------------------------------------
@csrf_exempt
def versions(request: HttpRequest) -> HttpResponse:
    data = [{"label": f"Version {v}", "url": f"/services/data/v{v}", "version": v}
            for v in ("57.0", "58.0", "59.0", "60.0", "61.0", "62.0")]
    return _counted(request, JsonResponse(data, safe=False))


@csrf_exempt
def resources(request: HttpRequest, version: str) -> HttpResponse:
    base = f"/services/data/v{version}"
    return _api(request, "resources", lambda: JsonResponse(
        {name: f"{base}/{name}" for name in ("sobjects", "query", "queryAll", "limits")}
    ))


@csrf_exempt
def limits(request: HttpRequest, version: str) -> HttpResponse:
    def handle() -> HttpResponse:
        used = SfApiUsage.objects.filter(day=timezone.now().date()).values_list("count", flat=True).first() or 0
        return JsonResponse({
            "DailyApiRequests": {"Max": DAILY_LIMIT, "Remaining": max(DAILY_LIMIT - used, 0)},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
        })

    return _api(request, "limits", handle)


# -- query -------------------------------------------------------------------------------------
def _batch_size(request: HttpRequest) -> int:
    options = request.headers.get("Sforce-Query-Options", "")
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            # Salesforce clamps the batch size to 200..2000; the sandbox allows smaller pages for tests.
            return max(1, min(int(value), DEFAULT_BATCH))
    return DEFAULT_BATCH


def _page(records: list[dict[str, Any]], offset: int, batch: int, total: int, locator: str,
          version: str) -> dict[str, Any]:
    page = records[offset: offset + batch]
    result: dict[str, Any] = {"totalSize": total, "done": offset + batch >= len(records), "records": page}
    if not result["done"]:
        result["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + batch}"
    return result


def _run_query(request: HttpRequest, version: str, include_deleted: bool) -> HttpResponse:
    text = request.GET.get("q", "")
    if not text.strip():
        raise api_error("MALFORMED_QUERY", "A query string has to be specified")
    result = soql.execute(text, include_deleted=include_deleted, version=version)
    records = result["records"]
    batch = _batch_size(request)
    if len(records) <= batch:
        return JsonResponse(result)
    SfQueryCursor.objects.filter(created_at__lt=timezone.now() - timedelta(minutes=15)).delete()
    locator = store.allocate_ids("01g")[0]
    SfQueryCursor.objects.create(locator=locator, records_json=json.dumps(records), batch_size=batch)
    return JsonResponse(_page(records, 0, batch, result["totalSize"], locator, version))


@csrf_exempt
def query(request: HttpRequest, version: str, include_deleted: bool = False) -> HttpResponse:
    if request.method != "GET":
        return _method_not_allowed(request, "GET,HEAD")
    return _api(request, "query", lambda: _run_query(request, version, include_deleted))


@csrf_exempt
def query_more(request: HttpRequest, version: str, locator: str) -> HttpResponse:
    def handle() -> HttpResponse:
        key, _, offset = locator.partition("-")
        cursor = SfQueryCursor.objects.filter(locator=key).first()
        if cursor is None or not offset.isdigit():
            raise api_error("INVALID_QUERY_LOCATOR", "invalid query locator", status=400)
        records = json.loads(cursor.records_json)
        return JsonResponse(_page(records, int(offset), cursor.batch_size, len(records), key, version))

    return _api(request, "query", handle)


# -- sObjects ----------------------------------------------------------------------------------
@csrf_exempt
def describe_global(request: HttpRequest, version: str) -> HttpResponse:
    def handle() -> HttpResponse:
        return JsonResponse({
            "encoding": "UTF-8", "maxBatchSize": 200,
            "sobjects": [
                {"name": obj.name, "label": obj.label, "keyPrefix": obj.prefix, "queryable": True,
                 "createable": True, "updateable": True, "deletable": True, "custom": False,
                 "urls": {"sobject": f"/services/data/v{version}/sobjects/{obj.name}",
                          "describe": f"/services/data/v{version}/sobjects/{obj.name}/describe"}}
                for obj in schema.SOBJECTS.values()
            ],
        })

    return _api(request, "describe", handle)


def _describe(name: str, version: str) -> HttpResponse:
    obj = store.get_sobject(name)
    fields = [
        {
            "name": f.name, "label": f.display_label, "type": f.type, "length": f.length,
            "picklistValues": [{"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                               for v in f.picklist_values],
            "restrictedPicklist": f.restricted,
            "nillable": f.nillable, "createable": not f.readonly, "updateable": not (f.readonly or f.create_only),
            "custom": f.name.endswith("__c"), "referenceTo": [f.reference_to] if f.reference_to else [],
            "relationshipName": f.relationship_name or None, "defaultedOnCreate": f.readonly,
        }
        for f in obj.fields.values()
    ]
    children = [
        {"childSObject": rel.child, "field": rel.field, "relationshipName": rel.name}
        for rel in obj.children.values()
    ]
    return JsonResponse({
        "name": obj.name, "label": obj.label, "keyPrefix": obj.prefix, "custom": False,
        "queryable": True, "createable": True, "updateable": True, "deletable": True,
        "fields": fields, "childRelationships": children,
        "urls": {"sobject": f"/services/data/v{version}/sobjects/{obj.name}"},
    })


@csrf_exempt
def describe(request: HttpRequest, version: str, sobject: str) -> HttpResponse:
    return _api(request, f"describe:{_canonical(sobject)}", lambda: _describe(sobject, version))


def _canonical(sobject: str) -> str:
    obj = schema.sobject(sobject)
    return obj.name if obj else sobject


@csrf_exempt
def sobject_collection(request: HttpRequest, version: str, sobject: str) -> HttpResponse:
    name = _canonical(sobject)
    if request.method == "POST":
        def create() -> HttpResponse:
            record = store.record_create(sobject=name, data=_json_body(request))
            response = JsonResponse({"id": record.record_id, "success": True, "errors": []}, status=201)
            response["Location"] = store.sobject_url(name, record.record_id, version)
            return response

        return _api(request, f"create:{name}", create)
    if request.method == "GET":
        def info() -> HttpResponse:
            obj = store.get_sobject(name)
            return JsonResponse({"objectDescribe": {"name": obj.name, "label": obj.label, "keyPrefix": obj.prefix},
                                 "recentItems": []})

        return _api(request, f"describe:{name}", info)
    return _method_not_allowed(request, "GET,HEAD,POST")


@csrf_exempt
def sobject_row(request: HttpRequest, version: str, sobject: str, record_id: str) -> HttpResponse:
    name = _canonical(sobject)
    if request.method == "GET":
        def get() -> HttpResponse:
            record = store.record_get(sobject=name, record_id=record_id)
            wanted = None
            if request.GET.get("fields"):
                obj = store.get_sobject(name)
                wanted = []
                for raw in request.GET["fields"].split(","):
                    found = obj.field(raw.strip())
                    if found is None:
                        raise api_error("INVALID_FIELD", f"No such column '{raw.strip()}' on sobject of type {name}")
                    wanted.append(found.name)
            return JsonResponse(store.render(record, wanted, version))

        return _api(request, f"get:{name}", get)
    if request.method == "PATCH":
        def update() -> HttpResponse:
            store.record_update(sobject=name, record_id=record_id, data=_json_body(request))
            return HttpResponse(status=204)

        return _api(request, f"update:{name}", update)
    if request.method == "DELETE":
        def delete() -> HttpResponse:
            store.record_delete(sobject=name, record_id=record_id)
            return HttpResponse(status=204)

        return _api(request, f"delete:{name}", delete)
    return _method_not_allowed(request, "GET,HEAD,PATCH,DELETE")


# -- composite ---------------------------------------------------------------------------------
_RECORD_FAULTS = (Fault.Kind.LOCK, Fault.Kind.STATUS)


def _record_refusal(sobject: str, record_id: str) -> dict[str, Any] | None:
    """The error a record-level fault (`composite:sobjects:<Type>:<id>`) makes this record answer."""
    fault = fault_take(system="salesforce", operation=f"composite:sobjects:{sobject}:{record_id}",
                       kinds=_RECORD_FAULTS, latency=False)
    if fault is None:
        return None
    if fault.kind == Fault.Kind.LOCK:
        return {"statusCode": "UNABLE_TO_LOCK_ROW", "fields": [], "message": fault.message or
                f"unable to obtain exclusive access to this record or 1 records: {record_id}"}
    if fault.status == 400:
        return {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": [],
                "message": fault.message or "The record was refused by a validation rule."}
    return None


@csrf_exempt
def composite_sobjects(request: HttpRequest, version: str) -> HttpResponse:
    """sObject Collections update (`integration_hub.sandbox.salesforce.composite` has the rules)."""
    if request.method != "PATCH":
        return _method_not_allowed(request, "PATCH")

    def update() -> HttpResponse:
        results = composite.collection_update(body=_json_body(request), refuse=_record_refusal)
        return JsonResponse(results, safe=False)

    return _api(request, "composite:sobjects", update)


# -- control plane -----------------------------------------------------------------------------
@csrf_exempt
def outbound_view(request: HttpRequest) -> HttpResponse:
    """GET lists Outbound Messages (newest first, `?status=` filters); POST runs one dispatch pass."""
    if not _authorized(request):
        return JsonResponse({"error": "sandbox credentials required"}, status=401)
    if request.method == "POST":
        return JsonResponse({"delivered": dispatch_pending()})
    if request.method != "GET":
        return JsonResponse({"error": "method not allowed"}, status=405)
    qs = SfOutboundMessage.objects.order_by("-id")
    if request.GET.get("status"):
        qs = qs.filter(status=request.GET["status"])
    return JsonResponse({"messages": [m.as_dict() for m in qs[:500]]})


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return _counted(request, _errors(404, "NOT_FOUND", "The requested resource does not exist"))
