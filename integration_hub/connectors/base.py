"""What every connector shares: a record of each external call, with secrets redacted.

Connectors hand a `CallRecord` to an optional `recorder` callback after every HTTP exchange,
successful or not; the pipeline turns those into `SyncAttempt` rows. Nothing here imports
`requests`: each system's module owns its own HTTP client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import requests

from integration_hub.errors import AmbiguousOutcome, HubError, ServiceUnavailable

REDACTED = "***"
_SECRET_KEYS = re.compile(
    r"(authorization|password|passwd|secret|token|session[_-]?id|sessionid|cookie|api[_-]?key|client[_-]?secret|private[_-]?key|x-csrf-token|assertion)",
    re.IGNORECASE,
)
_SECRET_IN_TEXT = re.compile(
    r"(?i)(bearer\s+|basic\s+)[A-Za-z0-9._~+/=-]+|((?:token|password|secret|sessionid|session_id)=)[^&\s\"'<]+"
)


@dataclass
class CallRecord:
    system: str  # "salesforce" | "sap"
    operation: str  # e.g. "query:Opportunity", "create:A_SalesOrder"
    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: Any = None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: Any = None
    duration_ms: float = 0.0
    error_class: str = ""  # name of the errors.py class raised, "" on success
    error_message: str = ""


Recorder = Callable[[CallRecord], None]


def redact_text(text: str) -> str:
    # Most strings in a payload are plain values; skip the regex unless a credential could be there.
    lowered = text.lower()
    if "=" not in lowered and "bearer" not in lowered and "basic" not in lowered:
        return text
    return _SECRET_IN_TEXT.sub(lambda m: (m.group(1) or m.group(2) or "") + REDACTED, text)


@lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEYS.search(key))


def redact(value: Any) -> Any:
    """A copy of `value` with every secret-looking key's value and inline credential replaced."""
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if isinstance(key, str) and _is_secret_key(key) else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


MODIFYING = frozenset({"POST", "PUT", "PATCH", "MERGE", "DELETE"})
_REFUSED_HINTS = ("NewConnectionError", "Connection refused", "Failed to establish", "Name or service not known")


def transport_error(exc: requests.RequestException, *, method: str, operation: str, system: str,
                    label: str) -> HubError:
    """A request that got no HTTP answer, in the hub's terms: never connected (the system is down,
    nothing was applied) or, for a write, an unknown outcome (look it up before sending again)."""
    text = f"{type(exc).__name__}: {exc}"
    refused = isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and any(hint in str(exc) for hint in _REFUSED_HINTS))
    if refused:
        return ServiceUnavailable(f"{label} unreachable during {operation}: {text}", system=system)
    if method in MODIFYING:
        return AmbiguousOutcome(f"No answer from {label} to {operation}; the change may or may not have been "
                                f"applied: {text}", system=system)
    return ServiceUnavailable(f"{label} did not answer {operation}: {text}", system=system)
