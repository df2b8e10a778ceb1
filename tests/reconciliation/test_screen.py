"""The reconciliation screen: the latest runs with their findings per type, and "Run now"."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from exceptions.models import ExceptionType
from exceptions.services import exception_open, exception_resolve
from integration_hub import ports
from integration_hub.models import ReconciliationRun, ReconciliationStatus
from integration_hub.tasks import process_handoff, reconciliation_nightly, reconciliation_run
from tests.factories import HandoffFactory, SyncExceptionFactory, make_cast


@pytest.mark.django_db
def test_it_lists_runs_with_their_counts_and_starts_one_for_integration_ops_only(client,
                                                                                django_capture_on_commit_callbacks):
    cast = make_cast()
    done = ReconciliationRun.objects.create(
        window_start="2026-11-02", window_end="2026-12-01", status=ReconciliationStatus.DONE, deals_checked=41,
        counts={ExceptionType.RECONCILIATION_DUPLICATE_ORDER: 3}, resolved_ids=[7, 8])
    url = reverse("reconciliation:runs")

    client.force_login(cast.outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, {"days": "7"}).status_code == 404

    client.force_login(cast.integration_ops)
    page = client.get(url)
    assert page.status_code == 200
    assert f"#{done.pk}" in page.content.decode() and ">41<" in page.content.decode()
    with mock.patch.object(reconciliation_run, "delay") as sent, django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"days": "7"})
    assert response.status_code == 302
    run = ReconciliationRun.objects.exclude(pk=done.pk).get()
    assert (run.window_end - run.window_start).days == 6 and run.requested_via == "screen"
    sent.assert_called_once_with(run.pk)

    fragment = client.post(url, {"days": "7"}, headers={"HX-Request": "true"})  # one at a time: the same run
    assert fragment["HX-Trigger"] == "reconciliationRequested"
    assert 'id="reconciliation-runs"' in fragment.content.decode() and "<h1>" not in fragment.content.decode()
    assert ReconciliationRun.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(("typed", "message"), [("abc", "whole number of days"), ("0", "at least 1 day"),
                                                ("4000", "at most 366 days"), ("2.5", "whole number of days")])
def test_it_refuses_a_window_it_cannot_run_in_place_and_starts_nothing(client, typed, message):
    cast = make_cast()
    client.force_login(cast.integration_ops)
    url = reverse("reconciliation:runs")

    fragment = client.post(url, {"days": typed}, headers={"HX-Request": "true", "HX-Target": "reconciliation-runs"})
    assert fragment.status_code == 200 and fragment["HX-Retarget"] == "#reconciliation-form"
    body = fragment.content.decode()
    assert message in body and f'value="{typed}"' in body and "<h1>" not in body
    page = client.post(url, {"days": typed})
    assert page.status_code == 422 and message in page.content.decode()
    assert not ReconciliationRun.objects.exists()


@pytest.mark.django_db
def test_the_nightly_beat_asks_once_however_many_beats_fire(django_capture_on_commit_callbacks):
    with mock.patch.object(reconciliation_run, "delay") as sent, django_capture_on_commit_callbacks(execute=True):
        first = reconciliation_nightly()
        second = reconciliation_nightly()
    assert first == second
    runs = list(ReconciliationRun.objects.order_by("pk"))
    assert [r.erp_target for r in runs] == list(ports.ERP_TARGETS)  # one run per ERP target, not two
    for run in runs:
        assert run.requested_via == "beat" and (run.window_end - run.window_start).days == 29
    assert [c.args for c in sent.call_args_list] == [(r.pk,) for r in runs]


@pytest.mark.django_db
def test_a_reconciliation_finding_never_holds_a_blocked_handoff(django_capture_on_commit_callbacks):
    handoff = HandoffFactory(status="blocked")
    unmapped = SyncExceptionFactory(handoff=handoff)
    exception_open(handoff=handoff, type_code=ExceptionType.RECONCILIATION_DUPLICATE_ORDER,
                   fingerprint=handoff.opportunity_id, title="2 ERP orders for one deal", message="")

    with mock.patch.object(process_handoff, "delay") as sent, django_capture_on_commit_callbacks(execute=True):
        exception_resolve(exception=unmapped, actor=None, note="mapped")

    handoff.refresh_from_db()
    assert handoff.status == "validating"  # the last exception that blocks it is gone: validated again
    sent.assert_called_once_with(handoff.pk)
