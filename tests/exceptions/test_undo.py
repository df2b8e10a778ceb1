"""Resolve with undo, as the person who clicked notices it: nothing happens during the window, an
undo leaves the exception open with nothing re-run, the held resolution is applied exactly once
after the window (by its task, or by the sweep when the message was lost)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from exceptions import tasks
from exceptions.errors import ExceptionNotOpen, ResolutionError
from exceptions.models import ExceptionType, PendingResolution, SyncException
from exceptions.services import exception_resolve
from exceptions.undo import resolution_apply, resolution_schedule, resolution_undo, resolutions_apply_due
from tests.factories import Cast, SyncExceptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def held() -> Any:
    calls: list[tuple[int, float]] = []
    with mock.patch.object(tasks.pending_resolution_apply, "apply_async",
                           side_effect=lambda args, countdown: calls.append((args[0], countdown))):
        yield calls


def _pricing() -> SyncException:
    return SyncExceptionFactory(type_code=ExceptionType.PRICING_MISMATCH, fingerprint="pricing_mismatch:price:U1",
                                title="Price differs from SAP by 4.10% on Widget", variance_pct=Decimal("4.10"),
                                evidence={"product_code": "U1", "crm_net": "100.00", "sap_net": "104.10",
                                          "variance_percent": "4.10", "quantity": "1", "currency": "USD"})


def _history(exception: SyncException) -> str:
    return " | ".join(exception.events.order_by("pk").values_list("reason", flat=True))


def test_it_holds_a_resolution_for_the_window_then_applies_it_once(
    cast: Cast, enqueued: list[int], held: list[tuple[int, float]], settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.HUB_UNDO_SECONDS = 6
    exception = _pricing()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        pending = resolution_schedule(exception=exception, actor=cast.pricing_analyst, path="accept_sap", data={},
                                      now=now)

    assert held == [(pending.pk, 6.0)]  # the task is counted down to the end of the window
    assert pending.due_at == now + timedelta(seconds=6)
    exception.refresh_from_db()
    assert exception.status == "open" and enqueued == []  # the dry run wrote nothing, re-ran nothing
    assert "Accept SAP price in 6 s (undo until then)" in _history(exception)

    assert resolution_apply(pending_id=pending.pk, now=now + timedelta(seconds=5)) == "not due, undone or applied"
    assert SyncException.objects.get(pk=exception.pk).status == "open"
    with django_capture_on_commit_callbacks(execute=True):
        assert resolution_apply(pending_id=pending.pk, now=now + timedelta(seconds=6)) == "applied"
    exception.refresh_from_db()
    assert exception.status == "resolved"
    assert exception.resolved_by == cast.pricing_analyst  # in the name of who asked, not the worker
    assert enqueued == [exception.handoff_id]
    with django_capture_on_commit_callbacks(execute=True):  # a second delivery of the message
        assert tasks.pending_resolution_apply(pending.pk) == "not due, undone or applied"
    assert enqueued == [exception.handoff_id]


def test_it_cancels_a_held_resolution_on_undo_and_runs_nothing_later(
    cast: Cast, enqueued: list[int], held: list[tuple[int, float]], django_capture_on_commit_callbacks: Any,
) -> None:
    exception = _pricing()
    with django_capture_on_commit_callbacks(execute=True):
        pending = resolution_schedule(exception=exception, actor=cast.pricing_analyst, path="accept_sap", data={})

    assert resolution_undo(exception=exception, actor=cast.pricing_analyst) is True
    later = timezone.now() + timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        assert resolution_apply(pending_id=pending.pk, now=later) == "not due, undone or applied"
        assert resolutions_apply_due(now=later) == 0
    exception.refresh_from_db()
    assert exception.status == "open"
    assert enqueued == []
    assert "undone: Accept SAP price" in _history(exception)
    assert resolution_undo(exception=exception, actor=cast.pricing_analyst) is False  # nothing left to undo


def test_it_says_too_late_to_undo_once_the_resolution_was_applied(cast: Cast, held: Any) -> None:
    exception = _pricing()
    pending = resolution_schedule(exception=exception, actor=cast.pricing_analyst, path="accept_sap", data={})
    resolution_apply(pending_id=pending.pk, now=pending.due_at)

    client = Client()
    client.force_login(cast.pricing_analyst)
    response = client.post(reverse("exceptions:undo", args=[exception.pk]), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Too late to undo" in response.content.decode()
    assert SyncException.objects.get(pk=exception.pk).status == "resolved"


def test_it_applies_a_held_resolution_whose_message_was_lost_on_the_sweep(
    cast: Cast, enqueued: list[int], held: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    exception = _pricing()
    pending = resolution_schedule(exception=exception, actor=cast.pricing_analyst, path="accept_sap", data={})
    assert held == []  # the broker never heard of it (the transaction's callbacks were lost)

    assert resolutions_apply_due(now=pending.due_at - timedelta(seconds=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert resolutions_apply_due(now=pending.due_at + timedelta(seconds=1)) == 1
    assert SyncException.objects.get(pk=exception.pk).status == "resolved"
    assert enqueued == [exception.handoff_id]
    assert not PendingResolution.objects.exists()


def test_it_refuses_at_once_what_could_not_be_applied_and_holds_nothing(cast: Cast, held: Any) -> None:
    product = SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED)
    with pytest.raises(ResolutionError, match="not a resolution of"):
        resolution_schedule(exception=product, actor=cast.product_ops, path="accept_sap", data={})
    closed = _pricing()
    exception_resolve(exception=closed, actor=cast.pricing_analyst, note="fixed elsewhere")
    with pytest.raises(ExceptionNotOpen):
        resolution_schedule(exception=closed, actor=cast.pricing_analyst, path="accept_sap", data={})
    assert not PendingResolution.objects.exists()


def test_it_notes_on_the_exception_when_someone_else_resolved_it_during_the_window(
    cast: Cast, enqueued: list[int], held: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    exception = _pricing()
    pending = resolution_schedule(exception=exception, actor=cast.pricing_analyst, path="accept_sap", data={})
    exception_resolve(exception=exception, actor=cast.admin, note="fixed in SAP")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = resolution_apply(pending_id=pending.pk, now=pending.due_at)

    assert outcome.startswith("refused")
    assert "Accept SAP price not applied" in _history(exception)
    assert SyncException.objects.get(pk=exception.pk).resolved_by == cast.admin


def test_it_holds_the_rows_resolution_over_http_and_shows_undo_on_the_row(cast: Cast, held: Any) -> None:
    exception = _pricing()
    client = Client()
    client.force_login(cast.pricing_analyst)

    toast = client.post(reverse("exceptions:resolve-later", args=[exception.pk]), {"path": "accept_sap"},
                        HTTP_HX_REQUEST="true")
    assert toast.status_code == 200
    assert toast["HX-Trigger"] == "exceptionResolved"
    assert "data-undo" in toast.content.decode()
    page = client.get(reverse("exceptions:list", args=["pricing"])).content.decode()
    assert f'action="{reverse("exceptions:undo", args=[exception.pk])}"' in page
    outsider = Client()
    outsider.force_login(cast.outsider)
    assert outsider.post(reverse("exceptions:undo", args=[exception.pk])).status_code == 404
    assert PendingResolution.objects.filter(exception=exception).exists()
