"""The NetSuite sandbox's HTTP surface: the REST record service, SuiteQL and the control plane.

Every request: token-based authentication (401), the account's concurrency limit (429), fault
injection (operation `record/<type>:<METHOD>`, `record/salesOrder/!transform/<target>:POST`,
`query/suiteql:POST`), then the operation. Refusals use NetSuite's error body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integration_hub.sandbox.faults import (
    control_plane_authorized,
    control_plane_event_body,
    drop_response,
    fault_take,
)
from integration_hub.sandbox.models import Fault
from integration_hub.sandbox.netsuite import auth, events, services, store, suiteql
from integration_hub.sandbox.netsuite.errors import NsError, not_found, render, user_error
from integration_hub.sandbox.netsuite.records import RECORD_TYPES, RecordType, Renderer, record_type

_READ_FAULTS = ("status", "rate_limit", "drop", "session_expiry")
_WRITE_FAULTS = (*_READ_FAULTS, "stale_etag")
MAX_LIMIT = 1000


def control_plane_or_tba(request: HttpRequest) -> bool:
    """The control plane accepts the other sandboxes' credentials or a valid NetSuite TBA signature."""
    return control_plane_authorized(request) or auth.is_authenticated(request)


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/services/rest")


def _fault_response(fault: Fault) -> HttpResponse:
    if fault.kind == Fault.Kind.RATE_LIMIT:
        exc = NsError.one(429, "SSS_REQUEST_LIMIT_EXCEEDED", fault.message or "Request limit exceeded. Retry later.")
        if fault.retry_after is not None:
            exc.headers["Retry-After"] = str(fault.retry_after)
        return render(exc)
    if fault.kind == Fault.Kind.SESSION_EXPIRY:
        return render(NsError(401, [*auth.login_failed("TokenRevoked").details]))
    if fault.kind == Fault.Kind.STALE_ETAG:
        return render(NsError.one(400, "RCRD_HAS_BEEN_CHANGED", fault.message or
                                  "Record has been changed since you retrieved it. Please reload it and try again."))
    status = fault.status or 500
    code = "UNEXPECTED_ERROR" if status >= 500 else "USER_ERROR"
    detail = fault.message or ("An unexpected error has occurred. Error ID: sandbox-fault" if status >= 500
                               else "The request was refused (sandbox fault).")
    exc = NsError.one(status, code, detail)
    if fault.retry_after is not None:
        exc.headers["Retry-After"] = str(fault.retry_after)
    return render(exc)


def _serve(request: HttpRequest, operation: str, handler: Callable[[], HttpResponse]) -> HttpResponse:
    try:
        auth.authenticate(request)
        with auth.concurrency_slot(settings.SANDBOX_NETSUITE_ACCOUNT.upper()):
            kinds = _READ_FAULTS if request.method == "GET" else _WRITE_FAULTS
            fault = fault_take(system="netsuite", operation=operation, kinds=kinds)
            if fault is not None and fault.kind != Fault.Kind.DROP:
                return _fault_response(fault)
            if request.headers.get("Prefer", "").lower().startswith("respond-async"):
                raise NsError.one(400, "USER_ERROR", "The sandbox answers every request synchronously: send the "
                                  "request without Prefer: respond-async.", header="Prefer")
            response = handler()
            if fault is not None:
                drop_response(request)
            return response
    except NsError as exc:
        return render(exc)


def _body(request: HttpRequest) -> Any:
    if not request.body:
        return {}
    content_type = request.headers.get("Content-Type", "application/json")
    if "json" not in content_type:
        raise NsError.one(415, "UNSUPPORTED_MEDIA_TYPE", f"The content type {content_type} is not supported.",
                          header="Content-Type")
    try:
        return json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise NsError.one(400, "INVALID_CONTENT", "The request could not be parsed: the body is not valid JSON.") from None


def _strict(request: HttpRequest) -> bool:
    return request.headers.get("X-NetSuite-PropertyNameValidation", "warning").lower() == "error"


def _paging(request: HttpRequest) -> tuple[int, int]:
    values = {}
    for name, default in (("limit", MAX_LIMIT), ("offset", 0)):
        raw = request.GET.get(name)
        if raw is None:
            values[name] = default
            continue
        if not raw.isdigit() or (name == "limit" and not 1 <= int(raw) <= MAX_LIMIT):
            raise NsError.one(400, "INVALID_PARAMETER", f"Invalid value for the parameter {name}: {raw}. "
                              f"{'It must be between 1 and 1000.' if name == 'limit' else 'It must be 0 or more.'}",
                              query_param=name)
        values[name] = int(raw)
    return values["limit"], values["offset"]


