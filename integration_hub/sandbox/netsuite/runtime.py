from __future__ import annotations

from collections.abc import Callable


def start_background() -> Callable[[], None]:
    """The NetSuite sandbox has no background work; returns a function that stops nothing."""
    return lambda: None
