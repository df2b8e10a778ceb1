"""The SAP sandbox's HTTP surface: OData V2 services under /sap/opu/odata/sap/<SERVICE>/.

Every request: Basic auth (401), then for data requests fault injection (operation
`<SERVICE>/<EntitySet>:<METHOD>`), then for modifying requests the CSRF token check (403), then
the operation itself. Business errors are rendered as SAP Gateway error JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from integration_hub.sandbox.faults import (
    control_plane_event_body,
    drop_response,
    fault_take,
)
from integration_hub.sandbox.models import Fault
from integration_hub.sandbox.sap import events, procurement, sales, services, store
from integration_hub.sandbox.sap.entities import SERVICES, EntityType, FunctionImport, Service
from integration_hub.sandbox.sap.metadata import metadata_xml
from integration_hub.sandbox.sap.models import CsrfToken
from integration_hub.sandbox.sap.odata_query import (
    QueryError,
    compile_filter,
    key_predicate,
    parse_expand,
    parse_key,
    parse_orderby,
    sort_rows,
)
from integration_hub.sandbox.sap.payload import Detail, SapBusinessError

Row = dict[str, Any]

SESSION_COOKIE = "SAP_SESSIONID_SBX_100"
TOKEN_LIFETIME = timedelta(minutes=30)
PAGE_SIZE = 1000
MODIFYING = {"POST", "PUT", "PATCH", "MERGE", "DELETE"}
_READ_FAULTS = ("status", "rate_limit", "drop")
_WRITE_FAULTS = ("status", "rate_limit", "drop", "lock", "csrf_expiry", "stale_etag")


# -- responses -------------------------------------------------------------------------------------
def sap_error(status: int, code: str, message: str, *, service: str = "", details: list[Detail] | None = None,
              headers: dict[str, str] | None = None) -> HttpResponse:
    now = timezone.now()
    body = {
        "error": {
            "code": code,
            "message": {"lang": "en", "value": message},
            "innererror": {
                "application": {"component_id": "SD-SLS-API" if "SALES" in service else "", "service_namespace": "/SAP/",
                                "service_id": service, "service_version": "0001"},
                "transactionid": secrets.token_hex(16).upper(),
                "timestamp": now.strftime("%Y%m%d%H%M%S.%f")[:21] + "0",
                "Error_Resolution": {
                    "SAP_Transaction": "For backend administrators: use ADT feed reader \"SAP Gateway Error Log\" "
                                       "or run transaction /IWFND/ERROR_LOG on SAP Gateway hub system",
                    "SAP_Note": "See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)",
                },
                "errordetails": [
                    {"code": d.code, "message": d.message, "longtext_url": "/sap/opu/odata/iwbep/message_text;o=LOCAL/",
                     "propertyref": d.propertyref, "severity": d.severity, "target": d.target, "transition": False}
                    for d in (details or [Detail(code, message)])
                ],
            },
        }
    }
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def business_error(exc: SapBusinessError, service: str) -> HttpResponse:
    return sap_error(exc.status, exc.code, exc.message, service=service, details=exc.details)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(data, separators=(",", ":")), status=status,
                            content_type="application/json; charset=utf-8")
    response["dataserviceversion"] = "2.0"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def csrf_required() -> HttpResponse:
    response = HttpResponse("CSRF token validation failed", status=403, content_type="text/plain; charset=utf-8")
    response["x-csrf-token"] = "Required"
    return response


def sap_message(code: str, messages: list[str]) -> str:
    first, *rest = messages
    return json.dumps({
        "code": code, "message": first, "severity": "warning", "target": "", "transition": False,
        "details": [{"code": code, "message": m, "severity": "warning", "target": "", "transition": False} for m in rest],
    })


# -- auth and CSRF ---------------------------------------------------------------------------------
def _authenticated(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if secrets.compare_digest(user, settings.SANDBOX_SAP_USER) and secrets.compare_digest(
        password, settings.SANDBOX_SAP_PASSWORD
    ):
        return user
    return None


def _unauthorized() -> HttpResponse:
    response = HttpResponse("<html><body><h1>Logon failed</h1></body></html>", status=401,
                            content_type="text/html; charset=utf-8")
    response["WWW-Authenticate"] = 'Basic realm="SAP NetWeaver Application Server [SBX/100]"'
    return response


def _issue_token(request: HttpRequest, response: HttpResponse) -> None:
    """Answer `X-CSRF-Token: Fetch`: the session's token, or a new session with a new token."""
    session_id = request.COOKIES.get(SESSION_COOKIE, "")
    fresh_after = timezone.now() - TOKEN_LIFETIME
    row = CsrfToken.objects.filter(session_id=session_id, created_at__gt=fresh_after).first() if session_id else None
    if row is None:
        session_id = secrets.token_urlsafe(24)
        row = CsrfToken.objects.create(session_id=session_id, token=secrets.token_urlsafe(18) + "==")
    response["x-csrf-token"] = row.token
    response.set_cookie(SESSION_COOKIE, session_id, path="/", httponly=True)


