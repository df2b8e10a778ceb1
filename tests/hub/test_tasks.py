"""The process_handoff task: thin, claims by compare-and-swap, gives the claim back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery.signals import worker_init
from django.db import connection
from django.db.backends.signals import connection_created

from integration_hub import pipeline
from integration_hub.errors import ServiceUnavailable
from integration_hub.models import Handoff
from integration_hub.tasks import process_handoff
from tests.factories import HandoffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, str]]]:
    """The pipeline's entry point replaced by a recorder of what it saw of the claim."""
    seen: list[tuple[int, str]] = []

    def handoff_process(*, handoff_id: int, **_: object) -> None:
        seen.append((handoff_id, Handoff.objects.get(pk=handoff_id).claimed_by))

    monkeypatch.setattr(pipeline, "handoff_process", handoff_process)
    yield seen


def test_it_claims_the_handoff_calls_the_pipeline_and_releases_the_claim(
    fake_pipeline: list[tuple[int, str]],
) -> None:
    handoff = HandoffFactory()

    process_handoff.run(handoff.pk)

    assert len(fake_pipeline) == 1
    assert fake_pipeline[0][0] == handoff.pk
    assert fake_pipeline[0][1] != ""  # claimed while the pipeline ran
    handoff.refresh_from_db()
    assert handoff.claimed_by == "" and handoff.claimed_at is None


def test_it_skips_a_handoff_another_worker_holds(fake_pipeline: list[tuple[int, str]]) -> None:
    from django.utils import timezone

    handoff = HandoffFactory(claimed_by="other-worker", claimed_at=timezone.now())

    process_handoff.run(handoff.pk)

    assert fake_pipeline == []
    handoff.refresh_from_db()
    assert handoff.claimed_by == "other-worker"


def test_it_skips_a_handoff_waiting_on_a_person(fake_pipeline: list[tuple[int, str]]) -> None:
    handoff = HandoffFactory(status="blocked")

    process_handoff.run(handoff.pk)

    assert fake_pipeline == []


def test_it_retries_a_transient_error_and_releases_the_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    def handoff_process(*, handoff_id: int, **_: object) -> None:
        raise ServiceUnavailable("SAP is down", system="sap", status=503, retry_after=3)

    monkeypatch.setattr(pipeline, "handoff_process", handoff_process)
    retries: list[float] = []

    def fake_retry(*, exc: Exception, countdown: float) -> Exception:
        retries.append(countdown)
        return RuntimeError("retry scheduled")

    monkeypatch.setattr(process_handoff, "retry", fake_retry)
    handoff = HandoffFactory()

    with pytest.raises(RuntimeError, match="retry scheduled"):
        process_handoff.run(handoff.pk)

    assert retries == [3]
    handoff.refresh_from_db()
    assert handoff.claimed_by == ""


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
@pytest.mark.parametrize("wait_for_the_disk", [False, True])
def test_a_workers_sessions_commit_without_waiting_for_the_disk_unless_told_to(
        transactional_db: None, settings: Any, wait_for_the_disk: bool) -> None:
    assert _synchronous_commit() == "on"  # the web, the beat, this suite: every process but a worker
    settings.HUB_WORKER_SYNCHRONOUS_COMMIT = wait_for_the_disk
    worker_init.send(sender=None)  # what a worker node sends before it forks its pool
    try:
        connection.close()
        assert _synchronous_commit() == ("on" if wait_for_the_disk else "off")  # its next session
    finally:
        connection_created.disconnect(dispatch_uid="worker-async-commit")
        connection.close()
    assert _synchronous_commit() == "on"
