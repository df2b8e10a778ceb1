from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import time
from typing import Any
from unittest import mock

import pytest

from exceptions import bulk
from exceptions.models import BusinessCalendar, EscalationLevel, EscalationPolicy, Queue
from exceptions.services import queue_ensure
from exceptions.tasks import bulk_job_run

# The shared cast of users, and the broker recorder (autouse: no test here needs a worker).
from tests.factories import cast, enqueued  # noqa: F401
from tests.pipeline.conftest import sync_world, world  # noqa: F401


@pytest.fixture
def bulk_worker(django_capture_on_commit_callbacks: Any) -> Iterator[Callable[[], Any]]:
    """Runs each started bulk job in-process once the request commits, as a worker would.

    Use `with bulk_worker():` around the request; what is measured is the job's outcome, not
    its delivery (the sweep test covers a job whose message was lost)."""
    with mock.patch.object(bulk_job_run, "delay", side_effect=lambda job_id: bulk.bulk_job_run(job_id=job_id)):
        yield lambda: django_capture_on_commit_callbacks(execute=True)


# A round-the-clock calendar: business time equals wall time, whenever the suite runs.
ALWAYS = {"time_zone": "UTC", "weekdays": [0, 1, 2, 3, 4, 5, 6], "day_start": time(0), "day_end": time(23, 59, 59)}


@pytest.fixture
def master_data(db: None) -> Queue:
    """Master data on a round-the-clock calendar (business time ≈ wall time), L1 4 h, L2 8 h."""
    queue = queue_ensure(slug="master-data")
    queue.calendar = BusinessCalendar.objects.create(name="Around the clock", **ALWAYS)
    queue.save()
    EscalationPolicy.objects.filter(queue=queue).delete()
    policy = EscalationPolicy.objects.create(queue=queue)
    EscalationLevel.objects.create(policy=policy, level=1, after_hours=4, action="notify_lead")
    EscalationLevel.objects.create(policy=policy, level=2, after_hours=8, action="notify_manager",
                                   manager_email="boss@example.com")
    return queue
