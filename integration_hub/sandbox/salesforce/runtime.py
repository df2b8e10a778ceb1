"""Background work of the Salesforce sandbox: the Outbound Message dispatcher."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from integration_hub.sandbox.salesforce.outbound import start_dispatcher


def start_background(*, interval: float | None = None) -> Callable[[], None]:
    """Start the sandbox's background work; returns a function that stops it."""
    return start_dispatcher(interval=settings.SANDBOX_OUTBOUND_POLL_SECONDS if interval is None else interval)
