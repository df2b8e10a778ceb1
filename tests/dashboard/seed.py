"""Handoffs as the dashboard sees them, put where a test wants them in time.

`created_at` / `first_seen` are set on insert by Django, so each helper writes the row and then
moves its timestamps with `update()`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from exceptions.models import CATALOGUE, ExceptionStatus, SyncException
from exceptions.services import queue_ensure
from integration_hub.models import Handoff, HandoffEvent, HandoffStatus, SyncAttempt, TransformationLog
from tests.factories import ORG_ID, opportunity_id

_serial = iter(range(10_000, 10_000_000))


def handoff_at(received: datetime, status: str = HandoffStatus.WRITTEN_BACK, *, ordered_after: float | None = None,
               actor: AbstractBaseUser | None = None, confidences: Iterable[float] = (),
               exceptions: Iterable[dict[str, Any]] = ()) -> Handoff:
    """A handoff received at `received`; `ordered_after` seconds later it reached `created`.
    `actor`: a person moved it once. `exceptions`: dicts of type_code (+ status, first_seen,
    amount, currency)."""
    handoff = Handoff.objects.create(org_id=ORG_ID, opportunity_id=opportunity_id(next(_serial)), status=status,
                                     source="webhook")
    Handoff.objects.filter(pk=handoff.pk).update(created_at=received)
    handoff.created_at = received
    events = [HandoffEvent(handoff=handoff, from_status="", to_status=HandoffStatus.RECEIVED, actor_label="webhook")]
    if actor is not None:
        events.append(HandoffEvent(handoff=handoff, from_status=HandoffStatus.AWAITING_APPROVAL,
                                   to_status=HandoffStatus.READY, actor=actor))
    if ordered_after is not None:
        events.append(HandoffEvent(handoff=handoff, from_status=HandoffStatus.CREATING,
                                   to_status=HandoffStatus.CREATED, actor_label="worker"))
    made = HandoffEvent.objects.bulk_create(events)
    HandoffEvent.objects.filter(pk__in=[e.pk for e in made]).update(created_at=received)
    if ordered_after is not None:
        HandoffEvent.objects.filter(pk=made[-1].pk).update(created_at=received + timedelta(seconds=ordered_after))
    logs = TransformationLog.objects.bulk_create([
        TransformationLog(handoff=handoff, field_path=f"transaction.line_item[{i}].material", rule="crosswalk",
                          confidence=Decimal(str(c))) for i, c in enumerate(confidences)])
    del logs
    for n, spec in enumerate(exceptions):
        exception_on(handoff, n=n, **spec)
    return handoff


def exception_on(handoff: Handoff, *, type_code: str, n: int = 0, status: str = ExceptionStatus.RESOLVED,
                 first_seen: datetime | None = None, amount: Decimal | int | None = None,
                 currency: str = "USD") -> SyncException:
    exception = SyncException.objects.create(
        handoff=handoff, type_code=type_code, queue=queue_ensure(slug=CATALOGUE[type_code].queue_slug),
        status=status, title=f"{type_code} on {handoff.opportunity_id}", fingerprint=f"{type_code}:{handoff.pk}:{n}",
        amount=None if amount is None else Decimal(amount), currency=currency if amount is not None else "")
    SyncException.objects.filter(pk=exception.pk).update(first_seen=first_seen or handoff.created_at)
    exception.refresh_from_db()
    return exception


def attempt_at(when: datetime, *, system: str, url: str, ok: bool = True, error_class: str = "",
               headers: dict[str, str] | None = None) -> SyncAttempt:
    attempt = SyncAttempt.objects.create(system=system, operation="test", method="GET", url=url, ok=ok,
                                         status_code=200 if ok else 503, error_class=error_class,
                                         response={"headers": headers or {}, "body": None})
    SyncAttempt.objects.filter(pk=attempt.pk).update(created_at=when)
    return attempt


# -- a realistic few hundred deals over twelve weeks (browser screenshot, bench) ------------------------
HOLDING = ["customer_not_found", "pricing_mismatch", "product_not_mapped", "address_invalid",
           "missing_required_field", "credit_check_failed", "sap_creation_error"]
SAP = "https://my123456-api.s4hana.cloud.sap/sap/opu/odata/sap/"


def seed_realistic(*, now: datetime, deals: int = 400, seed: int = 11, actor: AbstractBaseUser | None = None,
                   attempts_per_day: int = 20) -> None:
    """`deals` handoffs spread over 84 days, improving over time (fewer exceptions, faster orders),
    with open exceptions in several queues and currencies, and two weeks of sync attempts."""
    rng = random.Random(seed)
    for _ in range(deals):
        age_days = rng.uniform(0, 83.9)
        received = now - timedelta(days=age_days)
        trouble = 0.35 - 0.25 * (1 - age_days / 84)  # better lately
        open_now = age_days < 6 and rng.random() < 0.4
        if open_now and rng.random() < 0.5:
            # Half the open work came in today: fresh exceptions, most of their SLA ahead.
            age_days = rng.uniform(0, 0.3)
            received = now - timedelta(days=age_days)
        if open_now:
            code = rng.choice(HOLDING)
            amount = rng.choice([8_000, 25_000, 60_000, 140_000, 320_000])
            currency = rng.choice(["USD", "USD", "USD", "EUR", "GBP"])
            # Raised at most a day after the deal came in, some of them within the queue's SLA still.
            first_seen = min(received + timedelta(hours=rng.uniform(0, 24)), now - timedelta(minutes=5))
            handoff_at(received, HandoffStatus.BLOCKED, confidences=[rng.uniform(0.6, 1.0) for _ in range(5)],
                       exceptions=[{"type_code": code, "status": ExceptionStatus.OPEN, "amount": amount,
                                    "currency": currency, "first_seen": first_seen}])
            continue
        troubled = rng.random() < trouble
        latency = rng.lognormvariate(3.6, 0.6) if not troubled else rng.uniform(600, 30_000)
        specs = ([{"type_code": rng.choice(HOLDING)}] if troubled else [])
        status = HandoffStatus.WRITTEN_BACK if rng.random() > 0.04 else HandoffStatus.CANCELLED
        handoff_at(received, status, ordered_after=latency if status != HandoffStatus.CANCELLED else None,
                   actor=actor if troubled and rng.random() < 0.3 else None,
                   confidences=[min(1.0, rng.uniform(0.82, 1.05)) for _ in range(6)], exceptions=specs)
    rows = []
    for day in range(14):
        base = now - timedelta(days=day)
        for n in range(attempts_per_day):
            rows.append(SyncAttempt(system="salesforce", operation="query", method="GET",
                                    url="https://acme.my.salesforce.com/services/data/v59.0/query", ok=n % 17 != 0,
                                    response={"headers": {"Sforce-Limit-Info": f"api-usage={2000 + day}/15000"}}))
            service = rng.choice(["API_SALES_ORDER_SRV", "API_BUSINESS_PARTNER", "API_SALES_ORDER_SIMULATION_SRV",
                                  "API_PRODUCT_SRV"])
            rows.append(SyncAttempt(system="sap", operation="read", method="GET", url=f"{SAP}{service}/A_Entity",
                                    ok=n % 13 != 0, error_class="" if n % 13 else "ServiceUnavailable"))
        made = SyncAttempt.objects.bulk_create(rows)
        SyncAttempt.objects.filter(pk__in=[r.pk for r in made]).update(created_at=base - timedelta(minutes=day))
        rows = []