def _csrf_valid(request: HttpRequest) -> bool:
    token = request.headers.get("X-CSRF-Token", "")
    session_id = request.COOKIES.get(SESSION_COOKIE, "")
    if not token or not session_id or token.lower() == "fetch":
        return False
    return CsrfToken.objects.filter(
        session_id=session_id, token=token, created_at__gt=timezone.now() - TOKEN_LIFETIME
    ).exists()


def _wants_token(request: HttpRequest) -> bool:
    return request.method in ("GET", "HEAD") and request.headers.get("X-CSRF-Token", "").lower() == "fetch"


# -- path resolution -------------------------------------------------------------------------------
def _split_segments(resource: str) -> list[str]:
    segments, current, quoted = [], "", False
    for char in resource:
        if char == "'":
            quoted = not quoted
        if char == "/" and not quoted:
            segments.append(current)
            current = ""
        else:
            current += char
    if current:
        segments.append(current)
    return segments


def _split_key(segment: str) -> tuple[str, str | None]:
    if segment.endswith(")") and "(" in segment:
        name, _, rest = segment.partition("(")
        return name, rest[:-1]
    return segment, None


@dataclass
class Target:
    etype: EntityType
    entity: Row | None = None  # a single entity addressed by key or single navigation
    collection: list[Row] | None = None
    count: bool = False
    root_set: str = ""
    key: Row | None = None
    single_nav: bool = False


_EQ_TERM = re.compile(r"^(\w+) eq '((?:[^']|'')*)'$")


def _db_prefilter(text: str, etype: EntityType) -> dict[str, Any]:
    """String equalities the database can apply before the exact filter runs in Python.

    Conservative: only a filter that is a pure AND of terms, or an OR of equalities on one
    property, narrows the rows; anything else loads the whole set as before. The compiled
    predicate still decides, so this never changes an answer, only how many rows are decoded.
    """
    text = (text or "").strip()
    if not text or "(" in text or re.search(r"\bnot\b", text):
        return {}
    props = etype.prop_map
    disjuncts = re.split(r"\s+or\s+", text)
    if len(disjuncts) > 1:
        matches = [_EQ_TERM.match(part.strip()) for part in disjuncts]
        names = {m.group(1) for m in matches if m}
        if all(matches) and len(names) == 1:
            name = names.pop()
            if name in props and props[name].type == "Edm.String":
                return {name: [m.group(2).replace("''", "'") for m in matches if m]}
        return {}
    equals: dict[str, Any] = {}
    for term in re.split(r"\s+and\s+", text):
        match = _EQ_TERM.match(term.strip())
        if match and match.group(1) in props and props[match.group(1)].type == "Edm.String":
            equals[match.group(1)] = match.group(2).replace("''", "'")
    return equals


