from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def duration_minutes(value: timedelta | None) -> int:
    """Whole minutes of a duration (the sign-in lockout's cool-off), rounded up."""
    if value is None:
        return 0
    return -(-int(value.total_seconds()) // 60)


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


@register.filter
def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min" if value < 7200 else f"{value / 3600:.1f} h"


@register.filter
def pct_width(value: float | None) -> str:
    """A ratio as a CSS width percentage, clamped to 0–100 (a bar never spills out of its cell)."""
    return f"{min(max(value or 0.0, 0.0), 1.0) * 100:.1f}"


@register.filter
def get_item(mapping: dict[str, Any] | None, key: str) -> Any:
    return (mapping or {}).get(key, 0)


@register.filter
def break_underscores(value: str) -> SafeString:
    """A long wire name (API_SALES_ORDER_SIMULATION_SRV) that may wrap at its underscores only."""
    return mark_safe(str(escape(value)).replace("_", "_<wbr>"))  # noqa: S308 - escaped just above
