"""The API's JSON shape, and the one validation every structured format (JSON, CSV) goes through.

    {"supplier": "<BP>", "invoice_number", "invoice_date": "YYYY-MM-DD", "currency",
     "payment_terms", "gross_amount",
     "lines": [{"purchase_order", "purchase_order_item", "material", "quantity", "unit_price"}]}

Required: supplier, invoice_number, invoice_date, currency, gross_amount, and at least one line
with purchase_order, purchase_order_item, quantity and unit_price. Optional (empty when absent,
still confidence 1: the sender stated nothing): payment_terms, a line's material and unit.
Every bad field is reported at once, each with its own sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rapidfuzz import fuzz, process

from .base import (
    HEADER_FIELDS,
    LINE_FIELDS,
    STRUCTURED,
    BadValue,
    ExtractedInvoice,
    ExtractedLine,
    Field,
    IntakeError,
    Problems,
    currency_code,
    plain_decimal,
    po_item,
    strict_amount,
    strict_date,
)

REQUIRED_HEADER = ("supplier", "invoice_number", "invoice_date", "currency", "gross_amount")
REQUIRED_LINE = ("purchase_order", "purchase_order_item", "quantity", "unit_price")
MAX_TEXT = 200  # no invoice field is longer; a longer one is a wrong column, not a value
MAX_LINES = 1000


def from_json(payload: Any) -> ExtractedInvoice:
    """The API's JSON invoice as an `ExtractedInvoice` (confidence 1), or IntakeError naming each bad field."""
    return from_mapping(payload, source="json")


def from_mapping(
    payload: Any,
    *,
    source: str,
    header_path: Callable[[str], str] = lambda name: name,
    line_path: Callable[[int, str], str] = lambda index, name: f"lines[{index}].{name}",
    line_numbers: list[int] | None = None,
    message: str = "the invoice has fields to correct",
) -> ExtractedInvoice:
    """Validate the JSON shape; `*_path` say how a bad field is named to the person (CSV names rows
    and columns, UBL its elements); `line_numbers` are the lines' own numbers (rows of a file)."""
    if not isinstance(payload, Mapping):
        raise IntakeError("the invoice must be a JSON object with supplier, invoice_number, … and lines")
    problems = Problems()
    header: dict[str, Field] = {}
    for name in HEADER_FIELDS:
        header[name] = _field(payload.get(name), name, header_path(name), source, problems,
                              required=name in REQUIRED_HEADER, hint=_near_miss(payload, name, HEADER_FIELDS))
    raw_lines = payload.get("lines")
    lines: list[ExtractedLine] = []
    lines_path = header_path("lines")
    if raw_lines is None:
        problems.add(lines_path, "is missing (an invoice needs at least one line)")
    elif not isinstance(raw_lines, list):
        problems.add(lines_path, "must be a list of lines")
    elif not raw_lines:
        problems.add(lines_path, "is empty (an invoice needs at least one line)")
    elif len(raw_lines) > MAX_LINES:
        problems.add(lines_path, f"has {len(raw_lines)} lines; at most {MAX_LINES} are accepted")
    else:
        for index, raw in enumerate(raw_lines):
            number = line_numbers[index] if line_numbers else index
            if not isinstance(raw, Mapping):
                problems.add(line_path(number, "*").removesuffix(".*"), "must be an object")
                continue
            values = {
                name: _field(raw.get(name), name, line_path(number, name), source, problems,
                             required=name in REQUIRED_LINE, hint=_near_miss(raw, name, LINE_FIELDS))
                for name in LINE_FIELDS
            }
            lines.append(ExtractedLine(**values))
    problems.raise_if_any(message)
    return ExtractedInvoice(
        format=source, supplier=header["supplier"], invoice_number=header["invoice_number"],
        invoice_date=header["invoice_date"], currency=header["currency"], payment_terms=header["payment_terms"],
        gross_amount=header["gross_amount"], lines=tuple(lines),
    )


def _near_miss(payload: Mapping[str, Any], name: str, known: tuple[str, ...]) -> str:
    """A key the sender wrote that is close to `name` and no known field ("invoice_numbr")."""
    unknown = [key for key in payload if isinstance(key, str) and key not in known and key != "lines"]
    match = process.extractOne(name, unknown, scorer=fuzz.ratio, score_cutoff=80) if unknown else None
    return f" (did you mean to send {match[0]!r} as {name!r}?)" if match else ""


def _field(raw: Any, name: str, path: str, source: str, problems: Problems, *, required: bool,
           hint: str = "") -> Field:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            problems.add(path, "is missing" + hint)
        return Field("", STRUCTURED, source)
    try:
        value = _normalise(name, raw)
    except BadValue as exc:
        problems.add(path, str(exc))
        return Field("", STRUCTURED, source)
    return Field(value, STRUCTURED, source)


def _normalise(name: str, raw: Any) -> str:
    if name in ("gross_amount", "unit_price", "quantity"):
        amount = strict_amount(raw)
        if name == "quantity" and amount <= 0:
            raise BadValue(f"must be more than 0 (got {plain_decimal(amount)})")
        if name == "unit_price" and amount < 0:
            raise BadValue(f"cannot be negative (got {plain_decimal(amount)}); send a credit memo instead")
        return plain_decimal(amount)
    if name == "invoice_date":
        return strict_date(raw).isoformat()
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise BadValue("must be text")
    text = str(raw).strip()
    if len(text) > MAX_TEXT:
        raise BadValue(f"is {len(text)} characters long; at most {MAX_TEXT}")
    if name == "currency":
        return currency_code(text)
    if name == "purchase_order_item":
        return po_item(text)
    if name in ("purchase_order", "unit", "payment_terms"):
        return text.upper() if name == "unit" else text
    return text