def _resolve(service: Service, resource: str, filter_text: str = "") -> Target:
    segments = _split_segments(resource)
    count = bool(segments) and segments[-1] == "$count"
    if count:
        segments = segments[:-1]
    if not segments:
        raise SapBusinessError("/IWBEP/CM_MGW_RT/020", "Resource not found for segment ''", status=404)
    set_name, key_text = _split_key(segments[0])
    etype = service.entity_set(set_name)
    if etype is None:
        raise SapBusinessError("/IWBEP/CM_MGW_RT/020", f"Resource not found for segment '{set_name}'", status=404)
    target = Target(etype=etype, count=count, root_set=set_name)
    if key_text is None:
        if len(segments) > 1:
            raise SapBusinessError("/IWBEP/CM_MGW_RT/020", f"Resource not found for segment '{segments[1]}'", status=404)
        equals = _db_prefilter(filter_text, etype)
        target.collection = store.rows(service.name, set_name, **equals) if etype.stored else []
        return target
    try:
        key = parse_key(key_text, etype)
    except (QueryError, ValueError) as exc:
        raise SapBusinessError("/IWBEP/CM_MGW_RT/003", str(exc)) from exc
    target.key = key
    target.entity = store.get(service.name, etype, key) if etype.stored else None
    if target.entity is None:
        raise SapBusinessError("/IWBEP/CM_MGW_RT/020", f"Resource not found for segment '{segments[0]}'", status=404)
    for segment in segments[1:]:
        nav_name, nav_key = _split_key(segment)
        current = target.etype
        nav = current.nav_map.get(nav_name)
        if nav is None or target.entity is None:
            raise SapBusinessError("/IWBEP/CM_MGW_RT/020", f"Resource not found for segment '{segment}'", status=404)
        next_type = service.entity_set(nav.target)
        assert next_type is not None
        found = store.related(service.name, current, nav, [target.entity])[0]
        target.etype = next_type
        target.key = None
        if nav.many and nav_key is None:
            target.entity, target.collection = None, found
            continue
        if nav_key is not None:
            wanted = parse_key(nav_key, next_type)
            found = [row for row in found if all(row.get(k) == v for k, v in wanted.items())]
            if not found:
                raise SapBusinessError("/IWBEP/CM_MGW_RT/020", f"Resource not found for segment '{segment}'", status=404)
        target.entity, target.collection = (found[0] if found else None), None
        target.single_nav = nav_key is None
        if target.entity is not None:
            target.key = {k: target.entity.get(k) for k in next_type.keys}
    return target


# -- reads -----------------------------------------------------------------------------------------
def _select(params: Any) -> set[str] | None:
    raw = params.get("$select", "").strip()
    if not raw or raw == "*":
        return None
    return {part.strip().split("/")[0] for part in raw.split(",") if part.strip()}


def _read(request: HttpRequest, service: Service, target: Target, base_url: str) -> HttpResponse:
    params = request.GET
    serializer = store.Serializer(service, base_url)
    etype = target.etype
    try:
        expand = parse_expand(params.get("$expand", ""))
        for name in expand:
            if name not in etype.nav_map:
                raise QueryError(f"Property '{name}' not found in type '{etype.name}'")
        select = _select(params)
        if target.collection is None:
            if target.entity is None:
                return json_response({"d": None})
            headers = {}
            etag = serializer.etag(etype, target.entity)
            if etag:
                headers["ETag"] = etag
            return json_response({"d": serializer.one(etype, target.entity, expand, select)}, headers=headers)
        items = list(target.collection)
        if params.get("$filter"):
            predicate = compile_filter(params["$filter"], etype)
            items = [row for row in items if predicate(row)]
        if params.get("$orderby"):
            items = sort_rows(items, parse_orderby(params["$orderby"], etype), etype)
        total = len(items)
        if target.count:
            return HttpResponse(str(total), content_type="text/plain; charset=utf-8")
        skip = int(params.get("$skip", 0) or 0) + int(params.get("$skiptoken", 0) or 0)
        top = params.get("$top") or ""
        page = items[skip:]
        next_url = ""
        if top:
            page = page[: int(top)]
        elif len(page) > PAGE_SIZE:
            page = page[:PAGE_SIZE]
            query = {k: v for k, v in params.items() if k != "$skiptoken"}
            query["$skiptoken"] = str(skip + PAGE_SIZE)
            next_url = f"{base_url}{request.path.split(service.name + '/', 1)[1]}?{urlencode(query)}"
        if skip < 0 or (top and int(top) < 0):
            raise QueryError("$top and $skip must not be negative")
    except (QueryError, ValueError) as exc:
        return sap_error(400, "/IWBEP/CM_MGW_RT/005", f"Invalid system query option: {exc}", service=service.name)
    body: dict[str, Any] = {"results": serializer.many(etype, page, expand, select)}
    if params.get("$inlinecount") == "allpages":
        body["__count"] = str(total)
    if next_url:
        body["__next"] = next_url
    return json_response({"d": body})


