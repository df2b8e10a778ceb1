"""The hub's one error root. Callers catch `HubError`; they retry only `TransientError`.

Below the root: `TransientError` and `PermanentError` for what an external system answered,
and `DomainError` for a request the hub's own rules refuse (a person must change it; it is never
retried). Each domain app keeps its errors in its own `errors.py`, subclassing these.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Root of every error the hub raises: about an external system or about its own rules."""

    system: str = ""

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        status: int | None = None,
        code: str = "",
        retry_after: float | None = None,
        details: list[str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system or self.system
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.details = details or []
        self.body = body

    def full_text(self) -> str:
        """Message, code and every detail the system sent, in one line (for evidence and matching)."""
        return " ".join([self.message, self.code or "", *[str(d) for d in self.details]])

    def __str__(self) -> str:
        parts = [self.message]
        if self.status:
            parts.append(f"(HTTP {self.status}{', ' + self.code if self.code else ''})")
        return " ".join(parts)


class TransientError(HubError):
    """Worth retrying after a backoff: timeouts, 5xx, rate limits, locks."""


class PermanentError(HubError):
    """Retrying the same request will fail again: a person or a changed request must act."""


# -- transient ---------------------------------------------------------------------------------
class RateLimited(TransientError):
    """429 / REQUEST_LIMIT_EXCEEDED; `retry_after` carries the server's Retry-After in seconds."""


class ServiceUnavailable(TransientError):
    """5xx or a refused connection."""


class AmbiguousOutcome(TransientError):
    """The request may or may not have been applied (timeout, reset, dropped response).

    Look the result up before sending it again.
    """


class DocumentLocked(TransientError):
    """The record is being edited by someone else (SAP SD lock, Salesforce UNABLE_TO_LOCK_ROW)."""


class CsrfTokenExpired(TransientError):
    """SAP answered 403 with `x-csrf-token: Required`; fetch a new token and send again."""


class SessionExpired(TransientError):
    """Salesforce answered 401 INVALID_SESSION_ID; authenticate again and send again."""


class StaleETag(TransientError):
    """412: the entity changed since it was read; read it again before writing."""


# -- permanent ---------------------------------------------------------------------------------
class AuthenticationFailed(PermanentError):
    """Bad credentials (SAP 401, Salesforce login refused)."""


class NotFound(PermanentError):
    """The entity or resource does not exist."""


class ValidationFailed(PermanentError):
    """The system rejected the payload (SAP 400 business error, Salesforce 400)."""


class PreconditionRequired(PermanentError):
    """428: the write needs If-Match; the caller sent none."""


# -- the hub's own rules -----------------------------------------------------------------------
class DomainError(HubError, ValueError):
    """A request the hub's rules refuse (an illegal transition, a closed exception, a four-eyes
    breach): say so to the person; retrying the same request changes nothing.

    Also a `ValueError`, so form and serializer code that catches bad values keeps working.
    """


class IllegalTransition(DomainError):
    """A handoff was asked to move along an edge the lifecycle does not have."""

    def __init__(self, from_status: str, to_status: str, *, allowed: str = "") -> None:
        super().__init__(f"a handoff cannot go from {from_status!r} to {to_status!r}; allowed: {allowed or 'none (terminal)'}")
        self.from_status = from_status
        self.to_status = to_status


class InvalidSalesforceId(DomainError):
    """A value that is not a 15- or 18-character Salesforce id, or whose 18-character checksum is wrong."""


class TraceQueryInvalid(DomainError):
    """A trace search that is no business key at all: empty, too long, or characters no key has."""


class TraceNotFound(DomainError):
    """A trace search that matches nothing the person may see, in the hub or in the ERP."""
