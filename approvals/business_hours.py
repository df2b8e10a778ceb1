"""Business-hours arithmetic for the intervention window and the approval SLA.

A stand-in until the exception queues' calendar (issue 4) exists: Monday–Friday between
APPROVALS_BUSINESS_DAY_START and APPROVALS_BUSINESS_DAY_END o'clock in the hub's time zone,
no holidays.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone


def _bounds(day: datetime) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.combine(day.date(), time(settings.APPROVALS_BUSINESS_DAY_START), tzinfo=tz)
    end = datetime.combine(day.date(), time(settings.APPROVALS_BUSINESS_DAY_END), tzinfo=tz)
    return start, end


def business_add(start: datetime, minutes: int) -> datetime:
    """The moment `minutes` of business time after `start` (aware in, aware out)."""
    if timezone.is_naive(start):
        raise ValueError("business_add needs an aware datetime")
    current = timezone.localtime(start)
    remaining = timedelta(minutes=minutes)
    while True:
        open_at, close_at = _bounds(current)
        if current.weekday() >= 5 or current >= close_at:
            current = datetime.combine(current.date() + timedelta(days=1), time(0), tzinfo=current.tzinfo)
            continue
        current = max(current, open_at)
        if current + remaining <= close_at:
            return current + remaining
        remaining -= close_at - current
        current = close_at
