"""Snooze until a condition: each condition wakes the exception (and re-checks its deal) once it
holds and not before; a time snooze wakes at its time and returns to the list; nothing sleeps
past the horizon; a condition the type cannot wait for is refused with what it may wait for."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from crosswalks.models import CustomerMapping, ProductMapping
from exceptions.errors import ResolutionError
from exceptions.models import ExceptionType, SyncException
from exceptions.selectors import exception_list
from exceptions.snooze import CONDITION_HORIZON, exception_snooze_until, next_monday_nine, snooze_sweep
from tests.factories import ORG_ID, Cast, SyncExceptionFactory

pytestmark = pytest.mark.django_db


def _history(exception: SyncException) -> str:
    return " | ".join(exception.events.order_by("pk").values_list("reason", flat=True))


def _listed(user: Any, exception: SyncException) -> bool:
    """Whether the list (which leaves snoozed ones out) shows it."""
    return exception_list(user=user, queue=exception.queue, status="open", include_snoozed=False).filter(pk=exception.pk).exists()


def test_it_wakes_a_product_snooze_once_the_product_is_mapped_and_rechecks_the_deal(
    cast: Cast, enqueued: list[int], django_capture_on_commit_callbacks: Any,
) -> None:
    waiting = SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, evidence={"product_code": "NB-1"})
    exception_snooze_until(exception=waiting, actor=cast.product_ops, condition="product_mapped")
    assert not _listed(cast.product_ops, waiting)
    assert snooze_sweep() == 0

    # Mapped where no unblock ran (the demo seed, an old import): only the snooze notices.
    ProductMapping.objects.create(crm_product_code="nb-1", crm_product_name="New bundle", active=False)
    assert snooze_sweep() == 0  # an inactive row maps nothing
    ProductMapping.objects.filter(crm_product_code="nb-1").update(active=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert snooze_sweep() == 1

    waiting.refresh_from_db()
    assert waiting.status == "resolved"  # re-checked: validation runs again and says what is still wrong
    assert (waiting.snooze_condition, waiting.snoozed_until) == ("", None)
    assert "woken up: this product is mapped (NB-1)" in _history(waiting)
    assert enqueued == [waiting.handoff_id]
    assert snooze_sweep() == 0


def test_it_wakes_a_customer_snooze_once_the_business_partner_is_known(
    cast: Cast, enqueued: list[int], django_capture_on_commit_callbacks: Any,
) -> None:
    waiting = SyncExceptionFactory(type_code=ExceptionType.CUSTOMER_NOT_FOUND, fingerprint="customer_not_found:A1",
                                   evidence={"account": "001A1", "account_name": "Ajax North Corp."})
    exception_snooze_until(exception=waiting, actor=cast.master_data_steward, condition="partner_exists")
    assert snooze_sweep() == 0
    CustomerMapping.objects.create(org_id="another org", crm_account_id="001A1", sap_business_partner="1000001")
    assert snooze_sweep() == 0  # the same account id in another org is another customer

    CustomerMapping.objects.create(org_id=ORG_ID, crm_account_id="001A1", sap_business_partner="1000001")
    with django_capture_on_commit_callbacks(execute=True):
        assert snooze_sweep() == 1
    assert SyncException.objects.get(pk=waiting.pk).status == "resolved"
    assert enqueued == [waiting.handoff_id]


def test_it_wakes_a_time_snooze_at_its_time_and_puts_it_back_in_the_list(cast: Cast, enqueued: list[int]) -> None:
    now = timezone.now()
    waiting = SyncExceptionFactory(type_code=ExceptionType.CREDIT_CHECK_FAILED, fingerprint="credit:T1")
    until = now + timedelta(hours=3)
    exception_snooze_until(exception=waiting, actor=cast.credit_manager, condition="time", until=until, now=now)
    assert not _listed(cast.credit_manager, waiting)

    assert snooze_sweep(now=until - timedelta(seconds=1)) == 0
    assert snooze_sweep(now=until) == 1

    waiting.refresh_from_db()
    assert waiting.status == "open"  # a time snooze only brings it back: nothing is re-run
    assert waiting.snoozed_until is None
    assert _listed(cast.credit_manager, waiting)
    assert "woken up: the snooze time came" in _history(waiting)
    assert enqueued == []


def test_it_wakes_a_condition_that_never_held_at_the_horizon_without_rerunning(cast: Cast, enqueued: list[int]) -> None:
    now = timezone.now()
    waiting = SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, evidence={"product_code": "NEVER"})
    exception_snooze_until(exception=waiting, actor=cast.product_ops, condition="product_mapped", now=now)

    assert snooze_sweep(now=now + CONDITION_HORIZON - timedelta(minutes=1)) == 0
    assert snooze_sweep(now=now + CONDITION_HORIZON) == 1
    waiting.refresh_from_db()
    assert waiting.status == "open" and waiting.snooze_condition == ""
    assert enqueued == []


def test_it_refuses_what_an_exception_cannot_wait_for(cast: Cast) -> None:
    now = timezone.now()
    credit = SyncExceptionFactory(type_code=ExceptionType.CREDIT_CHECK_FAILED, fingerprint="credit:R1")
    with pytest.raises(ResolutionError, match="choose what to wait for: until a time"):
        exception_snooze_until(exception=credit, actor=cast.credit_manager, condition="product_mapped")
    with pytest.raises(ResolutionError, match="in the future"):
        exception_snooze_until(exception=credit, actor=cast.credit_manager, condition="time",
                               until=now - timedelta(minutes=1), now=now)
    with pytest.raises(ResolutionError, match="at most a year"):
        exception_snooze_until(exception=credit, actor=cast.credit_manager, condition="time",
                               until=now + timedelta(days=400), now=now)
    nameless = SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, evidence={})
    with pytest.raises(ResolutionError, match="names nothing to wait for"):
        exception_snooze_until(exception=nameless, actor=cast.product_ops, condition="product_mapped")
    credit.refresh_from_db()
    assert credit.snoozed_until is None and not credit.events.filter(kind="snooze").exists()


def test_it_suggests_next_monday_at_nine() -> None:
    wednesday = timezone.make_aware(timezone.datetime(2026, 12, 2, 15, 0))
    monday = timezone.make_aware(timezone.datetime(2026, 12, 7, 10, 0))
    assert timezone.localtime(next_monday_nine(now=wednesday)).strftime("%a %d %H:%M") == "Mon 07 09:00"
    assert timezone.localtime(next_monday_nine(now=monday)).strftime("%a %d %H:%M") == "Mon 14 09:00"
