"""The one module that talks to Salesforce (a real org, or the sandbox over plain HTTP).

Built on simple-salesforce. Its session is ours: a transport adapter enforces the timeout
(simple-salesforce has no global one), rewrites the https:// it forces back to http:// for the
sandbox (WIRE.md B5), and keeps every exchange so the recorder gets a redacted `CallRecord` and
errors can carry headers simple-salesforce drops (Retry-After). Every failure leaves this module
as an `integration_hub.errors` class, so callers know whether to retry.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlparse

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from integration_hub import errors
from integration_hub.connectors.base import CallRecord, Recorder, redact

SYSTEM = "salesforce"
_MAX_RECORDED_BODY = 20_000
COLLECTION_LIMIT = 200  # records per sObject Collections call (WIRE-ERP.md §5.2)
_API_USAGE_RE = re.compile(r"(?:^|[^-])api-usage=(\d+)/(\d+)")
T = TypeVar("T")


def api_usage_from_headers(headers: Mapping[str, str]) -> tuple[int, int] | None:
    """(calls used today, the org's daily allowance) from a response's `Sforce-Limit-Info`.

    Case-insensitive on the header's name: a live response's headers are, a stored attempt's
    (a plain dict in JSON) are not. None when the response did not carry it.
    """
    value = next((str(v) for k, v in headers.items() if k.lower() == "sforce-limit-info"), "")
    usage = _API_USAGE_RE.search(value)
    return (int(usage.group(1)), int(usage.group(2))) if usage else None


@dataclass
class _Exchange:
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: Any
    started: float
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: Any = None
    duration_ms: float = 0.0
    error: BaseException | None = None


def _decode_body(raw: bytes | str | None) -> Any:
    if raw is None or raw == b"" or raw == "":
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if len(text) > _MAX_RECORDED_BODY:
        return text[:_MAX_RECORDED_BODY] + "…"
    try:
        return json.loads(text)
    except ValueError:
        return text


class _Transport(HTTPAdapter):
    """Timeouts, the sandbox's https→http downgrade, and a log of exchanges per thread."""

    def __init__(self, *, timeout: float, downgrade: bool) -> None:
        super().__init__(pool_connections=4, pool_maxsize=16, max_retries=0)
        self.timeout = timeout
        self.downgrade = downgrade
        self._local = threading.local()
        # (used, max) from the latest `Sforce-Limit-Info`, whichever call (or error) carried it.
        self.api_usage: tuple[int, int] | None = None

    @contextmanager
    def capture(self) -> Iterator[list[_Exchange]]:
        log: list[_Exchange] = []
        previous = getattr(self._local, "log", None)
        self._local.log = log
        try:
            yield log
        finally:
            self._local.log = previous

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.downgrade and request.url and request.url.startswith("https://"):
            request.url = "http://" + request.url[len("https://"):]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        exchange = _Exchange(
            method=request.method or "",
            url=request.url or "",
            request_headers=dict(request.headers),
            request_body=_decode_body(request.body),
            started=time.monotonic(),
        )
        log = getattr(self._local, "log", None)
        if log is not None:
            log.append(exchange)
        try:
            response = super().send(request, **kwargs)
        except BaseException as exc:
            exchange.error = exc
            exchange.duration_ms = (time.monotonic() - exchange.started) * 1000
            raise
        exchange.status = response.status_code
        exchange.response_headers = dict(response.headers)
        usage = api_usage_from_headers(response.headers)
        if usage:
            self.api_usage = usage
        exchange.response_body = _decode_body(response.content)
        exchange.duration_ms = (time.monotonic() - exchange.started) * 1000
        return response


def _retry_after(headers: dict[str, str]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(float(value), 0.0)
            except ValueError:
                return None
    return None


def _first_error(content: Any) -> tuple[str, str, list[str]]:
    """(errorCode, message, fields) of a Salesforce error array, tolerant of odd bodies."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        fields = first.get("fields") or []
        return (str(first.get("errorCode") or first.get("statusCode") or ""), str(first.get("message") or ""),
                [str(f) for f in fields] if isinstance(fields, list) else [])
    if isinstance(content, dict):
        return str(content.get("errorCode") or content.get("error") or ""), str(
            content.get("message") or content.get("error_description") or ""), []
    return "", str(content or "")[:500], []


def _refused(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        text = repr(exc)
        return "NewConnectionError" in text or "Connection refused" in text or "NameResolution" in text
    return False


def convert_error(exc: BaseException, *, write: bool, headers: dict[str, str] | None = None) -> errors.HubError:
    """Map a simple-salesforce or requests failure to the hub's error classes."""
    headers = headers or {}
    if isinstance(exc, SalesforceAuthenticationFailed):
        return errors.AuthenticationFailed(f"Salesforce login refused: {exc.message}", system=SYSTEM,
                                           code=str(exc.code or ""))
    if isinstance(exc, SalesforceError):
        status = int(exc.status)
        code, message, fields = _first_error(exc.content)
        text = message or f"Salesforce answered HTTP {status}"
        kwargs: dict[str, Any] = {"system": SYSTEM, "status": status, "code": code, "body": exc.content}
        retry_after = _retry_after(headers)
        if status == 401:
            return errors.SessionExpired(text, **kwargs)
        if status == 429 or (status == 403 and code == "REQUEST_LIMIT_EXCEEDED"):
            return errors.RateLimited(text, retry_after=retry_after, **kwargs)
        if status == 400 and code in ("UNABLE_TO_LOCK_ROW", "ENTITY_IS_LOCKED"):
            return errors.DocumentLocked(text, retry_after=retry_after, **kwargs)
        if status == 404:
            return errors.NotFound(text, details=fields, **kwargs)
        if status == 412:
            return errors.StaleETag(text, **kwargs)
        if status >= 500:
            return errors.ServiceUnavailable(text, retry_after=retry_after, **kwargs)
        if status == 403:
            return errors.AuthenticationFailed(text, **kwargs)
        return errors.ValidationFailed(text, details=fields, **kwargs)
    if isinstance(exc, requests.RequestException):
        if _refused(exc):
            return errors.ServiceUnavailable(f"Salesforce unreachable: {exc}", system=SYSTEM)
        if write:
            return errors.AmbiguousOutcome(
                f"no answer from Salesforce to a write; look it up before sending it again: {exc}", system=SYSTEM
            )
        return errors.ServiceUnavailable(f"no answer from Salesforce: {exc}", system=SYSTEM)
    return errors.ServiceUnavailable(f"unexpected failure talking to Salesforce: {exc!r}", system=SYSTEM)


def _org_from_session(session_id: str) -> str | None:
    """An access token starts with the 15-character org id before the `!`."""
    head = session_id.split("!", 1)[0]
    if "!" in session_id and len(head) == 15 and head.startswith("00D"):
        suffix = ""
        for i in range(3):
            flags = sum(1 << j for j in range(5) if "A" <= head[i * 5 + j] <= "Z")
            suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[flags]
        return head + suffix
    return None


class SalesforceClient:
    """Typed access to one Salesforce org; every method raises only `integration_hub.errors`."""

    def __init__(
        self,
        *,
        instance_url: str,
        session_id: str = "",
        version: str = "59.0",
        timeout: float = 15.0,
        username: str = "",
        password: str = "",
        security_token: str = "",
        consumer_key: str = "",
        private_key_file: str = "",
        domain: str = "login",
        org_id: str = "",
        recorder: Recorder | None = None,
    ) -> None:
        self.instance_url = instance_url.rstrip("/")
        self.version = version
        self.timeout = timeout
        self.recorder = recorder
        self._session_id = session_id
        self._credentials = {
            "username": username, "password": password, "security_token": security_token,
            "consumer_key": consumer_key, "privatekey_file": private_key_file, "domain": domain,
        }
        self._org_id = org_id
        self.sandbox = self.instance_url.startswith("http://")
        self._transport = _Transport(timeout=timeout, downgrade=self.sandbox)
        self.session = requests.Session()
        # Proxies and CA bundles from the environment must not redirect calls to the org.
        self.session.trust_env = False
        self.session.mount("https://", self._transport)
        self.session.mount("http://", self._transport)
        self._sf: Salesforce | None = None

    @classmethod
    def from_settings(cls, recorder: Recorder | None = None) -> SalesforceClient:
        """A client for the org in settings: the sandbox when SALESFORCE_INSTANCE_URL is http://."""
        return cls(
            instance_url=settings.SALESFORCE_INSTANCE_URL,
            session_id=settings.SALESFORCE_SESSION_ID,
            version=settings.SALESFORCE_API_VERSION,
            timeout=float(settings.SALESFORCE_TIMEOUT),
            username=settings.SALESFORCE_USERNAME,
            password=settings.SALESFORCE_PASSWORD,
            security_token=settings.SALESFORCE_SECURITY_TOKEN,
            consumer_key=settings.SALESFORCE_CONSUMER_KEY,
            private_key_file=settings.SALESFORCE_PRIVATE_KEY_FILE,
            domain=settings.SALESFORCE_DOMAIN,
            org_id=getattr(settings, "SALESFORCE_ORG_ID", "") or "",
            recorder=recorder,
        )

    # -- session -------------------------------------------------------------------------------
    def _connect(self) -> Salesforce:
        creds = self._credentials
        if self.sandbox or (self._session_id and not creds["username"]):
            return Salesforce(instance_url=self.instance_url, session_id=self._session_id,
                              version=self.version, session=self.session)
        if creds["consumer_key"] and creds["privatekey_file"]:
            return Salesforce(username=creds["username"], consumer_key=creds["consumer_key"],
                              privatekey_file=creds["privatekey_file"], domain=creds["domain"],
                              version=self.version, session=self.session)
        if creds["username"] and creds["password"]:
            return Salesforce(username=creds["username"], password=creds["password"],
                              security_token=creds["security_token"], domain=creds["domain"],
                              version=self.version, session=self.session)
        raise errors.AuthenticationFailed(
            "no Salesforce credentials: set SALESFORCE_CONSUMER_KEY + SALESFORCE_PRIVATE_KEY_FILE + "
            "SALESFORCE_USERNAME, or SALESFORCE_USERNAME + SALESFORCE_PASSWORD", system=SYSTEM)

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._sf = self._call("login", write=False, fn=self._connect)
        return self._sf

    def reauthenticate(self) -> None:
        """Start a new session: the sandbox re-reads SALESFORCE_SESSION_ID, a real org logs in again."""
        if self.sandbox:
            self._session_id = settings.SALESFORCE_SESSION_ID
        self._sf = None
        _ = self.sf

    @property
    def org_id(self) -> str:
        """The 18-character id of the org this client talks to."""
        if self._sf is not None and not self.sandbox:
            found = _org_from_session(str(self._sf.session_id))
            if found:
                return found
        return self._org_id or str(settings.SANDBOX_SALESFORCE_ORG_ID)

    def close(self) -> None:
        self.session.close()

    # -- plumbing ------------------------------------------------------------------------------
    def _call(self, operation: str, *, write: bool, fn: Callable[[], T]) -> T:
        with self._transport.capture() as log:
            failure: errors.HubError | None = None
            try:
                return fn()
            except errors.HubError as exc:
                failure = exc
                raise
            except (SalesforceError, requests.RequestException) as exc:
                headers = log[-1].response_headers if log else {}
                failure = convert_error(exc, write=write, headers=headers)
                raise failure from exc
            finally:
                self._record(operation, log, failure)

    def _record(self, operation: str, log: list[_Exchange], failure: errors.HubError | None) -> None:
        if self.recorder is None:
            return
        for index, exchange in enumerate(log):
            last = index == len(log) - 1
            error_class = ""
            message = ""
            if last and failure is not None:
                error_class, message = type(failure).__name__, str(failure)
            elif exchange.error is not None:
                error_class, message = "ServiceUnavailable", str(exchange.error)
            self.recorder(CallRecord(
                system=SYSTEM,
                operation=operation,
                method=exchange.method,
                url=redact(exchange.url),
                request_headers=redact(exchange.request_headers),
                request_body=redact(exchange.request_body),
                status=exchange.status,
                response_headers=redact(exchange.response_headers),
                response_body=redact(exchange.response_body),
                duration_ms=round(exchange.duration_ms, 1),
                error_class=error_class,
                error_message=redact(message),
            ))

    @staticmethod
    def _query_headers(batch_size: int | None) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}

    # -- API -----------------------------------------------------------------------------------
    def query(self, soql: str, *, batch_size: int | None = None) -> dict[str, Any]:
        """One page of a SOQL query: `{"totalSize", "done", "records", "nextRecordsUrl"?}`."""
        return self._call("query", write=False, fn=lambda: self.sf.query(
            soql, headers=self._query_headers(batch_size)))

    def query_more(self, next_records_url: str, *, batch_size: int | None = None) -> dict[str, Any]:
        """The page behind a `nextRecordsUrl` (a path, as Salesforce returns it)."""
        return self._call("query", write=False, fn=lambda: self.sf.query_more(
            next_records_url, identifier_is_url=True, headers=self._query_headers(batch_size)))

    def query_all(self, soql: str, *, batch_size: int | None = None) -> list[dict[str, Any]]:
        """Every record of a SOQL query, following `nextRecordsUrl` page by page."""
        result = self._call("query", write=False, fn=lambda: self.sf.query_all(
            soql, headers=self._query_headers(batch_size)))
        return list(result["records"])

    def get(self, sobject: str, record_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        """One record by id (15 or 18 characters); `fields` limits the columns returned."""
        params = {"fields": ",".join(fields)} if fields else None
        return self._call(f"get:{sobject}", write=False,
                          fn=lambda: getattr(self.sf, sobject).get(record_id, params=params))

    def create(self, sobject: str, data: dict[str, Any]) -> str:
        """Create a record; returns its 18-character id."""
        result = self._call(f"create:{sobject}", write=True, fn=lambda: getattr(self.sf, sobject).create(data))
        if not isinstance(result, dict) or not result.get("success"):
            raise errors.ValidationFailed(f"Salesforce did not create the {sobject}: {result!r}",
                                          system=SYSTEM, body=result)
        return str(result["id"])

    def update(self, sobject: str, record_id: str, data: dict[str, Any]) -> None:
        """Patch fields of a record (204 on success)."""
        self._call(f"update:{sobject}", write=True,
                   fn=lambda: getattr(self.sf, sobject).update(record_id, data))

    def delete(self, sobject: str, record_id: str) -> None:
        self._call(f"delete:{sobject}", write=True, fn=lambda: getattr(self.sf, sobject).delete(record_id))

    def limits(self) -> dict[str, Any]:
        return self._call("limits", write=False, fn=self.sf.limits)

    def update_collection(self, records: list[dict[str, Any]], *, all_or_none: bool = False) -> list[dict[str, Any]]:
        """Update many records, of one or several types, through sObject Collections.

        Each record is `{"attributes": {"type": "Opportunity"}, "id": "006…", "Field": value, …}`.
        Sends `PATCH composite/sobjects` with at most 200 records a call and returns one
        SaveResult per record, in the order given: `{"id", "success": True, "errors": []}` or
        `{"id"?, "success": False, "errors": [{"statusCode", "message", "fields"}]}` (WIRE-ERP.md
        §5.2). A record's failure is in its result, not raised; a failure of a whole call (5xx,
        rate limit, a malformed request) raises as usual, and calls already answered stay applied
        (updates are idempotent, so sending everything again is safe).

        Records are grouped by type before they are cut into calls, so a call never holds more
        than one chunk per type (Salesforce processes at most 10 chunks per call). `all_or_none`
        holds for one call only, so it is refused for more than 200 records.
        """
        if all_or_none and len(records) > COLLECTION_LIMIT:
            raise errors.ValidationFailed(
                f"all_or_none cannot hold across {len(records)} records: one call takes at most "
                f"{COLLECTION_LIMIT}", system=SYSTEM)
        order = sorted(range(len(records)), key=lambda i: str((records[i].get("attributes") or {}).get("type", "")))
        results: list[dict[str, Any]] = [{} for _ in records]
        for start in range(0, len(order), COLLECTION_LIMIT):
            chunk = order[start:start + COLLECTION_LIMIT]
            answered = self._update_chunk([records[i] for i in chunk], all_or_none=all_or_none)
            for index, result in zip(chunk, answered, strict=True):
                results[index] = result
        return results

    def _update_chunk(self, records: list[dict[str, Any]], *, all_or_none: bool) -> list[dict[str, Any]]:
        body = {"allOrNone": all_or_none, "records": records}
        answer = self._call("composite:sobjects", write=True, fn=lambda: self.sf.restful(
            "composite/sobjects", method="PATCH", json=body))
        if not isinstance(answer, list) or len(answer) != len(records) \
                or not all(isinstance(item, dict) for item in answer):
            raise errors.ValidationFailed(
                f"Salesforce answered a collection update of {len(records)} records with {answer!r:.200}",
                system=SYSTEM, body=answer)
        return answer

    def api_usage(self) -> tuple[int, int] | None:
        """(calls used today, daily limit) from the latest `Sforce-Limit-Info`; None before any call."""
        return self._transport.api_usage

    @property
    def host(self) -> str:
        return urlparse(self.instance_url).netloc
