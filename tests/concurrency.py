"""Run a callable in several threads released together, as two beats firing the same tick."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def at_once(fn: Callable[[], Any], *, times: int = 2, timeout: float = 60) -> list[Any]:
    """What each run returned; an exception in any run fails the caller (it is re-raised)."""
    barrier = threading.Barrier(times)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(fn())
        except BaseException as error:  # noqa: BLE001 - re-raised below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    return results
