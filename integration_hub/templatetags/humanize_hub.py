from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


@register.filter
def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


@register.filter
def pct_width(value: float | None) -> str:
    """A ratio as a CSS width percentage, clamped to 0–100 (a bar never spills out of its cell)."""
    return f"{min(max(value or 0.0, 0.0), 1.0) * 100:.1f}"


@register.filter
def get_item(mapping: dict[str, Any] | None, key: str) -> Any:
    return (mapping or {}).get(key, 0)
