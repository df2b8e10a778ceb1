"""The JSON shape and the format sniffing: what a clerk or an API client sees."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from integration_hub.ap.intake import ExtractedInvoice, IntakeError, extract, from_json

GOOD: dict[str, Any] = {
    "supplier": "17300001",
    "invoice_number": "INV-00123",
    "invoice_date": "2026-11-30",
    "currency": "eur",
    "payment_terms": "0001",
    "gross_amount": "1190.00",
    "lines": [
        {"purchase_order": "4500000001", "purchase_order_item": "00010", "material": "TG11",
         "quantity": 10, "unit_price": "100.00"},
        {"purchase_order": "4500000002", "purchase_order_item": "20", "material": "TG12",
         "quantity": "5", "unit_price": 18},
    ],
}


def bad(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is ...:
            payload.pop(key)
        else:
            payload[key] = value
    return payload


def errors_of(payload: Any) -> dict[str, str]:
    with pytest.raises(IntakeError) as caught:
        from_json(payload)
    return caught.value.field_errors


def test_it_reads_the_json_shape_with_full_confidence() -> None:
    invoice = from_json(GOOD)
    assert isinstance(invoice, ExtractedInvoice)
    assert invoice.format == "json"
    assert invoice.supplier.value == "17300001"
    assert invoice.invoice_number.value == "INV-00123"  # the vendor's number, as written
    assert invoice.invoice_date.value == "2026-11-30"
    assert invoice.currency.value == "EUR"
    assert invoice.gross_amount.value == "1190.00"
    assert [line.purchase_order_item.value for line in invoice.lines] == ["10", "20"]
    assert [line.quantity.value for line in invoice.lines] == ["10", "5"]
    assert [line.unit_price.value for line in invoice.lines] == ["100.00", "18"]
    assert invoice.lines[0].unit.value == ""
    every = [invoice.supplier, invoice.invoice_number, invoice.invoice_date, invoice.currency,
             invoice.payment_terms, invoice.gross_amount, *[f for line in invoice.lines for f in
                                                             (line.purchase_order, line.quantity)]]
    assert {f.confidence for f in every} == {1.0}
    assert {f.source for f in every} == {"json"}


def test_it_accepts_an_invoice_without_terms_or_material() -> None:
    payload = bad(payment_terms=...)
    payload["lines"][0].pop("material")
    invoice = from_json(payload)
    assert invoice.payment_terms.value == ""
    assert invoice.lines[0].material.value == ""


def test_it_names_each_bad_field_in_one_answer() -> None:
    payload = bad(invoice_number=..., invoice_date="30.11.2026", gross_amount="12,50", currency="euros")
    payload["lines"][1]["quantity"] = "five"
    payload["lines"][0]["purchase_order_item"] = "ten"
    errors = errors_of(payload)
    assert errors == {
        "invoice_number": "is missing",
        "invoice_date": "'30.11.2026' is not a date (write YYYY-MM-DD)",
        "gross_amount": "'12,50' is not a number (write digits with a '.' decimal point, e.g. 1234.50)",
        "currency": "'euros' is not a currency code (three letters, e.g. EUR)",
        "lines[0].purchase_order_item": "'ten' is not a PO item number (digits, e.g. 10)",
        "lines[1].quantity": "'five' is not a number (write digits with a '.' decimal point, e.g. 1234.50)",
    }


def test_it_says_the_message_in_one_sentence_too() -> None:
    with pytest.raises(IntakeError) as caught:
        from_json(bad(invoice_date="2026-02-30"))
    assert str(caught.value) == "the invoice has fields to correct: invoice_date: '2026-02-30' is not a date in the calendar"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "is empty (an invoice needs at least one line)"),
        (..., "is missing (an invoice needs at least one line)"),
        ("one line", "must be a list of lines"),
    ],
)
def test_it_refuses_an_invoice_without_lines(lines: Any, message: str) -> None:
    assert errors_of(bad(lines=lines)) == {"lines": message}


def test_it_refuses_zero_quantities_negative_prices_and_non_numbers() -> None:
    payload = copy.deepcopy(GOOD)
    payload["lines"][0]["quantity"] = 0
    payload["lines"][0]["unit_price"] = -3
    payload["lines"][1]["unit_price"] = True
    payload["gross_amount"] = "NaN"
    errors = errors_of(payload)
    assert errors["lines[0].quantity"] == "must be more than 0 (got 0)"
    assert errors["lines[0].unit_price"] == "cannot be negative (got -3); send a credit memo instead"
    assert errors["lines[1].unit_price"] == "is not a number"
    assert errors["gross_amount"].startswith("'NaN' is not a number")


def test_it_refuses_what_is_not_an_object() -> None:
    with pytest.raises(IntakeError, match="must be a JSON object"):
        from_json(["not", "an", "invoice"])
    assert errors_of(bad(lines=["x"])) == {"lines[0]": "must be an object"}


def test_it_refuses_an_empty_file_and_an_unknown_binary() -> None:
    with pytest.raises(IntakeError, match="invoice.bin is empty"):
        extract(b"", filename="invoice.bin")
    with pytest.raises(IntakeError, match="unsupported format"):
        extract(b"\x00\x01\x02\x03binary\xff\xfe" * 10, filename="invoice.bin", content_type="application/octet-stream")


def test_it_refuses_a_file_over_the_size_cap(settings: Any) -> None:
    settings.HUB_AP_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(IntakeError, match="files up to"):
        extract(b"a" * 1001, filename="big.csv")


def test_it_points_at_a_misspelt_key() -> None:
    payload = bad(invoice_number=...)
    payload["invoice_numbr"] = "INV-1"
    payload["lines"][0]["quantiy"] = payload["lines"][0].pop("quantity")
    assert errors_of(payload) == {
        "invoice_number": "is missing (did you mean to send 'invoice_numbr' as 'invoice_number'?)",
        "lines[0].quantity": "is missing (did you mean to send 'quantiy' as 'quantity'?)",
    }
