"""Damaged files of every format: the intake answers with an IntakeError or a reading, never a crash.

Byte flips and truncations of a valid file of each format, from a fixed seed (so a failure
reproduces); fuzzing found pypdf's NotImplementedError for a mangled filter name, zipfile's for an
odd version field and expat's LookupError for a mangled encoding name.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from integration_hub.ap.intake import ExtractedInvoice, IntakeError, extract

from . import invoice_files as files

CSV = (b"supplier,invoice_number,invoice_date,currency,payment_terms,gross_amount,purchase_order,"
       b"purchase_order_item,material,quantity,unit_price,unit\n"
       b"17300001,INV-00123,2026-11-30,EUR,0001,1297.10,4500000001,10,TG11,10,100.00,PC\n")


def mutations(seed: bytes, count: int, rng: random.Random) -> list[bytes]:
    out = []
    for _ in range(count):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(1, len(data))]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize(
    ("make", "count"),
    [(files.pdf, 400), (files.docx_file, 300), (files.ubl, 400), (lambda: CSV, 400), (files.png, 40)],
    ids=["pdf", "docx", "ubl", "csv", "png"],
)
def test_it_never_crashes_on_a_damaged_file(make: Callable[[], bytes], count: int) -> None:
    rng = random.Random(16)
    outcomes = {"read": 0, "refused": 0}
    for data in mutations(make(), count, rng):
        try:
            result = extract(data, filename="damaged")
        except IntakeError as refusal:
            assert str(refusal)
            outcomes["refused"] += 1
        else:
            assert isinstance(result, ExtractedInvoice)
            outcomes["read"] += 1
    assert outcomes["refused"] > 0  # the damage was real
