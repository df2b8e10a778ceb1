"""Backoff and self-healing: read the error, change what is sent, then try again.

Nothing here repeats a failing request unchanged. Each healing step names what it changed, and
the pipeline records it on the sync attempt it followed, so integration ops can see what the
hub fixed by itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.conf import settings

from integration_hub.errors import (
    AmbiguousOutcome,
    CsrfTokenExpired,
    DocumentLocked,
    HubError,
    RateLimited,
    SessionExpired,
    StaleETag,
)


def backoff_delay(attempt: int, *, retry_after: float | None = None, base: float | None = None,
                  cap: float | None = None) -> float:
    """Capped exponential backoff with full jitter (AWS architecture blog), never below Retry-After."""
    base = settings.HUB_BACKOFF_BASE_SECONDS if base is None else base
    cap = settings.HUB_BACKOFF_CAP_SECONDS if cap is None else cap
    delay = random.uniform(0, min(cap, base * (2 ** max(0, attempt - 1))))
    if retry_after is not None:
        # The server told us when; a little jitter on top keeps many workers from stampeding.
        delay = max(delay, retry_after) + random.uniform(0, min(1.0, base))
    return delay


@dataclass(frozen=True)
class Healing:
    """What the hub changes before the next try, and how long it waits first."""

    step: str
    wait_seconds: float
    look_up_first: bool = False  # the create may have gone through: search SAP before sending again


def healing_for(error: HubError, attempt: int) -> Healing:
    """Decide how to change the next request after a transient error."""
    if isinstance(error, AmbiguousOutcome):
        return Healing("outcome unknown (timeout or dropped response): look the order up in SAP before creating again",
                       backoff_delay(attempt), look_up_first=True)
    if isinstance(error, RateLimited):
        wait = backoff_delay(attempt, retry_after=error.retry_after)
        return Healing(f"rate limited: waiting {wait:.1f}s (Retry-After {error.retry_after or 'absent'})", wait)
    if isinstance(error, DocumentLocked):
        wait = max(settings.HUB_LOCK_WAIT_SECONDS, backoff_delay(attempt))
        return Healing(f"document locked in {error.system}: waiting {wait:.1f}s for the lock to clear", wait)
    if isinstance(error, CsrfTokenExpired):
        return Healing("CSRF token rejected twice: a fresh session and token on the next try", backoff_delay(attempt))
    if isinstance(error, SessionExpired):
        return Healing("Salesforce session expired: authenticating again", 0.0)
    if isinstance(error, StaleETag):
        return Healing("ETag stale: re-reading the entity before writing", 0.0)
    wait = backoff_delay(attempt, retry_after=error.retry_after)
    return Healing(f"{error.__class__.__name__}: retrying in {wait:.1f}s", wait)
