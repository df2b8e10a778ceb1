"""A circuit breaker per ERP target, shared by every worker through its database row.

When an ERP is down, every handoff retrying on its own would hammer it (each with its backoff,
a hundred handoffs still make a hundred calls a minute) and burn its attempts until it fails.
Instead, failures that say the system is down (`ServiceUnavailable`: 503, refused connections,
no answer; `AmbiguousOutcome`: a timeout) are counted per target:

- **closed**: calls go through; HUB_BREAKER_FAILURE_THRESHOLD failures in a row open it;
- **open**: nobody calls; handoffs are parked (not failed: their attempts do not count) until
  `retry_at`, a cool-down that doubles with each trip up to HUB_BREAKER_COOLDOWN_MAX_SECONDS;
- **half-open**: after the cool-down one worker wins the probe (compare-and-swap); its success
  closes the breaker and wakes the parked handoffs, its failure opens it again for longer.

Every transition is one conditional UPDATE, so two workers never both probe and a success
racing a failure leaves one consistent state. The triage overview and `/metrics` show it.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Q
from django.utils import timezone

from integration_hub.errors import AmbiguousOutcome, HubError, ServiceUnavailable
from integration_hub.models import WORKABLE_STATUSES, BreakerState, CircuitBreaker, Handoff

logger = logging.getLogger(__name__)

# How a parked handoff's `last_error` starts: the breaker wakes exactly these when it closes.
PARKED = "ERP unavailable (circuit open)"


@dataclass(frozen=True)
class Gate:
    """The breaker's answer for one step: go ahead (perhaps as the probe) or wait until `retry_at`."""

    allowed: bool
    state: str = BreakerState.CLOSED
    probe: bool = False
    failures: int = 0
    retry_at: datetime | None = None


def breaker_is_down_error(error: HubError) -> bool:
    """Whether an error says the system itself is down (rather than this request being wrong)."""
    return isinstance(error, ServiceUnavailable | AmbiguousOutcome)


def _cooldown(trips: int) -> timedelta:
    base = settings.HUB_BREAKER_COOLDOWN_SECONDS
    return timedelta(seconds=min(settings.HUB_BREAKER_COOLDOWN_MAX_SECONDS, base * 2 ** max(0, trips - 1)))


def breaker_gate(*, target: str, worker: str, now: datetime | None = None) -> Gate:
    """May this worker call the target now? An expired cool-down is claimed as the probe by
    exactly one worker; a probe whose worker vanished (past the claim lease) is taken over."""
    now = now or timezone.now()
    row = CircuitBreaker.objects.filter(target=target).first()
    if row is None or row.state == BreakerState.CLOSED:
        return Gate(True, failures=row.failures if row else 0)
    if row.state == BreakerState.OPEN and row.retry_at and row.retry_at > now:
        return Gate(False, state=row.state, retry_at=row.retry_at)
    stale_probe = now - timedelta(seconds=settings.HUB_CLAIM_LEASE_SECONDS)
    won = (CircuitBreaker.objects.filter(pk=row.pk)
           .filter(Q(state=BreakerState.OPEN, retry_at__lte=now)
                   | Q(state=BreakerState.HALF_OPEN, updated_at__lt=stale_probe))
           .update(state=BreakerState.HALF_OPEN, probe_by=worker, updated_at=now))
    if won:
        logger.info("circuit breaker %s half-open: %s probes", target, worker)
        return Gate(True, state=BreakerState.HALF_OPEN, probe=True)
    # Someone else is probing: look again after a short while.
    return Gate(False, state=BreakerState.HALF_OPEN,
                retry_at=now + timedelta(seconds=min(settings.HUB_BREAKER_COOLDOWN_SECONDS, 10)))


def breaker_success(*, target: str, gate: Gate) -> bool:
    """The target answered. Closes the breaker after a probe (returns True then: the caller
    wakes the parked handoffs) and resets a count of failures; writes nothing when all was well."""
    if gate.probe:
        closed = CircuitBreaker.objects.filter(target=target).exclude(state=BreakerState.CLOSED).update(
            state=BreakerState.CLOSED, failures=0, trips=0, retry_at=None, probe_by="", last_error="")
        if closed:
            logger.warning("circuit breaker %s closed: the probe succeeded", target)
        return bool(closed)
    if gate.failures:
        CircuitBreaker.objects.filter(target=target, state=BreakerState.CLOSED).update(failures=0)
    return False


def breaker_failure(*, target: str, error: HubError, gate: Gate, now: datetime | None = None) -> Gate:
    """Count a down-error; returns the gate the caller is under now (not allowed when open)."""
    now = now or timezone.now()
    text = str(error)[:1000]
    CircuitBreaker.objects.get_or_create(target=target)
    if gate.probe:
        row = CircuitBreaker.objects.get(target=target)
        retry_at = now + _cooldown(row.trips + 1)
        CircuitBreaker.objects.filter(target=target, state=BreakerState.HALF_OPEN).update(
            state=BreakerState.OPEN, retry_at=retry_at, trips=F("trips") + 1, probe_by="", last_error=text)
        logger.warning("circuit breaker %s open again until %s: the probe failed: %s", target, retry_at, text)
        return Gate(False, state=BreakerState.OPEN, retry_at=retry_at)
    CircuitBreaker.objects.filter(target=target, state=BreakerState.CLOSED).update(
        failures=F("failures") + 1, last_error=text)
    retry_at = now + _cooldown(1)
    tripped = CircuitBreaker.objects.filter(
        target=target, state=BreakerState.CLOSED, failures__gte=settings.HUB_BREAKER_FAILURE_THRESHOLD,
    ).update(state=BreakerState.OPEN, opened_at=now, retry_at=retry_at, trips=1)
    if tripped:
        logger.warning("circuit breaker %s open until %s after %d failures in a row: %s", target, retry_at,
                       settings.HUB_BREAKER_FAILURE_THRESHOLD, text)
    row = CircuitBreaker.objects.get(target=target)
    if row.state == BreakerState.CLOSED:
        return Gate(True, failures=row.failures)
    return Gate(False, state=row.state, retry_at=row.retry_at or retry_at)


def parked_until(gate: Gate) -> datetime:
    """When a parked handoff looks again: the end of the cool-down plus jitter, so that a backlog
    does not stampede the system the moment it is back."""
    base = gate.retry_at or timezone.now()
    spread = min(settings.HUB_BREAKER_COOLDOWN_SECONDS, 5.0)
    return base + timedelta(seconds=random.uniform(0.0, spread))


@dataclass(frozen=True)
class BreakerView:
    """What the triage overview and `/metrics` show of one breaker."""

    target: str
    state: str
    label: str
    opened_at: datetime | None
    retry_at: datetime | None
    parked: int
    last_error: str


def breakers_list(*, tripped_only: bool = False) -> list[BreakerView]:
    """Every ERP target's breaker (or only those not closed), with the handoffs parked behind it."""
    rows = CircuitBreaker.objects.order_by("target")
    if tripped_only:
        rows = rows.exclude(state=BreakerState.CLOSED)
    parked = dict(Handoff.objects.filter(status__in=WORKABLE_STATUSES, last_error__startswith=PARKED)
                  .values("erp_target").annotate(n=Count("pk")).values_list("erp_target", "n"))
    return [BreakerView(row.target, row.state, BreakerState(row.state).label, row.opened_at, row.retry_at,
                        parked.get(row.target, 0), row.last_error) for row in rows]