def _page_links(request: HttpRequest, url: str, limit: int, offset: int, total: int) -> list[dict[str, str]]:
    def at(start: int) -> str:
        return f"{url}?limit={limit}&offset={start}"
    links = []
    if total:
        links.append({"rel": "first", "href": at(0)})
    if offset > 0:
        links.append({"rel": "previous", "href": at(max(0, offset - limit))})
    if offset + limit < total:
        links.append({"rel": "next", "href": at(offset + limit)})
    if total:
        links.append({"rel": "last", "href": at(((total - 1) // limit) * limit)})
    links.append({"rel": "self", "href": at(offset)})
    return links


def _created(request: HttpRequest, rtype: RecordType, internal_id: int) -> HttpResponse:
    response = HttpResponse(status=204)
    response["Location"] = f"{_base(request)}/record/v1/{rtype.name}/{internal_id}"
    return response


# -- the record service ----------------------------------------------------------------------------
@csrf_exempt
def record_view(request: HttpRequest, path: str) -> HttpResponse:
    parts = [p for p in path.split("/") if p]
    rtype = record_type(parts[0]) if parts else None
    name = rtype.name if rtype else (parts[0] if parts else "")
    operation = f"record/{name}:{request.method}"
    if len(parts) == 4 and parts[2] == "!transform":
        operation = f"record/{name}/!transform/{parts[3]}:{request.method}"

    def handle() -> HttpResponse:
        if rtype is None:
            raise NsError.one(404, "INVALID_RCRD_TYPE", f"The record type {name or '(none)'} does not exist or is not "
                              "supported by this sandbox.", url_path=request.path)
        method = request.method or "GET"
        if len(parts) == 1:
            if method == "GET":
                return _list(request, rtype)
            if method == "POST":
                created = services.record_create(rtype, _body(request), strict_names=_strict(request))
                return _created(request, rtype, created.internal_id)
        elif len(parts) == 2:
            key = parts[1]
            if method == "GET":
                rec = store.find([rtype.name], key)
                if rec is None:
                    raise not_found()
                expand = request.GET.get("expandSubResources", "false").lower() == "true"
                return JsonResponse(Renderer(_base(request)).record(rec, expand=expand))
            if method == "PATCH":
                replace = frozenset(p for p in request.GET.get("replace", "").split(",") if p)
                services.record_update(rtype, key, _body(request), strict_names=_strict(request), replace=replace)
                return HttpResponse(status=204)
            if method == "PUT":
                upserted, _ = services.record_upsert(rtype, key, _body(request), strict_names=_strict(request))
                return _created(request, rtype, upserted.internal_id)
            if method == "DELETE":
                services.record_delete(rtype, key)
                return HttpResponse(status=204)
        elif len(parts) == 3 and method == "GET" and rtype.sublist(parts[2]):
            parent = store.find([rtype.name], parts[1])
            if parent is None:
                raise not_found()
            return JsonResponse(Renderer(_base(request)).record(parent, expand=True)[parts[2]])
        elif len(parts) == 4 and parts[2] == "!transform" and method == "POST":
            return _transform(request, rtype, parts[1], parts[3])
        else:
            raise NsError.one(404, "NONEXISTENT_ID", f"The requested resource {request.path} does not exist.",
                              url_path=request.path)
        raise NsError.one(405, "METHOD_NOT_ALLOWED", f"The method {method} is not allowed for {request.path}.")

    return _serve(request, operation, handle)


def _list(request: HttpRequest, rtype: RecordType) -> HttpResponse:
    if request.GET.get("q"):
        raise NsError.one(400, "INVALID_PARAMETER", "The sandbox does not support the q parameter of record "
                          "collections; query with SuiteQL instead.", query_param="q")
    limit, offset = _paging(request)
    qs = store.of_types([rtype.name]).order_by("internal_id")
    total = qs.count()
    base = _base(request)
    url = f"{base}/record/v1/{rtype.name}"
    items = [{"links": [{"rel": "self", "href": f"{url}/{internal_id}"}], "id": str(internal_id)}
             for internal_id in qs.values_list("internal_id", flat=True)[offset: offset + limit]]
    return JsonResponse({"links": _page_links(request, url, limit, offset, total), "count": len(items),
                         "hasMore": offset + len(items) < total, "items": items, "offset": offset,
                         "totalResults": total})


def _transform(request: HttpRequest, rtype: RecordType, key: str, target: str) -> HttpResponse:
    if rtype.name != "salesOrder":
        raise user_error(f"The sandbox transforms only sales orders, not {rtype.name}.")
    target_type = record_type(target)
    body = _body(request)
    if target_type is not None and target_type.name == "invoice":
        rec = services.order_invoice(key, body)
    elif target_type is not None and target_type.name == "itemFulfillment":
        rec = services.order_fulfil(key, body)
    else:
        raise user_error(f"A sales order cannot be transformed into {target} in this sandbox "
                         "(invoice and itemFulfillment only).")
    return _created(request, RECORD_TYPES[rec.record_type], rec.internal_id)


# -- SuiteQL ---------------------------------------------------------------------------------------
@csrf_exempt
def suiteql_view(request: HttpRequest) -> HttpResponse:
    def handle() -> HttpResponse:
        if request.method != "POST":
            raise NsError.one(405, "METHOD_NOT_ALLOWED", "SuiteQL queries are sent with POST.")
        if request.headers.get("Prefer", "").lower() != "transient":
            raise NsError.one(400, "INVALID_HEADER", "SuiteQL requests need the header Prefer: transient.",
                              header="Prefer")
        limit, offset = _paging(request)
        body = _body(request)
        text = body.get("q") if isinstance(body, dict) else None
        items, total = suiteql.execute(text, limit=limit, offset=offset)
        url = request.build_absolute_uri(request.path)
        return JsonResponse({
            "links": _page_links(request, url, limit, offset, total), "count": len(items),
            "hasMore": offset + len(items) < total, "items": [{"links": [], **item} for item in items],
            "offset": offset, "totalResults": total,
        })

    return _serve(request, "query/suiteql:POST", handle)


# -- the control plane: events ---------------------------------------------------------------------
@csrf_exempt
def events_view(request: HttpRequest) -> HttpResponse:
    """`POST /_sandbox/events` `{"sales_order": "<id | eid:... | tranId>", "event": "fulfil", ...}`.

    201 with the records created or changed and the order's statuses; 400/404/409 with
    `{"error": ..., "field": ...}`, the control plane's plain JSON as in the other sandboxes.
    """
    options = control_plane_event_body(request, authorized=control_plane_or_tba)
    if isinstance(options, JsonResponse):
        return options
    order, event = options.pop("sales_order", None), options.pop("event", None)
    try:
        result = events.sales_order_event(order, event, base=_base(request), **options)
    except events.EventError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse(result, status=201)

