"""What every intake format produces: fields with a confidence, lines, and the one error a person reads.

The value normalisers live here too, so every format writes a date, an amount or a PO item the
same way (ISO dates, plain decimals with a '.', items without leading zeros, upper-case
currencies), and the hub compares like with like whatever the file was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from integration_hub.errors import DomainError

# Confidence of a value by where it came from: a structured format (JSON, CSV, UBL) states each field;
# a text layer states it under a label we recognised exactly or nearly (labels.py); OCR multiplies
# the label's by tesseract's word confidence.
STRUCTURED = 1.0
TEXT_EXACT_LABEL = 0.9
TEXT_FUZZY_LABEL = 0.6
NOT_FOUND = 0.0


@dataclass(frozen=True)
class Field:
    """One extracted value with its confidence 0..1; value "" and confidence 0 when not found."""

    value: str
    confidence: float
    source: str = ""

    @classmethod
    def missing(cls, source: str) -> Field:
        return cls("", NOT_FOUND, source)


@dataclass(frozen=True)
class ExtractedLine:
    purchase_order: Field
    purchase_order_item: Field
    material: Field
    quantity: Field
    unit_price: Field
    unit: Field  # may be "" (then matching assumes the PO item's unit)


@dataclass(frozen=True)
class ExtractedInvoice:
    format: str  # "json" | "csv" | "ubl" | "pdf" | "docx" | "ocr"
    supplier: Field
    invoice_number: Field
    invoice_date: Field  # ISO YYYY-MM-DD once normalised
    currency: Field
    payment_terms: Field
    gross_amount: Field
    lines: tuple[ExtractedLine, ...]
    text: str = ""  # the document text shown beside the fields (PDF/DOCX/OCR)


HEADER_FIELDS = ("supplier", "invoice_number", "invoice_date", "currency", "payment_terms", "gross_amount")
LINE_FIELDS = ("purchase_order", "purchase_order_item", "material", "quantity", "unit_price", "unit")


class IntakeError(DomainError):
    """A file or payload the hub cannot read as an invoice: said so a person can fix it.

    `message` is one sentence; `field_errors` maps a field path ("invoice_date",
    "lines[1].quantity", "row 3, column quantity") to what is wrong with it, and `details` lists
    the same as sentences (for the API's error body and the upload screen).
    """

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None) -> None:
        errors = dict(field_errors or {})
        super().__init__(message, code="ap_intake", details=[f"{path}: {text}" for path, text in errors.items()])
        self.field_errors = errors

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return f"{self.message}: " + "; ".join(self.details)


# -- normalisers -------------------------------------------------------------------------------
class BadValue(ValueError):
    """A value a normaliser refuses; its text is the person-readable reason (no field name)."""


_STRICT_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def plain_decimal(value: Decimal) -> str:
    """`Decimal` as plain text, as written (no exponent): "12.50", "100", "0.125"."""
    return format(value, "f")


def strict_amount(raw: object) -> Decimal:
    """A number as an API client sends it: a JSON number or a string of digits with a '.' decimal point."""
    if isinstance(raw, bool) or raw is None:
        raise BadValue("is not a number")
    if isinstance(raw, int | float):
        value = Decimal(str(raw))
    elif isinstance(raw, str):
        text = raw.strip()
        if not _STRICT_NUMBER.match(text):
            raise BadValue(f"{raw!r} is not a number (write digits with a '.' decimal point, e.g. 1234.50)")
        value = Decimal(text)
    else:
        raise BadValue("is not a number")
    if not value.is_finite():
        raise BadValue("is not a finite number")
    return value


_CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}
_AMOUNT_CHARS = re.compile(r"^[+-]?[\d.,'\u00a0 ]+$")


def document_amount(raw: str) -> Decimal:
    """An amount as a document prints it: "1,234.50", "1.234,50", "1 234,50", "EUR 99", "$12".

    Rules (the same for every document format): currency codes and signs around the number are
    dropped; spaces, no-break spaces and apostrophes group thousands; when both '.' and ',' occur
    the last of them is the decimal mark; a single kind of mark that repeats ("1,234,567") or is
    followed by exactly three digits after a non-zero whole part ("1,234", "1.234") groups
    thousands; otherwise it is the decimal mark ("12,50" -> 12.50, "0,125" -> 0.125).
    """
    text = raw.strip()
    for sign in _CURRENCY_SIGNS:
        text = text.replace(sign, "")
    text = re.sub(r"^[A-Za-z]{3}\s*|\s*[A-Za-z]{3}$", "", text).strip()
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()").strip()
    if not text or not _AMOUNT_CHARS.match(text):
        raise BadValue(f"{raw!r} is not an amount")
    text = re.sub(r"[\u00a0 ']", "", text)
    sign = ""
    if text[0] in "+-":
        sign, text = text[0], text[1:]
    if "." in text and "," in text:
        decimal_mark = "." if text.rfind(".") > text.rfind(",") else ","
        group_mark = "," if decimal_mark == "." else "."
        text = text.replace(group_mark, "").replace(decimal_mark, ".")
    elif "," in text or "." in text:
        mark = "," if "," in text else "."
        parts = text.split(mark)
        if len(parts) > 2 or (len(parts[-1]) == 3 and parts[0] not in ("", "0")):
            if not all(len(p) == 3 for p in parts[1:]):
                raise BadValue(f"{raw!r} is not an amount")
            text = "".join(parts)
        else:
            text = text.replace(",", ".")
    try:
        value = Decimal(sign + text)
    except InvalidOperation as exc:
        raise BadValue(f"{raw!r} is not an amount") from exc
    return -value if negative else value


def strict_date(raw: object) -> date:
    """A date as an API client sends it: ISO YYYY-MM-DD, and a real day."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise BadValue(f"{raw!r} is not a date (write YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadValue(f"{raw!r} is not a date in the calendar") from exc


_DATE_FORMATS_UNAMBIGUOUS = (
    "%Y-%m-%d", "%d.%m.%Y", "%d. %m. %Y", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y",
    "%b %d %Y", "%d-%b-%Y", "%d %b. %Y", "%Y/%m/%d", "%Y%m%d",
)


def document_date(raw: str) -> tuple[date, bool]:
    """A date as a document prints it; returns (date, ambiguous).

    ISO, "02.12.2026", "2 December 2026", "Dec 2, 2026", "2026/12/02" are read as written. A
    slashed "02/12/2026" is read day first (as European vendors write it) unless that is
    impossible ("12/31/2026" is month first); when both readings are valid dates the result is
    flagged ambiguous so the caller lowers its confidence and a person confirms it.
    """
    text = re.sub(r"\s+", " ", raw.strip().rstrip("."))
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    for fmt in _DATE_FORMATS_UNAMBIGUOUS:
        try:
            return datetime.strptime(text, fmt).date(), False  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    match = re.fullmatch(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4})", text)
    if match:
        first, second, year = (int(g) for g in match.groups())
        day_first = _valid(year, second, first)
        month_first = _valid(year, first, second)
        if day_first and month_first:
            return day_first, first != second
        if day_first or month_first:
            return (day_first or month_first), False  # type: ignore[return-value]
    raise BadValue(f"{raw!r} is not a date")


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def po_item(raw: str) -> str:
    """A PO item number without leading zeros ("00010" -> "10"); SAP's adapter pads it again."""
    text = raw.strip()
    if not text.isdigit():
        raise BadValue(f"{raw!r} is not a PO item number (digits, e.g. 10)")
    return text.lstrip("0") or "0"


def currency_code(raw: str) -> str:
    text = raw.strip().upper()
    text = _CURRENCY_SIGNS.get(text, text)
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise BadValue(f"{raw!r} is not a currency code (three letters, e.g. EUR)")
    return text


@dataclass
class Problems:
    """Collects one message per bad field, so a person sees every mistake at once."""

    errors: dict[str, str] = field(default_factory=dict)

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def raise_if_any(self, message: str) -> None:
        if self.errors:
            raise IntakeError(message, field_errors=self.errors)
