"""The only module that talks to NetSuite: SuiteTalk REST (record API and SuiteQL) over requests,
signed with token-based authentication (OAuth 1.0a, HMAC-SHA256, `realm` = the account id).

Wire facts (WIRE-ERP §1): a create answers 204 with the new record's URL in `Location` (its
internal id is the last path segment); `eid:<externalId>` stands for an internal id anywhere and
`PUT …/<type>/eid:<id>` is an upsert; errors are `{"type", "title", "status", "o:errorDetails":
[{"detail", "o:errorCode", "o:errorPath"}]}`; too many concurrent requests per account answer 429.
Every exchange is handed to the recorder (a sync attempt) with the Authorization header redacted;
the consumer and token secrets are never written anywhere.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings
from requests_oauthlib import OAuth1

from integration_hub.connectors.base import REDACTED, CallRecord, Recorder, redact, transport_error
from integration_hub.errors import (
    AuthenticationFailed,
    DocumentLocked,
    HubError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    StaleETag,
    ValidationFailed,
)

logger = logging.getLogger("hub.connectors.netsuite")

SYSTEM = "netsuite"
RECORD = "services/rest/record/v1/"
SUITEQL = "services/rest/query/v1/suiteql"
PAGE = 1000  # SuiteQL's largest page
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)
# Error codes that mean "someone else holds or changed the record", not "the data is wrong".
_LOCK_CODES = {"RCRD_LOCKED_BY_WF", "RCRD_LOCKED", "RECORD_LOCKED"}
_CHANGED_CODES = {"RCRD_HAS_BEEN_CHANGED"}
_LIMIT_CODES = {"SSS_REQUEST_LIMIT_EXCEEDED", "CONCURRENCY_LIMIT_EXCEEDED", "WS_REQUEST_BLOCKED"}


def realm_of(account: str) -> str:
    """The OAuth realm: the account id upper-case with an underscore (`1234567_SB1`)."""
    return account.strip().upper().replace("-", "_")


def host_of(account: str) -> str:
    """The account's REST host (`1234567-sb1.suitetalk.api.netsuite.com`)."""
    return f"https://{account.strip().lower().replace('_', '-')}.suitetalk.api.netsuite.com"


def id_from_location(location: str) -> str:
    """The internal id a 204's `Location` names: its last path segment."""
    path = urlsplit(location).path.rstrip("/")
    return path.rsplit("/", 1)[-1] if path else ""


def quote_suiteql(value: str) -> str:
    """A SuiteQL string literal: 'O''Brien'."""
    return "'" + str(value).replace("'", "''") + "'"


