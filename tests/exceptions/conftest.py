from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest

# The shared cast of users, and the broker recorder (autouse: no test here needs a worker).
from tests.factories import cast, enqueued  # noqa: F401
from tests.pipeline.conftest import sync_world, world  # noqa: F401


@pytest.fixture
def bulk_worker(django_capture_on_commit_callbacks: Any) -> Iterator[Callable[[], Any]]:
    """Runs each started bulk job in-process once the request commits, as a worker would.

    Use `with bulk_worker():` around the request; what is measured is the job's outcome, not
    its delivery (the sweep test covers a job whose message was lost)."""
    from exceptions import bulk
    from exceptions.tasks import bulk_job_run

    with mock.patch.object(bulk_job_run, "delay", side_effect=lambda job_id: bulk.bulk_job_run(job_id=job_id)):
        yield lambda: django_capture_on_commit_callbacks(execute=True)
