"""A CSV invoice: the JSON shape's names as the header, one row per invoice line.

    supplier,invoice_number,invoice_date,currency,payment_terms,gross_amount,purchase_order,purchase_order_item,material,quantity,unit_price,unit
    17300001,INV-00123,2026-11-30,EUR,0001,1190.00,4500000001,10,TG11,10,100.00,PC
    ,,,,,,4500000002,20,TG12,5,18.00,PC

Rules: UTF-8 (with or without a BOM), UTF-16 with its BOM (Excel's "Unicode text", tab
delimited) or Windows-1252; the delimiter is whatever the
csv module's Sniffer finds among `,` `;` tab and `|` (Excel in a German locale writes `;`); header
names are matched ignoring case, spaces and hyphens ("Invoice Number" = invoice_number). The
header fields (supplier … gross_amount) may be repeated on every row or written on the first row
only; a later row that states a different value is an error (one file is one invoice). Blank rows
are skipped. A bad value is reported as "row N, column name" with N the row in the file (the
header is row 1), so the person finds it in their spreadsheet.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

from .base import HEADER_FIELDS, LINE_FIELDS, ExtractedInvoice, IntakeError, Problems
from .jsonshape import from_mapping

COLUMNS = (*HEADER_FIELDS, *LINE_FIELDS)
DELIMITERS = ",;\t|"


def decode(content: bytes) -> str:
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return content.decode("utf-16")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="strict")


def column_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def read_csv(content: bytes, *, filename: str) -> ExtractedInvoice:
    try:
        text = decode(content)
    except UnicodeDecodeError as exc:
        raise IntakeError(f"{filename}: the CSV is neither UTF-8 nor Windows-1252 text") from exc
    if not text.strip():
        raise IntakeError(f"{filename}: the CSV is empty")
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        dialect = csv.excel  # one column, or no delimiter the Sniffer can be sure of: read as commas
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as exc:
        raise IntakeError(f"{filename}: the CSV cannot be read ({exc})") from exc
    numbered = [(number, row) for number, row in enumerate(rows, start=1) if any(cell.strip() for cell in row)]
    if not numbered:
        raise IntakeError(f"{filename}: the CSV is empty")
    header_number, header_row = numbered[0]
    header = [column_key(cell) for cell in header_row]
    problems = Problems()
    for cell, key in zip(header_row, header, strict=True):
        if key and key not in COLUMNS:
            problems.add(f"row {header_number}, column {cell.strip()!r}",
                         f"is not a column this hub reads (use {', '.join(COLUMNS)})")
    seen: set[str] = set()
    for key in header:
        if key and key in seen:
            problems.add(f"row {header_number}, column {key}", "appears twice")
        seen.add(key)
    problems.raise_if_any(f"{filename}: the CSV header has columns to correct")
    if not any(key in COLUMNS for key in header):
        raise IntakeError(f"{filename}: the first row must name the columns ({', '.join(COLUMNS)})")
    body = numbered[1:]
    if not body:
        raise IntakeError(f"{filename}: the CSV has a header but no invoice lines below it")

    head: dict[str, str] = {}
    head_row: dict[str, int] = {}
    lines: list[dict[str, str]] = []
    line_numbers: list[int] = []
    for number, row in body:
        if len(row) != len(header):
            problems.add(f"row {number}", f"has {len(row)} values where the header has {len(header)} columns")
            continue
        values = {key: cell.strip() for key, cell in zip(header, row, strict=True) if key}
        for name in HEADER_FIELDS:
            value = values.get(name, "")
            if not value:
                continue
            if name not in head:
                head[name], head_row[name] = value, number
            elif value != head[name]:
                problems.add(f"row {number}, column {name}",
                             f"says {value!r} but row {head_row[name]} says {head[name]!r} (one file holds one invoice)")
        lines.append({name: values.get(name, "") for name in LINE_FIELDS})
        line_numbers.append(number)
    problems.raise_if_any(f"{filename}: the CSV has rows to correct")
    payload = {**head, "lines": lines}
    return from_mapping(
        payload, source="csv",
        header_path=lambda name: "the CSV" if name == "lines" else f"row {head_row.get(name, body[0][0])}, column {name}",
        line_path=lambda number, name: f"row {number}" if name == "*" else f"row {number}, column {name}",
        line_numbers=line_numbers,
        message=f"{filename}: the CSV has values to correct",
    )
