"""Which handoff an external call belongs to, and what self-healing changed after it.

Adapters are built with `record` as their connectors' recorder: every HTTP exchange becomes a
`SyncAttempt` of the handoff being worked on (`working_on`), and `heal()` appends a step to
the attempt it followed. Context variables keep concurrent threads and tasks apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from integration_hub.connectors.base import CallRecord
from integration_hub.models import Handoff, SyncAttempt
from integration_hub.services import sync_attempt_add_healing, sync_attempt_record

_current_handoff: ContextVar[Handoff | None] = ContextVar("current_handoff", default=None)
_last_attempt: ContextVar[SyncAttempt | None] = ContextVar("last_attempt", default=None)


def record(call: CallRecord) -> None:
    """The connectors' recorder: one sync attempt per exchange, on the current handoff."""
    healing = []
    if call.error_class == "CsrfTokenExpired":
        # The connector fetches a fresh token and resends once, by itself; say so on this attempt.
        healing.append("CSRF token expired: fetched a new token and sent the request again")
    attempt = sync_attempt_record(handoff=_current_handoff.get(), record=call, healing=healing)
    _last_attempt.set(attempt)


def heal(step: str) -> None:
    """Note on the last attempt what self-healing changed before trying again."""
    attempt = _last_attempt.get()
    if attempt is not None:
        sync_attempt_add_healing(attempt=attempt, step=step)


@contextmanager
def working_on(handoff: Handoff | None) -> Iterator[None]:
    """Calls made inside belong to `handoff`."""
    token = _current_handoff.set(handoff)
    try:
        yield
    finally:
        _current_handoff.reset(token)
        _last_attempt.set(None)
