from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
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


@register.filter
def money(value: Any, currency: str = "") -> str:
    """Money the same way on every screen: grouped thousands, two decimals, the ISO currency after
    it ("125,000.00 USD"); "—" when there is no amount. A non-number is shown as it came."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    text = f"{number:,.2f}"
    return f"{text}\u00a0{currency}" if currency else text


ERP_NAMES = {"s4hana": "SAP", "netsuite": "NetSuite"}


@register.filter
def erp_name(target: str) -> str:
    """An ERP target as people name it: "SAP" for S/4HANA (the screens' word), "NetSuite"."""
    return ERP_NAMES.get(str(target or "s4hana"), str(target))