# -- writes ----------------------------------------------------------------------------------------
CreateHandler = Callable[[Any, str], tuple[Row, list[str]]]


def _wrap(fn: Callable[..., Row]) -> CreateHandler:
    return lambda payload, user: (fn(payload, user=user), [])


CREATE_HANDLERS: dict[tuple[str, str], CreateHandler] = {
    ("API_SALES_ORDER_SRV", "A_SalesOrder"): lambda payload, user: sales.sales_order_create(payload, user=user),
    ("API_BUSINESS_PARTNER", "A_BusinessPartner"): _wrap(services.business_partner_create),
    ("API_SLSPRICINGCONDITIONRECORD_SRV", "A_SlsPrcgConditionRecord"): _wrap(services.condition_record_create),
    (procurement.PO, "A_PurchaseOrder"): _wrap(procurement.purchase_order_create),
    (procurement.MATDOC, "A_MaterialDocumentHeader"): _wrap(procurement.material_document_create),
    (procurement.INVOICE, "A_SupplierInvoice"): _wrap(procurement.supplier_invoice_create),
}
# Sets SAP creates only inside the deep insert of their header.
DEEP_ONLY_SETS = {
    **{name: "A_SalesOrder" for name in services.SALES_ORDER_CHILD_SETS},
    "A_PurchaseOrderItem": "A_PurchaseOrder",
    "A_MaterialDocumentItem": "A_MaterialDocumentHeader",
    "A_SuplrInvcItemPurOrdRef": "A_SupplierInvoice",
}


def _create(request: HttpRequest, service: Service, target: Target, base_url: str, user: str) -> HttpResponse:
    etype = target.etype
    if target.collection is None or target.key is not None or not etype.creatable:
        return sap_error(405, "/IWBEP/CM_MGW_RT/051", f"Create is not allowed on '{etype.set_name}'", service=service.name)
    try:
        payload = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return sap_error(400, "/IWBEP/CM_MGW_RT/004", "The request body is not valid JSON", service=service.name)
    serializer = store.Serializer(service, base_url)
    headers: dict[str, str] = {}
    if etype.set_name == "A_SalesOrderSimulation":
        data, warnings = sales.sales_order_simulate(service, payload)
        headers["sap-message"] = sap_message("SLS_LORD/033", warnings)
    elif (service.name, etype.set_name) in CREATE_HANDLERS:
        data, warnings = CREATE_HANDLERS[(service.name, etype.set_name)](payload, user)
        if warnings:
            headers["sap-message"] = sap_message("SLS_LORD/009", warnings)
    elif etype.set_name in DEEP_ONLY_SETS:
        return sap_error(405, "/IWBEP/CM_MGW_RT/051",
                         f"The sandbox creates '{etype.set_name}' only within a deep insert of "
                         f"{DEEP_ONLY_SETS[etype.set_name]}", service=service.name)
    else:
        data, warnings = services.generic_create(service, etype, payload), []
    headers["Location"] = f"{base_url}{etype.set_name}{key_predicate(etype, data)}"
    etag = serializer.etag(etype, data)
    if etag:
        headers["ETag"] = etag
    return json_response({"d": serializer.one(etype, data)}, status=201, headers=headers)


def _function(request: HttpRequest, service: Service, function: FunctionImport, method: str) -> HttpResponse:
    """A function import: parameters from the query string, the complex result under its name."""
    if method != function.http_method:
        return sap_error(405, "/IWBEP/CM_MGW_RT/051", f"Function import '{function.name}' expects "
                         f"{function.http_method}", service=service.name)
    result = procurement.FUNCTION_HANDLERS[(service.name, function.name)](
        procurement.function_params(function, request.GET))
    meta = {"type": f"{service.name}.{function.return_type}"}
    return json_response({"d": {function.name: {"__metadata": meta, **result}}})


