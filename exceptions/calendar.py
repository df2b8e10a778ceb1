"""Business-hours arithmetic on a calendar (time zone, working weekdays, daily hours, holidays).

`business_add`, `business_subtract` and `business_elapsed` are pure: they read only the calendar's fields
(`time_zone`, `weekdays`, `day_start`, `day_end`, `holidays`), so any object carrying those works —
a `BusinessCalendar` row or a `CalendarSpec`. Arithmetic happens in UTC; each working day's
window is built in the calendar's zone, so a DST change moves the window, not the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from exceptions.models import DEFAULT_CALENDAR_NAME, BusinessCalendar

__all__ = ["BusinessCalendar", "CalendarSpec", "business_add", "business_elapsed", "business_subtract",
           "calendar_default", "calendar_for_queue"]

# Ten years of days: a calendar with no working time at all fails loudly instead of looping.
_MAX_DAYS = 3660


class CalendarLike(Protocol):
    time_zone: str
    weekdays: Any
    day_start: Any
    day_end: Any
    holidays: Any


@dataclass(frozen=True)
class CalendarSpec:
    time_zone: str = "UTC"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    day_start: time = time(9)
    day_end: time = time(17)
    holidays: tuple[date, ...] = field(default_factory=tuple)


def _time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def _dates(values: Iterable[Any]) -> frozenset[date]:
    return frozenset(v if isinstance(v, date) else date.fromisoformat(str(v)) for v in values or ())


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _windows(calendar: CalendarLike, start: datetime, *, step: int = 1) -> Iterator[tuple[datetime, datetime]]:
    """Working windows (UTC start, UTC end), day by day from the local day of `start`: forwards,
    or backwards with `step=-1`."""
    zone = ZoneInfo(calendar.time_zone or "UTC")
    weekdays = {int(d) for d in calendar.weekdays or ()}
    holidays = _dates(calendar.holidays)
    opens, closes = _time(calendar.day_start), _time(calendar.day_end)
    if not weekdays or closes <= opens:
        raise ValueError(f"calendar {getattr(calendar, 'name', '')!r} has no working time")
    day = start.astimezone(zone).date()
    for _ in range(_MAX_DAYS):
        if day.weekday() in weekdays and day not in holidays:
            yield (datetime.combine(day, opens, zone).astimezone(UTC),
                   datetime.combine(day, closes, zone).astimezone(UTC))
        day += timedelta(days=step)
    raise ValueError("no working time within ten years")


def business_subtract(calendar: CalendarLike, end: datetime, duration: timedelta) -> datetime:
    """The latest moment with `duration` of working time between it and `end` (UTC): whatever
    started at or before it has been open that long in business hours. Zero → `end` itself."""
    cursor = _aware(end, "end")
    remaining = duration
    if remaining <= timedelta(0):
        return cursor
    for opens, closes in _windows(calendar, cursor, step=-1):
        cursor = min(cursor, closes)
        if cursor <= opens:
            continue
        available = cursor - opens
        if remaining <= available:
            return cursor - remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover


def business_add(calendar: CalendarLike, start: datetime, duration: timedelta) -> datetime:
    """The moment `duration` of working time after `start` (UTC). Zero → `start` itself."""
    cursor = _aware(start, "start")
    remaining = duration
    if remaining <= timedelta(0):
        return cursor
    for opens, closes in _windows(calendar, cursor):
        cursor = max(cursor, opens)
        if cursor >= closes:
            continue
        available = closes - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover


def business_elapsed(calendar: CalendarLike, start: datetime, end: datetime) -> timedelta:
    """Working time between `start` and `end` (zero when `end` is not after `start`)."""
    begin, finish = _aware(start, "start"), _aware(end, "end")
    total = timedelta(0)
    if finish <= begin:
        return total
    for opens, closes in _windows(calendar, begin):
        if opens >= finish:
            break
        overlap = min(closes, finish) - max(opens, begin)
        if overlap > timedelta(0):
            total += overlap
    return total


def calendar_default() -> BusinessCalendar:
    """The seeded default calendar (re-created if a test flush removed it)."""
    calendar, _ = BusinessCalendar.objects.get_or_create(name=DEFAULT_CALENDAR_NAME)
    return calendar


def calendar_for_queue(queue: Any) -> BusinessCalendar:
    return queue.calendar if getattr(queue, "calendar_id", None) else calendar_default()
