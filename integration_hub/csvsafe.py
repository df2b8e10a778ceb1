"""CSV cells that are safe to open in a spreadsheet (OWASP "CSV injection").

Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a
formula (`=HYPERLINK(...)` sends data away, `=cmd|...` runs a program), and a leading tab or
carriage return hides such a start from the eye. Crosswalk rows are business data anyone with
an editor role can type, and exports are opened by people who trust the file: every CSV the hub
writes goes through `spreadsheet_safe`, and every CSV it reads is checked with `formula_risk`.

The choice about numbers: OWASP suggests prefixing every such cell, but a quote in front of
`-5` or `+1.5` turns a number into text and breaks sums for the people who export to calculate.
A cell that is *only* a plain decimal number (optional sign, digits, optional fraction and
exponent) is left as it is, in any column: no spreadsheet reads that as anything but a number,
and nothing that could carry a formula (a parenthesis, a letter, a `|`) fits the pattern.
"""

from __future__ import annotations

import re
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_NAMES = {"\t": "a tab", "\r": "a carriage return"}


def formula_risk(value: Any) -> str:
    """Why a spreadsheet would treat `value` as a formula ("starts with '='…"), or "" when it would not."""
    text = "" if value is None else str(value)
    if not text.startswith(TRIGGERS) or _PLAIN_NUMBER.fullmatch(text):
        return ""
    first = text[0]
    return (f"starts with {_NAMES.get(first, repr(first))}: a spreadsheet would run it as a formula "
            "(the export writes it with a leading ' so it stays text)")


def spreadsheet_safe(value: Any) -> str:
    """The cell as text a spreadsheet shows and never runs: a leading `'` before a formula start."""
    text = "" if value is None else str(value)
    return f"'{text}" if formula_risk(text) else text


def spreadsheet_unquote(value: str) -> str:
    """Undo `spreadsheet_safe` on a cell read back from one of our exports (`'=x` → `=x`), so an
    export re-imported unchanged changes no row. Any other leading quote is the data's own."""
    return value[1:] if value.startswith("'") and formula_risk(value[1:]) else value
