"""Error classes for every external call. One root; callers retry only `TransientError`."""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Root of every error the hub raises about an external system."""

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
