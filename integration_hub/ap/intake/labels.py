"""Labelled fields and the line table of a text document (PDF text layer, DOCX, OCR), by fixed rules.

A document arrives as lines of tokens (words of a text line, or cells of a Word table row), each
token with the confidence its reader gives it (1 for a text layer, tesseract's word confidence
for a scan). The rules:

Header fields — "Label: value" or "Label value":
- A label is one of LABELS below, compared ignoring case and a trailing ':' (or OCR's ';') or
  '.'. Several pairs may share a line ("Invoice number: INV-1   Date: 2026-11-30"): a label
  after the first token must end with ':' to count. A line that is only a label takes its value from the next line.
- A label that is not in the list but ends with ':' and is within rapidfuzz ratio 85 of one that
  is ("Invoice numbr:", OCR's "lnvoice number:") counts as a fuzzy match.
- A label without a colon counts only at the start of a line, and not when the next words run
  into a colon that ends no known label ("Total net: 1,090.00" is the label "Total net", which
  is no field; "Invoice number INV-1  Date: 2026-11-30" is two pairs).
- The first occurrence of a field whose value reads as its kind wins. Lines of a line table are
  never read as labels.
- Confidence = 0.9 for an exact label, 0.6 for a fuzzy one, times the lowest confidence of the
  value's tokens; a date readable two ways ("03/04/2026") is capped at 0.5; a value that does
  not normalise (no date, no amount) and a field not found are "" with confidence 0.
- supplier: the first token when it holds a digit (the vendor's account number with us, e.g.
  "Supplier: 17300001 Acme GmbH"), else the whole value at half confidence (a name, to confirm).
- invoice_number: the value as written when it has up to three words ("inv 123"), else its
  first word at half confidence; the header PO: its first word. currency: a three-letter code or sign;
  without a Currency label, the code or sign written beside the total, at 0.9 of its confidence.

The line table — a row whose tokens are all column labels (COLUMNS below) and that names at
least quantity and unit price, and a PO or an item, starts a table; where the labels read more
than one way ("Unit Price" is one column, or "Unit" and "Price"), the first reading, longest
labels first, that fits the row below wins. Each following row with one token per column is a line (a Description
column takes the extra words, so descriptions may hold spaces); the table ends at the first row
that does not fit or whose quantity and price are not numbers. Lines without a PO column take the
header's PO. Amount/total columns are read past (the hub computes the line amount itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .base import (
    NOT_FOUND,
    TEXT_EXACT_LABEL,
    TEXT_FUZZY_LABEL,
    BadValue,
    ExtractedInvoice,
    ExtractedLine,
    Field,
    currency_code,
    document_amount,
    document_date,
    plain_decimal,
    po_item,
)

FUZZY_CUTOFF = 85
AMBIGUOUS_DATE_CAP = 0.5
NAME_ONLY_FACTOR = 0.5
CURRENCY_FROM_TOTAL_FACTOR = 0.9
MAX_LABEL_WORDS = 4
MAX_HEADER_READINGS = 16
MAX_NUMBER_WORDS = 3

LABELS: dict[str, tuple[str, ...]] = {
    "invoice_number": ("invoice number", "invoice no", "invoice nr", "invoice #", "invoice#", "invoice id",
                       "invoice reference", "invoice ref", "rechnungsnummer", "rechnung nr"),
    "invoice_date": ("invoice date", "date", "date of issue", "issue date", "rechnungsdatum", "datum"),
    "supplier": ("supplier", "supplier number", "supplier no", "supplier id", "supplier account",
                 "vendor", "vendor number", "vendor no", "vendor id", "lieferant", "lieferantennummer"),
    "purchase_order": ("po", "po number", "po no", "po #", "po#", "purchase order", "purchase order number",
                       "order number", "your order", "bestellnummer", "bestellung"),
    "currency": ("currency", "währung", "waehrung"),
    "payment_terms": ("terms", "payment terms", "terms of payment", "zahlungsbedingungen"),
    "gross_amount": ("total", "invoice total", "total due", "amount due", "gross amount", "grand total",
                     "total amount", "balance due", "gesamtbetrag", "rechnungsbetrag"),
}
COLUMNS: dict[str, tuple[str, ...]] = {
    "purchase_order": ("po", "po number", "po no", "purchase order", "order"),
    "purchase_order_item": ("item", "line", "pos", "position", "po line item"),
    "material": ("material", "material number", "article", "product", "sku", "part", "part number"),
    "quantity": ("qty", "quantity", "menge"),
    "unit": ("unit", "uom", "unit of measure", "einheit"),
    "unit_price": ("unit price", "price", "price per unit", "net price", "preis"),
    "description": ("description", "text", "bezeichnung"),
    "amount": ("amount", "line total", "total", "net amount", "net value", "value", "betrag"),
}
_LABEL_OF = {label: name for name, labels in LABELS.items() for label in labels}
_COLUMN_OF = {label: name for name, labels in COLUMNS.items() for label in labels}
_ALL_LABELS = list(_LABEL_OF)


@dataclass(frozen=True)
class Token:
    text: str
    confidence: float = 1.0


Line = list[Token]


def words(text: str, confidence: float = 1.0) -> Line:
    return [Token(word, confidence) for word in text.split()]


def norm(text: str) -> str:
    """A label as compared: lower case, one space between words, no trailing ':' ';' (OCR's colon)
    or '.'; a '#' stays ("Invoice #", "PO#")."""
    return re.sub(r"\s+", " ", text.strip().lower()).rstrip(":;. ")


@dataclass
class _Found:
    tokens: list[Token]
    label_confidence: float


def _label_at(line: Line, start: int) -> tuple[str, int, float] | None:
    """(field, token count, label confidence) of a label starting at `start`, exact before fuzzy."""
    longest = min(MAX_LABEL_WORDS, len(line) - start)
    for fuzzy in (False, True):
        for count in range(longest, 0, -1):
            span = line[start:start + count]
            colon = span[-1].text.endswith(":") or (start + count < len(line) and line[start + count].text == ":")
            if not colon and (start > 0 or _colon_follows(line, start + count)):
                continue  # "Total net: 5" is the label "Total net", not "Total" with the value "net: 5"
            phrase = norm(" ".join(token.text for token in span))
            if not phrase:
                continue
            if not fuzzy and phrase in _LABEL_OF:
                return _LABEL_OF[phrase], count, TEXT_EXACT_LABEL
            if fuzzy and colon and len(phrase) >= 4 and not _exact_label_inside(span):
                match = process.extractOne(phrase, _ALL_LABELS, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
                if match:
                    return _LABEL_OF[match[0]], count, TEXT_FUZZY_LABEL
    return None


def _exact_label_inside(span: Line) -> bool:
    """"EUR Invoice date:" is a value and then a label, not a misspelt "Invoice date"."""
    return any(norm(" ".join(token.text for token in span[begin:])) in _LABEL_OF for begin in range(1, len(span)))


def _colon_follows(line: Line, start: int) -> bool:
    """Whether the words after a label-without-colon run into a colon that ends no label of ours:
    then they are the rest of a longer label ("Total" + "net:"), not a value."""
    for end in range(start, min(start + MAX_LABEL_WORDS - 1, len(line))):
        if line[end].text.endswith(":") or line[end].text == ":":
            last = end if line[end].text != ":" else end - 1
            return not any(norm(" ".join(token.text for token in line[begin:last + 1])) in _LABEL_OF
                           for begin in range(start, last + 1))
    return False


def _pairs(line: Line) -> list[tuple[str, list[Token], float]]:
    pairs: list[tuple[str, list[Token], float]] = []
    index = 0
    current: tuple[str, list[Token], float] | None = None
    while index < len(line):
        label = _label_at(line, index)
        if label:
            if current:
                pairs.append(current)
            name, count, confidence = label
            index += count
            if index < len(line) and line[index].text == ":":
                index += 1
            current = (name, [], confidence)
            continue
        if current:
            current[1].append(line[index])
        elif index == 0:
            return []  # a line that does not start with a label holds no pair
        index += 1
    if current:
        pairs.append(current)
    return pairs


def _table_headers(line: Line) -> list[list[str]]:
    """Every way the row reads as column labels, longest labels first ("Unit price" as one column
    before "Unit" + "Price"); the caller keeps the first that fits the row below."""
    readings: list[list[str]] = []

    def read(index: int, columns: list[str]) -> None:
        if len(readings) >= MAX_HEADER_READINGS:
            return
        if index == len(line):
            if _usable(columns):
                readings.append(columns)
            return
        for count in range(min(3, len(line) - index), 0, -1):
            phrase = norm(" ".join(token.text for token in line[index:index + count]))
            if phrase in _COLUMN_OF:
                read(index + count, [*columns, _COLUMN_OF[phrase]])

    read(0, [])
    return readings


def _usable(columns: list[str]) -> bool:
    names = set(columns)
    return (len(names) == len(columns) and {"quantity", "unit_price"} <= names
            and bool(names & {"purchase_order", "purchase_order_item"}))


def _row_cells(line: Line, columns: list[str]) -> dict[str, list[Token]] | None:
    if len(line) == len(columns):
        return {name: [token] for name, token in zip(columns, line, strict=True)}
    if len(line) > len(columns) and "description" in columns:
        at = columns.index("description")
        after = len(columns) - at - 1
        cells = {name: [token] for name, token in zip(columns[:at], line[:at], strict=True)}
        cells["description"] = line[at:len(line) - after]
        cells.update({name: [token] for name, token in zip(columns[at + 1:], line[len(line) - after:], strict=True)})
        return cells
    return None


def _value_confidence(tokens: list[Token], label_confidence: float) -> float:
    return round(label_confidence * min(token.confidence for token in tokens), 3) if tokens else NOT_FOUND


def _line_field(name: str, cells: dict[str, list[Token]], source: str) -> Field:
    tokens = cells.get(name, [])
    if not tokens:
        return Field.missing(source)
    raw = " ".join(token.text for token in tokens)
    try:
        if name in ("quantity", "unit_price"):
            value = plain_decimal(document_amount(raw))
        elif name == "purchase_order_item":
            value = po_item(raw)
        else:
            value = raw.strip().upper() if name == "unit" else raw.strip()
    except BadValue:
        return Field.missing(source)
    return Field(value, _value_confidence(tokens, TEXT_EXACT_LABEL), source)


def _row_fits(line: Line, columns: list[str]) -> bool:
    cells = _row_cells(line, columns)
    return cells is not None and _is_number(cells["quantity"]) and _is_number(cells["unit_price"])


def _is_number(tokens: list[Token]) -> bool:
    try:
        document_amount(" ".join(token.text for token in tokens))
    except BadValue:
        return False
    return True


def read_labelled(lines: list[Line], *, source: str, text: str) -> ExtractedInvoice:
    """Apply the rules above to a document's lines; never raises: what is not found has confidence 0."""
    table_rows: set[int] = set()
    line_cells: list[dict[str, list[Token]]] = []
    index = 0
    while index < len(lines):
        readings = _table_headers(lines[index]) if lines[index] else []
        following = next((lines[n] for n in range(index + 1, len(lines)) if lines[n]), [])
        columns = next((r for r in readings if _row_fits(following, r)), readings[0] if readings else None)
        if not columns:
            index += 1
            continue
        table_rows.add(index)
        index += 1
        while index < len(lines):
            if not lines[index]:
                index += 1
                continue
            if not _row_fits(lines[index], columns):
                break
            table_rows.add(index)
            line_cells.append(_row_cells(lines[index], columns) or {})
            index += 1

    found: dict[str, list[_Found]] = {}
    for number, line in enumerate(lines):
        if number in table_rows or not line:
            continue
        for name, value, confidence in _pairs(line):
            if not value:
                following = next((lines[n] for n in range(number + 1, len(lines)) if lines[n]), [])
                if following and not _pairs(following) and (number + 1) not in table_rows:
                    value = following
            if value:
                found.setdefault(name, []).append(_Found(value, confidence))

    header: dict[str, Field] = {}
    for name in LABELS:
        # The first occurrence that reads as a value of its kind wins ("Date: see below" is read past).
        candidates = (_header_field(name, candidate, source) for candidate in found.get(name, []))
        header[name] = next((f for f in candidates if f.value), Field.missing(source))
    if not header["currency"].value:
        header["currency"] = next((f for f in (_currency_beside_total(candidate, source)
                                               for candidate in found.get("gross_amount", [])) if f.value),
                                  Field.missing(source))
    lines_out = []
    for cells in line_cells:
        po = _line_field("purchase_order", cells, source) if "purchase_order" in cells else header["purchase_order"]
        lines_out.append(ExtractedLine(
            purchase_order=po,
            purchase_order_item=_line_field("purchase_order_item", cells, source),
            material=_line_field("material", cells, source),
            quantity=_line_field("quantity", cells, source),
            unit_price=_line_field("unit_price", cells, source),
            unit=_line_field("unit", cells, source),
        ))
    return ExtractedInvoice(
        format=source, supplier=header["supplier"], invoice_number=header["invoice_number"],
        invoice_date=header["invoice_date"], currency=header["currency"], payment_terms=header["payment_terms"],
        gross_amount=header["gross_amount"], lines=tuple(lines_out), text=text,
    )


def _header_field(name: str, found: _Found, source: str) -> Field:
    tokens = found.tokens
    confidence = _value_confidence(tokens, found.label_confidence)
    raw = " ".join(token.text for token in tokens).strip()
    try:
        if name == "invoice_number" and len(tokens) <= MAX_NUMBER_WORDS:
            return Field(raw, confidence, source)  # "inv 123" is a reference as the vendor wrote it
        if name in ("invoice_number", "purchase_order"):
            confidence = _value_confidence(tokens[:1], found.label_confidence)
            if len(tokens) > 1 and name == "invoice_number":
                confidence = round(confidence * NAME_ONLY_FACTOR, 3)  # a sentence, not a number: confirm it
            return Field(tokens[0].text.strip(), confidence, source)
        if name == "supplier":
            if any(char.isdigit() for char in tokens[0].text):
                return Field(tokens[0].text.strip(" ,;"), _value_confidence(tokens[:1], found.label_confidence), source)
            return Field(raw, round(confidence * NAME_ONLY_FACTOR, 3), source)
        if name == "invoice_date":
            day, ambiguous = document_date(raw)
            return Field(day.isoformat(), min(confidence, AMBIGUOUS_DATE_CAP) if ambiguous else confidence, source)
        if name == "currency":
            return Field(currency_code(tokens[0].text), _value_confidence(tokens[:1], found.label_confidence), source)
        if name == "gross_amount":
            return Field(plain_decimal(document_amount(raw)), confidence, source)
    except BadValue:
        return Field.missing(source)
    return Field(raw, confidence, source)


def _currency_beside_total(found: _Found, source: str) -> Field:
    for token in found.tokens:
        candidate = token.text.strip()
        for sign, code in (("€", "EUR"), ("$", "USD"), ("£", "GBP")):
            if sign in candidate:
                candidate = code
        if re.fullmatch(r"[A-Z]{3}", candidate):
            confidence = _value_confidence([token], found.label_confidence) * CURRENCY_FROM_TOTAL_FACTOR
            return Field(candidate, round(confidence, 3), source)
    return Field.missing(source)
