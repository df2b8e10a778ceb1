"""The only module that talks to SAP S/4HANA: a thin OData V2 client over requests.

Why not pyodata: we need exact control over CSRF refresh, error mapping (lock vs. validation,
ambiguous outcomes after a dropped POST), timeouts and call recording; pyodata is used in the
tests to prove the sandbox speaks the same wire format as SAP.

Reads come back as plain dicts with SAP's property names: `d`/`d.results` unwrapped, `__metadata`
and deferred navigations removed, expanded navigations as lists (or a dict for to-one),
Edm.Decimal as `Decimal` and Edm.DateTime/DateTimeOffset as aware UTC datetimes (types come from
the service's `$metadata`, fetched once per service and process). Writes accept `Decimal`,
`datetime`/`date` and serialise them as SAP expects (decimal strings, `/Date(ms)/`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import xml.etree.ElementTree as ET  # noqa: S405 - parses the trusted SAP service's $metadata only
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.cache import cache

from integration_hub.connectors.base import CallRecord, Recorder, redact, transport_error
from integration_hub.errors import (
    AuthenticationFailed,
    CsrfTokenExpired,
    DocumentLocked,
    HubError,
    NotFound,
    PreconditionRequired,
    RateLimited,
    ServiceUnavailable,
    StaleETag,
    ValidationFailed,
)

logger = logging.getLogger("hub.connectors.sap")

SYSTEM = "sap"
SALES_ORDER = "API_SALES_ORDER_SRV"
SIMULATION = "API_SALES_ORDER_SIMULATION_SRV"
BUSINESS_PARTNER = "API_BUSINESS_PARTNER"
PRODUCT = "API_PRODUCT_SRV"
PRICING = "API_SLSPRICINGCONDITIONRECORD_SRV"
CREDIT = "API_CRDTMBUSINESSPARTNER"
OPEN_ITEMS = "API_OPLACCTGDOCITEMCUBE_SRV"
BILLING = "API_BILLING_DOCUMENT_SRV"
DELIVERY = "API_OUTBOUND_DELIVERY_SRV"
PURCHASE_ORDER = "API_PURCHASEORDER_PROCESS_SRV"
MATERIAL_DOCUMENT = "API_MATERIAL_DOCUMENT_SRV"
SUPPLIER_INVOICE = "API_SUPPLIERINVOICE_PROCESS_SRV"
# Every OData service this connector calls: a sync attempt's service is the one its URL names
# (the dashboard's API budget counts calls per service by these).
SERVICES = (SALES_ORDER, SIMULATION, BUSINESS_PARTNER, PRODUCT, PRICING, CREDIT, OPEN_ITEMS, BILLING, DELIVERY,
            PURCHASE_ORDER, MATERIAL_DOCUMENT, SUPPLIER_INVOICE)
# Values per `or` filter: keeps a URL well under the 8 KB a gateway takes.
FILTER_CHUNK = 20

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_LOCK_HINTS = ("currently being processed", "is locked by", "locked by user")
_LOCK_CODES = ("V1/042", "MC/", "VL/045")
_MATERIAL_RE = re.compile(r"Material\s+(\S+)")
_LEGAL_SUFFIXES = {"corp", "corp.", "corporation", "inc", "inc.", "incorporated", "llc", "ltd", "ltd.", "gmbh",
                   "plc", "co", "co.", "company", "ag", "sa", "limited"}
SALES_ORDER_EXPAND = "to_Item,to_Item/to_PricingElement,to_Partner,to_PricingElement"

# $metadata property types per service root: {entity type name: {property: edm type}}
_TYPES: dict[str, dict[str, dict[str, str]]] = {}
_TYPES_LOCK = threading.Lock()


# -- value conversion ------------------------------------------------------------------------------
def to_datetime(value: str) -> datetime | None:
    match = _DATE_RE.match(value)
    if not match:
        return None
    return EPOCH + timedelta(milliseconds=int(match.group(1)))


def to_wire(value: Any) -> Any:
    """Python -> OData V2 JSON: Decimal as string, datetimes and dates as /Date(ms)/, nested as is."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return f"/Date({int((moment - EPOCH) / timedelta(milliseconds=1))})/"
    if isinstance(value, date):
        return to_wire(datetime(value.year, value.month, value.day, tzinfo=UTC))
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    return value


def quote_literal(value: str) -> str:
    """An OData string literal: 'O''Brien'."""
    return "'" + str(value).replace("'", "''") + "'"


def _name_variants(name: str) -> list[str]:
    """Spellings to try for a CRM account name against SAP's case-sensitive name fields."""
    words = [w for w in re.split(r"\s+", name.strip().replace(",", " ")) if w]
    while len(words) > 1 and words[-1].lower() in _LEGAL_SUFFIXES:
        words.pop()
    core = " ".join(words) or name.strip()
    variants: list[str] = []
    for candidate in (core, core.upper(), core.title(), name.strip()):
        if candidate and candidate not in variants:
            variants.append(candidate)
    return variants