def _update(request: HttpRequest, service: Service, target: Target) -> HttpResponse:
    etype = target.etype
    if target.key is None or target.entity is None or not etype.updatable or not etype.stored:
        return sap_error(405, "/IWBEP/CM_MGW_RT/051", f"Update is not allowed on '{etype.set_name}'", service=service.name)
    try:
        payload = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return sap_error(400, "/IWBEP/CM_MGW_RT/004", "The request body is not valid JSON", service=service.name)
    updated = services.entity_update(service, etype, target.key, payload, if_match=request.headers.get("If-Match"),
                                     replace=request.method == "PUT")
    response = HttpResponse(status=204)
    etag = store.Serializer(service, "").etag(etype, updated)
    if etag:
        response["ETag"] = etag
    response["dataserviceversion"] = "1.0"
    return response


def _delete(request: HttpRequest, service: Service, target: Target) -> HttpResponse:
    etype = target.etype
    if target.key is None or not etype.deletable:
        return sap_error(405, "/IWBEP/CM_MGW_RT/051", f"Delete is not allowed on '{etype.set_name}'", service=service.name)
    services.entity_delete(service, etype, target.key, if_match=request.headers.get("If-Match"))
    return HttpResponse(status=204)


# -- faults ----------------------------------------------------------------------------------------
_LOCKED_OBJECTS = (("SalesOrder", "Sales document"), ("BusinessPartner", "Business partner"),
                   ("PurchaseOrder", "Purchase order"), ("SupplierInvoice", "Invoice document"))


def _render_fault(fault: Fault, service: str, target: Target | None, request: HttpRequest) -> HttpResponse | None:
    kind = fault.kind
    if kind == Fault.Kind.STATUS:
        status = fault.status or 503
        if status == 503:
            return sap_error(503, "/IWFND/CM_BEC/076", fault.message or "Service unavailable", service=service)
        if status >= 500:
            return sap_error(status, "/IWBEP/CM_MGW_RT/000",
                             fault.message or "Technical error: an exception was raised (CX_SY_REF_IS_INITIAL)",
                             service=service)
        return sap_error(status, f"/IWBEP/CM_MGW_RT/{status}", fault.message or "Request rejected", service=service)
    if kind == Fault.Kind.LOCK and "SALES_ORDER" not in service and service != "API_BUSINESS_PARTNER":
        # Outside sales, SAP's enqueue message (MC/601) names the locked object.
        keys = {**request.GET.dict(), **((target.key if target else None) or {})}
        label, document = next(((label, str(keys[name]).strip("'")) for name, label in _LOCKED_OBJECTS
                                if keys.get(name)), ("Object", ""))
        message = fault.message or f"{label} {document} is currently being processed by user BATCH_USER".replace("  ", " ")
        return sap_error(400, "MC/601", message, service=service)
    if kind == Fault.Kind.LOCK:
        key = (target.key if target else None) or {}
        document = key.get("SalesOrder") or key.get("BusinessPartner") or ""
        if not document:
            try:
                body = json.loads(request.body or b"{}")
                document = body.get("SoldToParty", "") if isinstance(body, dict) else ""
            except (json.JSONDecodeError, UnicodeDecodeError):
                document = ""
        message = fault.message or f"Sales document {document} is currently being processed by user BATCH_USER"
        return sap_error(400, "V1/042", message, service=service)
    if kind == Fault.Kind.CSRF_EXPIRY:
        CsrfToken.objects.all().delete()
        return csrf_required()
    if kind == Fault.Kind.RATE_LIMIT:
        return sap_error(429, "/IWFND/CM_CONSUMER/429", fault.message or "Rate limit exceeded", service=service,
                         headers={"Retry-After": str(fault.retry_after if fault.retry_after is not None else 1)})
    if kind == Fault.Kind.STALE_ETAG:
        return sap_error(412, "/IWBEP/CM_MGW_RT/019", fault.message or "Precondition failed", service=service)
    return None