class NetSuiteClient:
    """REST client for one NetSuite account (record API and SuiteQL)."""

    def __init__(
        self,
        *,
        account: str,
        base_url: str = "",
        consumer_key: str,
        consumer_secret: str,
        token_id: str,
        token_secret: str,
        timeout: float = 15.0,
        recorder: Recorder | None = None,
    ) -> None:
        root = base_url or host_of(account)
        self.base_url = root if root.endswith("/") else root + "/"
        self.account = account
        self.timeout = timeout
        self.recorder = recorder
        self.session = requests.Session()
        self.session.trust_env = False  # never route ERP traffic through an env proxy or .netrc
        self.session.auth = OAuth1(consumer_key, client_secret=consumer_secret, resource_owner_key=token_id,
                                   resource_owner_secret=token_secret, signature_method="HMAC-SHA256",
                                   realm=realm_of(account))
        self.session.headers.update({"Accept": "application/json", "Connection": "keep-alive"})

    @classmethod
    def from_settings(cls, recorder: Recorder | None = None) -> NetSuiteClient:
        return cls(
            account=settings.NETSUITE_ACCOUNT, base_url=settings.NETSUITE_BASE_URL,
            consumer_key=settings.NETSUITE_CONSUMER_KEY, consumer_secret=settings.NETSUITE_CONSUMER_SECRET,
            token_id=settings.NETSUITE_TOKEN_ID, token_secret=settings.NETSUITE_TOKEN_SECRET,
            timeout=settings.NETSUITE_TIMEOUT, recorder=recorder,
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> NetSuiteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP --------------------------------------------------------------------------------------
    def record_url(self, record_type: str, record_id: str = "", *rest: str) -> str:
        parts = [record_type] + ([quote(record_id, safe=":")] if record_id else []) + list(rest)
        return self.base_url + RECORD + "/".join(parts)

    def _record(self, operation: str, response: requests.Response | None, method: str, url: str,
                headers: dict[str, str], body: Any, started: float, error: HubError | None) -> None:
        if self.recorder is None:
            return
        response_body: Any = None
        if response is not None and response.content:
            try:
                response_body = response.json()
            except ValueError:
                response_body = response.text[:2000]
        call = CallRecord(
            system=SYSTEM, operation=operation, method=method, url=redact(url),
            request_headers={**redact(headers), "Authorization": f"OAuth {REDACTED}"},
            request_body=redact(body), status=response.status_code if response is not None else None,
            response_headers=redact(dict(response.headers)) if response is not None else {},
            response_body=redact(response_body), duration_ms=round((time.monotonic() - started) * 1000, 1),
            error_class=type(error).__name__ if error else "", error_message=redact(str(error)) if error else "",
        )
        try:
            self.recorder(call)
        except Exception:  # a broken recorder must not turn a delivered order into a failure
            logger.exception("NetSuite call recorder failed")

    def _send(self, operation: str, method: str, url: str, *, params: dict[str, str] | None = None,
              json_body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
        """One signed HTTP exchange, recorded; transport failures and error answers become hub errors."""
        headers = dict(headers or {})
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        shown = {key: value if isinstance(value, str) else value.decode("latin-1")
                 for key, value in {**self.session.headers, **headers}.items()}
        started = time.monotonic()
        try:
            response = self.session.request(method, url, params=params, json=json_body, headers=headers,
                                            timeout=self.timeout)
        except requests.RequestException as exc:
            transport = transport_error(exc, method=method, operation=operation, system=SYSTEM, label="NetSuite")
            self._record(operation, None, method, url, shown, json_body, started, transport)
            raise transport from exc
        error = self._status_error(response, operation) if response.status_code >= 400 else None
        self._record(operation, response, method, response.url, shown, json_body, started, error)
        if error is not None:
            raise error
        return response

    def _status_error(self, response: requests.Response, operation: str) -> HubError:
        """NetSuite's `o:errorDetails` as the hub's errors: codes, details and paths kept."""
        status = response.status_code
        body: Any = None
        try:
            body = response.json()
        except ValueError:
            body = None
        details = list((body or {}).get("o:errorDetails") or []) if isinstance(body, dict) else []
        codes = [str(d.get("o:errorCode") or "") for d in details if isinstance(d, dict)]
        texts = [str(d.get("detail") or "") for d in details if isinstance(d, dict) and d.get("detail")]
        paths = [str(d.get("o:errorPath") or "") for d in details if isinstance(d, dict) and d.get("o:errorPath")]
        code = next((c for c in codes if c), "")
        title = str((body or {}).get("title") or "") if isinstance(body, dict) else ""
        message = "; ".join(texts) or title or response.text[:300]
        text = f"NetSuite {operation}: {message}".strip()
        kwargs: dict[str, Any] = {"system": SYSTEM, "status": status, "code": code, "details": texts,
                                  "body": {"error": body, "codes": codes, "paths": paths}}
        if status == 429 or code in _LIMIT_CODES:
            try:
                retry_after: float | None = float(response.headers.get("Retry-After", ""))
            except ValueError:
                retry_after = None
            return RateLimited(text, retry_after=retry_after, **kwargs)
        if code in _LOCK_CODES:
            return DocumentLocked(text, **kwargs)
        if code in _CHANGED_CODES or status == 412:
            return StaleETag(text, **kwargs)
        if status == 401:
            return AuthenticationFailed(f"NetSuite refused the signature or token ({operation}): {message}", **kwargs)
        if status == 403:
            return AuthenticationFailed(f"NetSuite refused {operation}: {message}", **kwargs)
        if status == 404:
            return NotFound(text, **kwargs)
        if status >= 500:
            return ServiceUnavailable(text, **kwargs)
        return ValidationFailed(text, **kwargs)

    # -- the record API ----------------------------------------------------------------------------
    def record_get(self, record_type: str, record_id: str, *, expand: bool = True) -> dict[str, Any]:
        """One record (sublists inline with `expandSubResources`); NotFound when there is none."""
        params = {"expandSubResources": "true"} if expand else None
        response = self._send(f"read:{record_type}", "GET", self.record_url(record_type, record_id), params=params)
        data: dict[str, Any] = response.json()
        return data

    def record_find(self, record_type: str, record_id: str, *, expand: bool = True) -> dict[str, Any] | None:
        try:
            return self.record_get(record_type, record_id, expand=expand)
        except NotFound:
            return None

    def record_create(self, record_type: str, body: dict[str, Any]) -> str:
        """POST; the new internal id, read from the 204's `Location`."""
        response = self._send(f"create:{record_type}", "POST", self.record_url(record_type), json_body=body)
        return id_from_location(response.headers.get("Location", ""))

    def record_upsert(self, record_type: str, external_id: str, body: dict[str, Any]) -> str:
        """PUT `<type>/eid:<external id>`: creates the record or updates the one with that external id.
        The internal id from `Location` ("" when the answer names none)."""
        response = self._send(f"upsert:{record_type}", "PUT", self.record_url(record_type, f"eid:{external_id}"),
                              json_body=body)
        return id_from_location(response.headers.get("Location", ""))

    def record_update(self, record_type: str, record_id: str, body: dict[str, Any]) -> None:
        self._send(f"update:{record_type}", "PATCH", self.record_url(record_type, record_id), json_body=body)

    def record_delete(self, record_type: str, record_id: str) -> None:
        self._send(f"delete:{record_type}", "DELETE", self.record_url(record_type, record_id))

    def record_transform(self, record_type: str, record_id: str, to_type: str,
                         body: dict[str, Any] | None = None) -> str:
        """`POST <type>/<id>/!transform/<to type>`; the new record's internal id."""
        response = self._send(f"transform:{record_type}:{to_type}", "POST",
                              self.record_url(record_type, record_id, "!transform", to_type), json_body=body or {})
        return id_from_location(response.headers.get("Location", ""))

    # -- SuiteQL ---------------------------------------------------------------------------------
    def suiteql(self, query: str, *, limit: int = 0) -> list[dict[str, Any]]:
        """Every row of a SuiteQL query (paging by offset while `hasMore`), at most `limit` (0: all)."""
        table = (_FROM.search(query) or ["", "query"])[1].lower()
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = PAGE if not limit else min(PAGE, limit - len(rows))
            response = self._send(f"suiteql:{table}", "POST", self.base_url + SUITEQL,
                                  params={"limit": str(page), "offset": str(offset)},
                                  json_body={"q": query}, headers={"Prefer": "transient"})
            body = response.json()
            items = [{k: v for k, v in item.items() if k != "links"} for item in body.get("items") or []]
            rows.extend(items)
            if not body.get("hasMore") or not items or (limit and len(rows) >= limit):
                return rows[:limit] if limit else rows
            offset += len(items)
