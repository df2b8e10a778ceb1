"""How documents' amounts and dates are read: the rules labels.py documents, one case each."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from integration_hub.ap.intake.base import BadValue, document_amount, document_date, po_item


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("1,297.10", "1297.10"), ("1.297,10", "1297.10"), ("1 297,10", "1297.10"), ("1'297.10", "1297.10"),
        ("EUR 1,297.10", "1297.10"), ("1297.10 EUR", "1297.10"), ("€12,50", "12.50"), ("$1,234", "1234"),
        ("1.234", "1234"), ("0,125", "0.125"), ("12,5", "12.5"), ("1,234,567.89", "1234567.89"),
        ("1.234.567,89", "1234567.89"), ("(100.00)", "-100.00"), ("-5", "-5"),
    ],
)
def test_it_reads_amounts_as_invoices_print_them(written: str, amount: str) -> None:
    assert document_amount(written) == Decimal(amount)


@pytest.mark.parametrize("written", ["", "EUR", "1,2,3", "12a", "1.23.4", "--5", "1O"])
def test_it_refuses_what_is_not_an_amount(written: str) -> None:
    with pytest.raises(BadValue):
        document_amount(written)


@pytest.mark.parametrize(
    ("written", "day", "ambiguous"),
    [
        ("2026-11-30", date(2026, 11, 30), False), ("30.11.2026", date(2026, 11, 30), False),
        ("30 November 2026", date(2026, 11, 30), False), ("Nov 30, 2026", date(2026, 11, 30), False),
        ("November 30th, 2026", date(2026, 11, 30), False), ("30/11/2026", date(2026, 11, 30), False),
        ("11/30/2026", date(2026, 11, 30), False), ("03/04/2026", date(2026, 4, 3), True),
        ("05/05/2026", date(2026, 5, 5), False),
    ],
)
def test_it_reads_dates_day_first_and_flags_the_ones_readable_two_ways(written: str, day: date, ambiguous: bool) -> None:
    assert document_date(written) == (day, ambiguous)


@pytest.mark.parametrize("written", ["31.02.2026", "yesterday", "13/13/2026", ""])
def test_it_refuses_what_is_not_a_date(written: str) -> None:
    with pytest.raises(BadValue):
        document_date(written)


def test_it_writes_po_items_without_leading_zeros() -> None:
    assert [po_item(v) for v in ("00010", "10", " 20 ", "0")] == ["10", "10", "20", "0"]
    with pytest.raises(BadValue, match="is not a PO item number"):
        po_item("10a")