class SapClient:
    """OData V2 client for the S/4HANA APIs the hub uses (see WIRE.md part A)."""

    def __init__(
        self,
        *,
        base_url: str,
        user: str,
        password: str,
        client: str = "",
        timeout: float = 15.0,
        recorder: Recorder | None = None,
        sales_organization: str = "1710",
        distribution_channel: str = "10",
        division: str = "00",
        language: str = "EN",
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.client = client
        self.timeout = timeout
        self.recorder = recorder
        self.sales_organization = sales_organization
        self.distribution_channel = distribution_channel
        self.division = division
        self.language = language
        self.session = requests.Session()
        self.session.trust_env = False  # never route SAP traffic through an env proxy or .netrc
        self.session.auth = (user, password)
        self.session.headers.update({"Accept": "application/json", "Connection": "keep-alive"})
        self._tokens: dict[str, str] = {}

    @classmethod
    def from_settings(cls, recorder: Recorder | None = None) -> SapClient:
        return cls(
            base_url=settings.SAP_BASE_URL,
            user=settings.SAP_USER,
            password=settings.SAP_PASSWORD,
            client=settings.SAP_CLIENT,
            timeout=settings.SAP_TIMEOUT,
            recorder=recorder,
            sales_organization=settings.SAP_SALES_ORGANIZATION,
            distribution_channel=settings.SAP_DISTRIBUTION_CHANNEL,
            division=settings.SAP_DIVISION,
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> SapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP --------------------------------------------------------------------------------------
    def _url(self, service: str, path: str = "") -> str:
        return f"{self.base_url}{service}/{path}"

    def _params(self, params: dict[str, str] | None) -> dict[str, str]:
        merged = dict(params or {})
        if self.client:
            merged["sap-client"] = self.client
        return merged

    def _record(self, operation: str, response: requests.Response | None, method: str, url: str,
                request_headers: dict[str, str], body: Any, started: float, error: HubError | None) -> None:
        if self.recorder is None:
            return
        response_body: Any = None
        if response is not None:
            try:
                response_body = response.json() if "json" in response.headers.get("Content-Type", "") else response.text[:2000]
            except ValueError:
                response_body = response.text[:2000]
        record = CallRecord(
            system=SYSTEM,
            operation=operation,
            method=method,
            url=redact(url),
            request_headers=redact(request_headers),
            request_body=redact(body),
            status=response.status_code if response is not None else None,
            response_headers=redact(dict(response.headers)) if response is not None else {},
            response_body=redact(response_body),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            error_class=type(error).__name__ if error else "",
            error_message=redact(str(error)) if error else "",
        )
        try:
            self.recorder(record)
        except Exception:  # a broken recorder must not turn a delivered order into a failure
            logger.exception("SAP call recorder failed")

    def _send(self, operation: str, method: str, url: str, *, params: dict[str, str] | None = None,
              json_body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
        """One HTTP exchange, recorded; transport failures become hub errors."""
        headers = dict(headers or {})
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        # requests allows bytes header values; the record keeps text.
        full_headers = {key: value if isinstance(value, str) else value.decode("latin-1")
                        for key, value in {**self.session.headers, **headers}.items()}
        if self.session.auth:
            full_headers["Authorization"] = "Basic ***"
        try:
            response = self.session.request(method, url, params=self._params(params), json=json_body,
                                            headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            unanswered = transport_error(exc, method=method, operation=operation, system=SYSTEM, label="SAP")
            self._record(operation, None, method, url, full_headers, json_body, started, unanswered)
            raise unanswered from exc
        if self.session.cookies:
            full_headers["Cookie"] = "***"
        error = self._status_error(response, operation) if response.status_code >= 400 else None
        self._record(operation, response, method, response.url, full_headers, json_body, started, error)
        if error is not None:
            raise error
        return response

    def _status_error(self, response: requests.Response, operation: str) -> HubError:
        status = response.status_code
        code, message, details, body = "", response.text[:500], [], None
        try:
            body = response.json()
            error = body.get("error", {}) if isinstance(body, dict) else {}
            code = error.get("code", "")
            message_obj = error.get("message", {})
            message = message_obj.get("value", "") if isinstance(message_obj, dict) else str(message_obj)
            details = [d.get("message", "") for d in error.get("innererror", {}).get("errordetails", []) if d.get("message")]
        except ValueError:
            pass
        text = f"SAP {operation}: {message}".strip()
        kwargs: dict[str, Any] = {"system": SYSTEM, "status": status, "code": code, "details": details}
        if status == 400:
            if code.startswith(_LOCK_CODES) or any(h in (message + " ".join(details)).lower() for h in _LOCK_HINTS):
                return DocumentLocked(text, body=body, **kwargs)
            fields = []
            if isinstance(body, dict):
                for detail in body.get("error", {}).get("innererror", {}).get("errordetails", []):
                    if detail.get("propertyref") or detail.get("target"):
                        fields.append(detail.get("propertyref") or detail.get("target"))
            material = _MATERIAL_RE.search(" ".join([message, *details]))
            return ValidationFailed(text, body={"error": body, "fields": fields,
                                                "material": material.group(1) if material else ""}, **kwargs)
        if status == 401:
            return AuthenticationFailed(f"SAP rejected the credentials ({operation})", **kwargs)
        if status == 403:
            if response.headers.get("x-csrf-token", "").lower() == "required":
                return CsrfTokenExpired(f"SAP CSRF token rejected ({operation})", **kwargs)
            return AuthenticationFailed(f"SAP refused {operation}: missing authorization", **kwargs)
        if status == 404:
            return NotFound(text, **kwargs)
        if status == 412:
            return StaleETag(text, **kwargs)
        if status == 428:
            return PreconditionRequired(text, **kwargs)
        if status == 429:
            retry_after = None
            try:
                retry_after = float(response.headers.get("Retry-After", ""))
            except ValueError:
                retry_after = None
            return RateLimited(text, retry_after=retry_after, **kwargs)
        if status >= 500:
            return ServiceUnavailable(text, **kwargs)
        return ValidationFailed(text, body=body, **kwargs)

    def _token(self, service: str, *, refresh: bool = False) -> str:
        if refresh or service not in self._tokens:
            response = self._send(f"csrf_fetch:{service}", "HEAD", self._url(service), headers={"X-CSRF-Token": "Fetch"})
            token = response.headers.get("x-csrf-token", "")
            if not token:
                raise AuthenticationFailed(f"SAP issued no CSRF token for {service}", system=SYSTEM)
            self._tokens = {name: value for name, value in self._tokens.items() if value == token}
            self._tokens[service] = token
        return self._tokens[service]

    def _modify(self, operation: str, method: str, service: str, path: str, *, json_body: Any = None,
                headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> requests.Response:
        """A modifying request with the CSRF token; on 403 Required fetch a new token and resend once."""
        for attempt in (1, 2):
            token = self._token(service, refresh=attempt == 2)
            try:
                return self._send(operation, method, self._url(service, path), params=params, json_body=json_body,
                                  headers={**(headers or {}), "X-CSRF-Token": token})
            except CsrfTokenExpired:
                self._tokens.pop(service, None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _get(self, operation: str, service: str, path: str, params: dict[str, str] | None = None) -> requests.Response:
        return self._send(operation, "GET", self._url(service, path), params=params)

    # -- envelopes and types -----------------------------------------------------------------------
    def _types(self, service: str) -> dict[str, dict[str, str]]:
        """A service's property types from its $metadata: kept by this process, and in the shared
        cache for HUB_SAP_METADATA_SECONDS so a new worker process does not fetch it again."""
        root = self._url(service)
        if root in _TYPES:
            return _TYPES[root]
        shared = cache.get(f"sap-metadata:{root}")
        if isinstance(shared, dict):
            with _TYPES_LOCK:
                _TYPES[root] = shared
            return shared
        response = self._send(f"metadata:{service}", "GET", self._url(service, "$metadata"),
                              headers={"Accept": "application/xml"})
        types: dict[str, dict[str, str]] = {}
        try:
            tree = ET.fromstring(response.content)  # noqa: S314 - SAP's own $metadata
        except ET.ParseError:
            tree = None
        if tree is not None:
            for node in tree.iter():
                if node.tag.endswith("}EntityType") or node.tag == "EntityType":
                    props = {}
                    for child in node:
                        if child.tag.endswith("Property") and not child.tag.endswith("NavigationProperty"):
                            props[child.get("Name", "")] = child.get("Type", "")
                    types[node.get("Name", "")] = props
        with _TYPES_LOCK:
            _TYPES[root] = types
        if types and settings.HUB_SAP_METADATA_SECONDS:
            cache.set(f"sap-metadata:{root}", types, timeout=settings.HUB_SAP_METADATA_SECONDS)
        return types

    def _convert(self, service: str, entity: Any) -> Any:
        """An OData entity (or list) as plain Python: typed values, expanded navigations unwrapped."""
        if isinstance(entity, list):
            return [self._convert(service, item) for item in entity]
        if not isinstance(entity, dict):
            return entity
        meta = entity.get("__metadata") or {}
        type_name = str(meta.get("type", "")).rsplit(".", 1)[-1]
        prop_types = self._types(service).get(type_name, {}) if type_name else {}
        result: dict[str, Any] = {}
        if meta.get("etag"):
            result["etag"] = meta["etag"]
        for name, value in entity.items():
            if name == "__metadata":
                continue
            if isinstance(value, dict):
                if "__deferred" in value:
                    continue
                if "results" in value and isinstance(value["results"], list):
                    result[name] = [self._convert(service, item) for item in value["results"]]
                else:
                    result[name] = self._convert(service, value)
                continue
            edm = prop_types.get(name, "")
            if isinstance(value, str) and edm == "Edm.Decimal":
                try:
                    result[name] = Decimal(value)
                except InvalidOperation:
                    result[name] = value
            elif isinstance(value, str) and (edm in ("Edm.DateTime", "Edm.DateTimeOffset") or _DATE_RE.match(value)):
                result[name] = to_datetime(value) or value
            else:
                result[name] = value
        return result

    def _entity(self, service: str, response: requests.Response) -> dict[str, Any]:
        data = self._convert(service, response.json().get("d", {}))
        etag = response.headers.get("ETag")
        if etag:
            data["etag"] = etag
        return data

    def _collection(self, operation: str, service: str, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """All pages of a collection (follows `__next`)."""
        results: list[dict[str, Any]] = []
        response = self._get(operation, service, path, params)
        while True:
            body = response.json().get("d", {})
            items = body.get("results", []) if isinstance(body, dict) else body
            results.extend(self._convert(service, items))
            next_url = body.get("__next") if isinstance(body, dict) else None
            if not next_url:
                return results
            response = self._send(operation, "GET", next_url)

    # -- sales orders ------------------------------------------------------------------------------
    def create_sales_order(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Deep-insert A_SalesOrder (header, to_Item[/to_PricingElement], to_Partner, to_PricingElement).

        Returns the created order (SalesOrder, TotalNetAmount, TotalCreditCheckStatus, etag, ...).
        Raises ValidationFailed (nothing saved), DocumentLocked, AmbiguousOutcome (look the order
        up by PurchaseOrderByCustomer before sending again), or another HubError.
        """
        response = self._modify("create:A_SalesOrder", "POST", SALES_ORDER, "A_SalesOrder", json_body=to_wire(payload))
        return self._entity(SALES_ORDER, response)

    def find_sales_orders(self, purchase_order_by_customer: str) -> list[dict[str, Any]]:
        """Orders carrying this customer reference, with items and partners (idempotency lookup)."""
        params = {
            "$filter": f"PurchaseOrderByCustomer eq {quote_literal(purchase_order_by_customer)}",
            "$expand": "to_Item,to_Partner",
            "$orderby": "SalesOrder asc",
        }
        return self._collection("query:A_SalesOrder", SALES_ORDER, "A_SalesOrder", params)

    def customer_sales_orders(self, sold_to: str, *, top: int = 10) -> list[dict[str, Any]]:
        """A customer's most recent orders (headers only), newest first."""
        params = {"$filter": f"SoldToParty eq {quote_literal(sold_to)}", "$orderby": "SalesOrder desc", "$top": str(top)}
        return self._collection("query:A_SalesOrder", SALES_ORDER, "A_SalesOrder", params)

    def get_sales_order(self, number: str, expand: bool = True) -> dict[str, Any]:
        """One order with its `etag`; expanded with items (and their pricing), partners and header pricing."""
        params = {"$expand": SALES_ORDER_EXPAND} if expand else {}
        response = self._get("read:A_SalesOrder", SALES_ORDER, f"A_SalesOrder({quote_literal(number)})", params)
        return self._entity(SALES_ORDER, response)

    def update_sales_order(self, number: str, fields: dict[str, Any], etag: str | None) -> str | None:
        """PATCH header fields with If-Match; returns the new ETag (None if SAP sent none).

        Raises PreconditionRequired without an etag and StaleETag when the order changed since.
        """
        headers = {"If-Match": etag} if etag else {}
        response = self._modify("update:A_SalesOrder", "PATCH", SALES_ORDER, f"A_SalesOrder({quote_literal(number)})",
                                json_body=to_wire(fields), headers=headers)
        return response.headers.get("ETag")

    def delete_sales_order(self, number: str, etag: str | None) -> None:
        """DELETE an order with If-Match (cancellation before anything shipped)."""
        headers = {"If-Match": etag} if etag else {}
        self._modify("delete:A_SalesOrder", "DELETE", SALES_ORDER, f"A_SalesOrder({quote_literal(number)})",
                     headers=headers)

    def simulate_sales_order(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Price and credit-check an order without saving it.

        Returns {"total_net_amount": Decimal, "currency": str, "credit_status": "A"|"B"|"",
        "items": [{"item", "material", "quantity", "net_amount", "tax_amount", "pricing_elements"}],
        "messages": [str], "raw": dict}.
        """
        body = to_wire({**payload, "to_Pricing": {}, "to_Credit": {}})
        response = self._modify("simulate:A_SalesOrderSimulation", "POST", SIMULATION, "A_SalesOrderSimulation",
                                json_body=body)
        data = self._entity(SIMULATION, response)
        pricing = data.get("to_Pricing") or {}
        credit = data.get("to_Credit") or {}
        items = [
            {
                "item": item.get("SalesOrderItem"),
                "material": item.get("Material"),
                "quantity": item.get("RequestedQuantity"),
                "net_amount": item.get("NetAmount"),
                "tax_amount": item.get("TaxAmount"),
                "pricing_elements": item.get("to_PricingElement", []),
            }
            for item in data.get("to_Item", [])
        ]
        messages = []
        header = response.headers.get("sap-message")
        if header:
            try:
                parsed = json.loads(header)
                messages = [parsed.get("message", ""), *[d.get("message", "") for d in parsed.get("details", [])]]
            except ValueError:
                messages = [header]
        return {
            "total_net_amount": pricing.get("TotalNetAmount"),
            "currency": pricing.get("TransactionCurrency") or data.get("TransactionCurrency"),
            "credit_status": credit.get("TotalCreditCheckStatus", ""),
            "items": items,
            "messages": messages,
            "raw": data,
        }

    # -- business partners -------------------------------------------------------------------------
    def search_business_partners(self, name: str | None = None, tax_number: str | None = None,
                                 top: int = 20) -> list[dict[str, Any]]:
        """Organisations matching a tax number (first) and/or a name, without duplicates.

        SAP compares names case-sensitively, so the name is tried as typed, upper-case and
        title-case, without legal suffixes ("Acme Corp" finds "ACME Corporation"), and against
        SearchTerm1.
        """
        found: dict[str, dict[str, Any]] = {}
        select = ("BusinessPartner,BusinessPartnerFullName,OrganizationBPName1,OrganizationBPName2,SearchTerm1,"
                  "BusinessPartnerCategory,Customer,Supplier,BusinessPartnerIsBlocked,IsMarkedForArchiving")
        if tax_number:
            compact = re.sub(r"[\s.-]", "", tax_number)
            forms = {tax_number.strip(), compact}
            if compact.isdigit() and len(compact) == 9:  # a US EIN is kept as NN-NNNNNNN
                forms.add(f"{compact[:2]}-{compact[2:]}")
            clause = " or ".join(f"BPTaxNumber eq {quote_literal(form)}" for form in sorted(forms) if form)
            taxes = self._collection("query:A_BusinessPartnerTaxNumber", BUSINESS_PARTNER, "A_BusinessPartnerTaxNumber",
                                     {"$filter": clause, "$top": str(top)})
            numbers = sorted({row["BusinessPartner"] for row in taxes})
            if numbers:
                clause = " or ".join(f"BusinessPartner eq {quote_literal(n)}" for n in numbers)
                for row in self._collection("query:A_BusinessPartner", BUSINESS_PARTNER, "A_BusinessPartner",
                                            {"$filter": clause, "$select": select}):
                    row["matched_by"] = "tax_number"
                    found.setdefault(row["BusinessPartner"], row)
        if name and name.strip():
            clauses = []
            for variant in _name_variants(name):
                literal = quote_literal(variant)
                clauses.append(f"substringof({literal},BusinessPartnerFullName) eq true")
            clauses.append(f"startswith(SearchTerm1,{quote_literal(_name_variants(name)[0].upper()[:20])}) eq true")
            params = {
                "$filter": f"({' or '.join(clauses)}) and BusinessPartnerCategory eq '2'",
                "$select": select,
                "$top": str(top),
            }
            for row in self._collection("query:A_BusinessPartner", BUSINESS_PARTNER, "A_BusinessPartner", params):
                row["matched_by"] = "name"
                found.setdefault(row["BusinessPartner"], row)
        return list(found.values())[:top]

    def get_business_partner(self, bp: str) -> dict[str, Any]:
        """A partner with addresses, roles, tax numbers and customer sales areas (to_Customer)."""
        params = {"$expand": "to_BusinessPartnerAddress,to_BusinessPartnerRole,to_BusinessPartnerTax,"
                             "to_Customer,to_Customer/to_CustomerSalesArea"}
        response = self._get("read:A_BusinessPartner", BUSINESS_PARTNER, f"A_BusinessPartner({quote_literal(bp)})", params)
        return self._entity(BUSINESS_PARTNER, response)

    def create_business_partner(
        self,
        *,
        name: str,
        country: str,
        street: str = "",
        house_number: str = "",
        postal_code: str = "",
        city: str = "",
        region: str = "",
        tax_number: str = "",
        tax_type: str | None = None,
        search_term: str = "",
        sales_areas: Iterable[dict[str, str]] = (),
        roles: Iterable[str] = ("FLCU00", "FLCU01"),
    ) -> dict[str, Any]:
        """Deep-create an organisation as a customer; returns it with `BusinessPartner` and `Customer`.

        `sales_areas`: dicts with SalesOrganization, DistributionChannel, Division and optionally
        CustomerPaymentTerms / Currency.
        """
        payload: dict[str, Any] = {
            "BusinessPartnerCategory": "2",
            "OrganizationBPName1": name[:40],
            "OrganizationBPName2": name[40:80],
            "SearchTerm1": (search_term or _name_variants(name)[0]).upper()[:20],
            "to_BusinessPartnerAddress": [{
                "Country": country, "StreetName": street, "HouseNumber": house_number, "PostalCode": postal_code,
                "CityName": city, "Region": region, "Language": self.language,
            }],
            "to_BusinessPartnerRole": [{"BusinessPartnerRole": role} for role in roles],
        }
        if tax_number:
            payload["to_BusinessPartnerTax"] = [{"BPTaxType": tax_type or {"US": "US2"}.get(country, f"{country}0"),
                                                 "BPTaxNumber": tax_number}]
        areas = list(sales_areas)
        if areas:
            payload["to_Customer"] = {"to_CustomerSalesArea": areas}
        response = self._modify("create:A_BusinessPartner", "POST", BUSINESS_PARTNER, "A_BusinessPartner",
                                json_body=payload)
        return self._entity(BUSINESS_PARTNER, response)

    # -- products and prices -----------------------------------------------------------------------
    def get_product(self, material: str) -> dict[str, Any] | None:
        """A_Product with descriptions and per-sales-area data; None when SAP has no such product."""
        try:
            response = self._get("read:A_Product", PRODUCT, f"A_Product({quote_literal(material)})",
                                 {"$expand": "to_Description,to_SalesDelivery"})
        except NotFound:
            return None
        return self._entity(PRODUCT, response)

    def get_prices(self, materials: Iterable[str], sales_organization: str, distribution_channel: str,
                   customer: str | None = None, on: date | None = None) -> dict[str, dict[str, Any]]:
        """Today's PPR0 price per material (customer-specific beats general).

        Returns {material: {"price": Decimal, "currency": str, "per": Decimal, "unit": str,
        "condition_record": str, "customer_specific": bool, "customer_discount_percent": Decimal | None}}.
        Materials without a price are absent.
        """
        wanted = sorted(set(materials))
        day = on or datetime.now(UTC).date()
        literal_day = f"datetime'{day.isoformat()}T00:00:00'"
        discount = None
        if customer:
            discount_rows = self._collection("query:A_SlsPrcgCndnRecdValidity", PRICING, "A_SlsPrcgCndnRecdValidity", {
                "$filter": (f"ConditionType eq 'K007' and Customer eq {quote_literal(customer)} and "
                            f"SalesOrganization eq {quote_literal(sales_organization)} and "
                            f"DistributionChannel eq {quote_literal(distribution_channel)} and "
                            f"ConditionValidityEndDate ge {literal_day} and ConditionValidityStartDate le {literal_day}"),
                "$expand": "to_SlsPrcgConditionRecord",
            })
            for row in discount_rows:
                record = row.get("to_SlsPrcgConditionRecord") or {}
                if not record.get("ConditionIsDeleted"):
                    discount = record.get("ConditionRateValue")
        result: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 25):  # keep URLs well under Gateway's length limit
            chunk = wanted[start:start + 25]
            materials_clause = " or ".join(f"Material eq {quote_literal(m)}" for m in chunk)
            rows = self._collection("query:A_SlsPrcgCndnRecdValidity", PRICING, "A_SlsPrcgCndnRecdValidity", {
                "$filter": (f"ConditionType eq 'PPR0' and SalesOrganization eq {quote_literal(sales_organization)} and "
                            f"DistributionChannel eq {quote_literal(distribution_channel)} and ({materials_clause}) and "
                            f"ConditionValidityEndDate ge {literal_day} and ConditionValidityStartDate le {literal_day}"),
                "$expand": "to_SlsPrcgConditionRecord",
            })
            for row in rows:
                record = row.get("to_SlsPrcgConditionRecord") or {}
                if record.get("ConditionIsDeleted"):
                    continue
                row_customer = row.get("Customer") or ""
                if row_customer and row_customer != customer:
                    continue
                material = row["Material"]
                if material in result and result[material]["customer_specific"] and not row_customer:
                    continue
                result[material] = {
                    "price": record.get("ConditionRateValue"),
                    "currency": record.get("ConditionRateValueUnit", ""),
                    "per": record.get("ConditionQuantity") or Decimal(1),
                    "unit": record.get("ConditionQuantityUnit", ""),
                    "condition_record": row.get("ConditionRecord", ""),
                    "customer_specific": bool(row_customer),
                    "customer_discount_percent": discount,
                }
        return result

    def create_price_condition(
        self,
        *,
        material: str,
        price: Decimal,
        currency: str,
        sales_organization: str,
        distribution_channel: str,
        customer: str = "",
        condition_type: str = "PPR0",
        unit: str = "",
        valid_from: date | None = None,
        valid_to: date | None = None,
    ) -> dict[str, Any]:
        """Deep-create a condition record with its validity; returns it (ConditionRecord, ...)."""
        validity: dict[str, Any] = {
            "SalesOrganization": sales_organization,
            "DistributionChannel": distribution_channel,
            "Material": material,
            "ConditionValidityStartDate": valid_from or datetime.now(UTC).date(),
            "ConditionValidityEndDate": valid_to or date(9999, 12, 31),
        }
        if customer:
            validity["Customer"] = customer
        payload = {
            "ConditionTable": "305" if customer else "304",
            "ConditionType": condition_type,
            "ConditionRateValue": price,
            "ConditionRateValueUnit": currency,
            "ConditionQuantity": Decimal(1),
            "ConditionQuantityUnit": unit,
            "to_SlsPrcgCndnRecdValidity": [validity],
        }
        response = self._modify("create:A_SlsPrcgConditionRecord", "POST", PRICING, "A_SlsPrcgConditionRecord",
                                json_body=to_wire(payload))
        return self._entity(PRICING, response)

    # -- credit and receivables --------------------------------------------------------------------
    def list_product_descriptions(self) -> list[dict[str, Any]]:
        """Every material's description in the hub's language (Product, ProductDescription)."""
        return self._collection(
            "query:A_ProductDescription", PRODUCT, "A_ProductDescription",
            {"$filter": f"Language eq {quote_literal(self.language)}", "$select": "Product,ProductDescription"},
        )

    def list_organizations(self) -> list[dict[str, Any]]:
        """Every organisation partner with its addresses and tax numbers (for local match caches)."""
        return self._collection(
            "query:A_BusinessPartner", BUSINESS_PARTNER, "A_BusinessPartner",
            {"$filter": "BusinessPartnerCategory eq '2'", "$expand": "to_BusinessPartnerAddress,to_BusinessPartnerTax"},
        )

    def get_credit_account(self, bp: str) -> dict[str, Any] | None:
        """The partner's credit account: {"business_partner", "credit_segment", "credit_limit": Decimal,
        "currency", "blocked": bool, "block_reason", "raw"}; None when SAP manages no credit for it."""
        rows = self._collection("query:CreditManagementAccount", CREDIT, "CreditManagementAccount",
                                {"$filter": f"BusinessPartner eq {quote_literal(bp)}"})
        if not rows:
            return None
        account = rows[0]
        return {
            "business_partner": account.get("BusinessPartner"),
            "credit_segment": account.get("CreditSegment"),
            "credit_limit": account.get("CreditLimitAmount"),
            "currency": account.get("CreditSegmentCurrency"),
            "blocked": bool(account.get("CreditAccountIsBlocked")),
            "block_reason": account.get("CreditAccountBlockReason", ""),
            "raw": account,
        }

    def update_credit_limit(self, bp: str, amount: Decimal, credit_segment: str = "1000") -> None:
        path = f"CreditManagementAccount(BusinessPartner={quote_literal(bp)},CreditSegment={quote_literal(credit_segment)})"
        self._modify("update:CreditManagementAccount", "PATCH", CREDIT, path,
                     json_body=to_wire({"CreditLimitAmount": amount}))

    # -- after the order: billing, receivables, status changes ----------------------------------
    def sales_orders_changed(self, since: datetime, *, top: int) -> list[dict[str, Any]]:
        """Order headers whose LastChangeDateTime is at or after `since`, oldest change first
        (every page, at most `top`)."""
        moment = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        params = {"$filter": f"LastChangeDateTime ge datetimeoffset'{moment}Z'",
                  "$orderby": "LastChangeDateTime asc,SalesOrder asc", "$top": str(top)}
        return self._collection("query:A_SalesOrder", SALES_ORDER, "A_SalesOrder", params)[:top]

    def find_sales_orders_any(self, purchase_orders_by_customer: Iterable[str]) -> list[dict[str, Any]]:
        """Orders carrying any of these customer references, with items (FILTER_CHUNK keys a call)."""
        found: list[dict[str, Any]] = []
        for text in any_of("PurchaseOrderByCustomer", purchase_orders_by_customer):
            found += self._collection("query:A_SalesOrder", SALES_ORDER, "A_SalesOrder",
                                      {"$filter": text, "$expand": "to_Item", "$orderby": "SalesOrder asc"})
        return found

    def sales_orders_created(self, start: date, end: date, *, skip: int, top: int) -> list[dict[str, Any]]:
        """One page of order headers created on `start` … `end` (days, both included), by number."""
        params = {"$filter": f"CreationDate ge datetime'{start.isoformat()}T00:00:00' and "
                             f"CreationDate le datetime'{end.isoformat()}T23:59:59'",
                  "$orderby": "SalesOrder asc", "$skip": str(skip), "$top": str(top)}
        return self._collection("query:A_SalesOrder", SALES_ORDER, "A_SalesOrder", params)[:top]

    def sales_orders_by_number(self, numbers: Iterable[str]) -> list[dict[str, Any]]:
        """Order headers by number (unknown numbers are simply absent)."""
        found: list[dict[str, Any]] = []
        for text in any_of("SalesOrder", numbers):
            found += self._collection("query:A_SalesOrder", SALES_ORDER, "A_SalesOrder", {"$filter": text})
        return found

    def billing_documents_for_orders(self, orders: Iterable[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(billing document items, their headers) of these sales orders (WIRE-ERP 4.1)."""
        items: list[dict[str, Any]] = []
        for text in any_of("SalesDocument", orders):
            items += self._collection("query:A_BillingDocumentItem", BILLING, "A_BillingDocumentItem",
                                      {"$filter": text, "$select": "BillingDocument,BillingDocumentItem,SalesDocument"})
        headers: list[dict[str, Any]] = []
        for text in any_of("BillingDocument", (str(i.get("BillingDocument") or "") for i in items)):
            headers += self._collection("query:A_BillingDocument", BILLING, "A_BillingDocument", {"$filter": text})
        return items, headers

    def deliveries_for_orders(self, orders: Iterable[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(outbound delivery items, their headers) of these sales orders (WIRE-ERP 4.4): items
        name the order in ReferenceSDDocument."""
        items: list[dict[str, Any]] = []
        for text in any_of("ReferenceSDDocument", orders):
            items += self._collection("query:A_OutbDeliveryItem", DELIVERY, "A_OutbDeliveryItem",
                                      {"$filter": text,
                                       "$select": "DeliveryDocument,DeliveryDocumentItem,ReferenceSDDocument"})
        headers: list[dict[str, Any]] = []
        for text in any_of("DeliveryDocument", (str(i.get("DeliveryDocument") or "") for i in items)):
            headers += self._collection("query:A_OutbDeliveryHeader", DELIVERY, "A_OutbDeliveryHeader",
                                        {"$filter": text})
        return items, headers

    def get_delivery(self, number: str) -> dict[str, Any] | None:
        """One outbound delivery header with its items (to_DeliveryDocumentItem); None when SAP has none."""
        try:
            response = self._get("read:A_OutbDeliveryHeader", DELIVERY,
                                 f"A_OutbDeliveryHeader({quote_literal(number)})",
                                 {"$expand": "to_DeliveryDocumentItem"})
        except NotFound:
            return None
        return self._entity(DELIVERY, response)

    def get_billing_document(self, number: str) -> dict[str, Any] | None:
        """One billing document header with its items (to_Item); None when SAP has none."""
        try:
            response = self._get("read:A_BillingDocument", BILLING, f"A_BillingDocument({quote_literal(number)})",
                                 {"$expand": "to_Item"})
        except NotFound:
            return None
        return self._entity(BILLING, response)

    def receivables_for_orders(self, orders: Iterable[str]) -> list[dict[str, Any]]:
        """Customer items of the AR cube (cleared or not) posted for these sales orders (WIRE-ERP 4.2)."""
        found: list[dict[str, Any]] = []
        for text in any_of("SalesDocument", orders):
            found += self._collection("query:A_OperationalAcctgDocItemCube", OPEN_ITEMS,
                                      "A_OperationalAcctgDocItemCube",
                                      {"$filter": f"({text}) and FinancialAccountType eq 'D'"})
        return found

    def get_open_items(self, customer: str) -> list[dict[str, Any]]:
        """The customer's uncleared receivables (A_OperationalAcctgDocItemCube), oldest due first;
        AmountInTransactionCurrency is a Decimal and NetDueDate an aware datetime."""
        params = {
            "$filter": f"Customer eq {quote_literal(customer)} and ClearingAccountingDocument eq ''",
            "$orderby": "NetDueDate asc",
        }
        return self._collection("query:A_OperationalAcctgDocItemCube", OPEN_ITEMS, "A_OperationalAcctgDocItemCube",
                                params)

    # -- procurement: purchase orders, goods receipts, supplier invoices (WIRE-ERP 4.5-4.7) ----------
    def get_purchase_order(self, number: str) -> dict[str, Any]:
        """One purchase order with its items (to_PurchaseOrderItem); NotFound when SAP has none."""
        response = self._get("read:A_PurchaseOrder", PURCHASE_ORDER, f"A_PurchaseOrder({quote_literal(number)})",
                             {"$expand": "to_PurchaseOrderItem"})
        return self._entity(PURCHASE_ORDER, response)

    def create_purchase_order(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Deep-insert A_PurchaseOrder with to_PurchaseOrderItem."""
        response = self._modify("create:A_PurchaseOrder", "POST", PURCHASE_ORDER, "A_PurchaseOrder",
                                json_body=to_wire(payload))
        return self._entity(PURCHASE_ORDER, response)

    def material_document_items(self, purchase_order: str) -> list[dict[str, Any]]:
        """Every goods-movement item posted against a purchase order, by document and item."""
        params = {"$filter": f"PurchaseOrder eq {quote_literal(purchase_order)}",
                  "$orderby": "MaterialDocumentYear asc,MaterialDocument asc,MaterialDocumentItem asc"}
        return self._collection("query:A_MaterialDocumentItem", MATERIAL_DOCUMENT, "A_MaterialDocumentItem", params)

    def create_material_document(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Deep-insert A_MaterialDocumentHeader with to_MaterialDocumentItem (a goods receipt, 101)."""
        response = self._modify("create:A_MaterialDocumentHeader", "POST", MATERIAL_DOCUMENT,
                                "A_MaterialDocumentHeader", json_body=to_wire(payload))
        return self._entity(MATERIAL_DOCUMENT, response)

    def get_supplier(self, supplier: str) -> dict[str, Any] | None:
        """A_Supplier with its company-code data (to_SupplierCompany); None when SAP has none."""
        try:
            response = self._get("read:A_Supplier", BUSINESS_PARTNER, f"A_Supplier({quote_literal(supplier)})",
                                 {"$expand": "to_SupplierCompany"})
        except NotFound:
            return None
        return self._entity(BUSINESS_PARTNER, response)

    def supplier_invoices(self, invoicing_party: str) -> list[dict[str, Any]]:
        """Every supplier invoice of an invoicing party (headers), by number."""
        params = {"$filter": f"InvoicingParty eq {quote_literal(invoicing_party)}",
                  "$orderby": "FiscalYear asc,SupplierInvoice asc"}
        return self._collection("query:A_SupplierInvoice", SUPPLIER_INVOICE, "A_SupplierInvoice", params)

    def supplier_invoices_by_header_text(self, prefix: str) -> list[dict[str, Any]]:
        """Supplier invoices whose DocumentHeaderText starts with `prefix` (the hub's idempotency key)."""
        params = {"$filter": f"startswith(DocumentHeaderText,{quote_literal(prefix)})",
                  "$orderby": "FiscalYear asc,SupplierInvoice asc"}
        return self._collection("query:A_SupplierInvoice", SUPPLIER_INVOICE, "A_SupplierInvoice", params)

    def get_supplier_invoice(self, number: str, fiscal_year: str) -> dict[str, Any]:
        """One supplier invoice with its PO-referenced items; NotFound when SAP has none."""
        path = f"A_SupplierInvoice(SupplierInvoice={quote_literal(number)},FiscalYear={quote_literal(fiscal_year)})"
        response = self._get("read:A_SupplierInvoice", SUPPLIER_INVOICE, path, {"$expand": "to_SuplrInvcItemPurOrdRef"})
        return self._entity(SUPPLIER_INVOICE, response)

    def create_supplier_invoice(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Deep-insert A_SupplierInvoice with to_SuplrInvcItemPurOrdRef (parked until `post_supplier_invoice`).

        Raises ValidationFailed (code M8/108 for SAP's duplicate check), AmbiguousOutcome (look the
        invoice up by its header text before sending again), or another HubError.
        """
        response = self._modify("create:A_SupplierInvoice", "POST", SUPPLIER_INVOICE, "A_SupplierInvoice",
                                json_body=to_wire(payload))
        return self._entity(SUPPLIER_INVOICE, response)

    def post_supplier_invoice(self, number: str, fiscal_year: str) -> bool:
        """The `Post` function import; True when SAP answers Success."""
        return self._invoice_function("Post", {"SupplierInvoice": quote_literal(number),
                                               "FiscalYear": quote_literal(fiscal_year)})

    def release_supplier_invoice(self, number: str, fiscal_year: str, *, shift_discount_days: bool = False) -> bool:
        """The `Release` function import: removes the invoice's payment block."""
        return self._invoice_function("Release", {"SupplierInvoice": quote_literal(number),
                                                  "FiscalYear": quote_literal(fiscal_year),
                                                  "DiscountDaysHaveToBeShifted": "true" if shift_discount_days
                                                  else "false"})

    def _invoice_function(self, name: str, params: dict[str, str]) -> bool:
        response = self._modify(f"function:{name}", "POST", SUPPLIER_INVOICE, name, params=params)
        try:
            body = response.json().get("d", {})
        except ValueError:
            return False
        result = body.get(name, body) if isinstance(body, dict) else {}
        return bool(isinstance(result, dict) and result.get("Success"))


def any_of(field: str, values: Iterable[str]) -> Iterator[str]:
    """`$filter` texts `F eq 'a' or F eq 'b' …`, FILTER_CHUNK values each."""
    unique = sorted(set(values))
    for start in range(0, len(unique), FILTER_CHUNK):
        yield " or ".join(f"{field} eq {quote_literal(v)}" for v in unique[start:start + FILTER_CHUNK])


def key_path(entity_set: str, **keys: str) -> str:
    """`A_SalesOrderItem(SalesOrder='1',SalesOrderItem='10')`, percent-encoded like pyodata does."""
    inner = ",".join(f"{name}={quote_literal(value)}" for name, value in keys.items())
    return quote(f"{entity_set}({inner})", safe="")
