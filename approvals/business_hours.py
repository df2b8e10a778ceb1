"""Business-hours arithmetic for the intervention window and the approval SLA.

Approvals count time on the same calendar as the exception queues (`exceptions.calendar`):
the seeded default calendar (time zone, working days and hours, holidays), editable in the admin.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from exceptions.calendar import business_add as calendar_add
from exceptions.calendar import calendar_default


def business_add(start: datetime, minutes: int) -> datetime:
    """The moment `minutes` of business time after `start` (aware in, aware out)."""
    return calendar_add(calendar_default(), start, timedelta(minutes=minutes))