# -- entry point -----------------------------------------------------------------------------------
@csrf_exempt
def odata(request: HttpRequest, service: str, resource: str = "") -> HttpResponse:
    svc = SERVICES.get(service)
    if svc is None:
        return sap_error(404, "/IWFND/MED/170", f"No service found for namespace '', name '{service}', version '0001'")
    user = _authenticated(request)
    if user is None:
        return _unauthorized()
    method = request.method or "GET"
    if method == "POST" and request.headers.get("X-HTTP-Method"):
        method = request.headers["X-HTTP-Method"].upper()
    base_url = request.build_absolute_uri(f"/sap/opu/odata/sap/{service}/")
    resource = resource.strip("/")
    if resource in ("", "$metadata"):
        if method not in ("GET", "HEAD"):
            return sap_error(405, "/IWBEP/CM_MGW_RT/051", "Method not allowed", service=service)
        if resource == "":
            response = json_response({"d": {"EntitySets": [t.set_name for t in svc.types]}})
        else:
            response = HttpResponse(metadata_xml(service), content_type="application/xml")
            response["dataserviceversion"] = "2.0"
        if _wants_token(request):
            _issue_token(request, response)
        if method == "HEAD":
            response.content = b""
        return response
    if resource == "$batch":
        return sap_error(501, "/IWBEP/CM_MGW_RT/052", "$batch is not supported by the sandbox", service=service)

    set_name = _split_key(_split_segments(resource)[0])[0]
    operation = f"{service}/{set_name}:{method}"
    fault = fault_take(system="sap", operation=operation, kinds=_WRITE_FAULTS if method in MODIFYING else _READ_FAULTS)
    drop = fault is not None and fault.kind == Fault.Kind.DROP
    function = svc.function(set_name) if "(" not in resource and "/" not in resource else None
    try:
        if function is not None:
            rendered = _render_fault(fault, service, None, request) if fault is not None and not drop else None
            if rendered is not None:
                return rendered
            if method in MODIFYING and not _csrf_valid(request):
                return csrf_required()
            response = _function(request, svc, function, method)
            if drop:
                drop_response(request)
            return response
        target = _resolve(svc, resource, request.GET.get("$filter", "") if request.method == "GET" else "")
        if fault is not None and not drop:
            rendered = _render_fault(fault, service, target, request)
            if rendered is not None:
                return rendered
        if method in MODIFYING and not _csrf_valid(request):
            return csrf_required()
        if method in ("GET", "HEAD"):
            response = _read(request, svc, target, base_url)
            if _wants_token(request):
                _issue_token(request, response)
            if method == "HEAD":
                response.content = b""
        elif method == "POST":
            response = _create(request, svc, target, base_url, user)
        elif method in ("PATCH", "MERGE", "PUT"):
            response = _update(request, svc, target)
        elif method == "DELETE":
            response = _delete(request, svc, target)
        else:
            response = sap_error(405, "/IWBEP/CM_MGW_RT/051", f"Method {method} not allowed", service=service)
    except SapBusinessError as exc:
        response = business_error(exc, service)
    if drop:
        drop_response(request)
    return response


# -- control plane: follow-on documents ------------------------------------------------------------
@csrf_exempt
def events_view(request: HttpRequest) -> HttpResponse:
    """`POST /_sandbox/events` `{"sales_order": "5000000", "event": "deliver", ...options}`.

    201 with the documents created or changed and the order's statuses; 400/404/409 with
    `{"error": ..., "field": ...}`, the control plane's plain JSON rather than SAP's.
    """
    options = control_plane_event_body(request)
    if isinstance(options, JsonResponse):
        return options
    number, event = options.pop("sales_order", None), options.pop("event", None)
    try:
        if number is None:
            raise events.EventError("sales_order is required", field="sales_order")
        if event is None:
            raise events.EventError("event is required", field="event")
        result = events.sales_order_event(number, event, **options)
    except events.EventError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse(result.as_dict(), status=201)
