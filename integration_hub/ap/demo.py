"""A supplier base in a box for the demo and the bench: each vendor invoice of the corpus comes with
a fresh purchase order and goods receipt created in the SAP sandbox (through the sandbox's own
procurement services, as its seed does), so a trickle never runs out of open quantities. Most
invoices are clean; the rest carry one defect each, one per route of the 3-way match.

Sandbox only (HUB_SANDBOX): a real tenant's POs are not the hub's to create."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from integration_hub.sandbox.sap import procurement

# (supplier, company code, currency, terms, material, unit price, price unit)
SUPPLIERS = (
    ("17500001", "1710", "USD", "NT30", "MAT-SK-001", Decimal("240.00"), Decimal(1)),
    ("17500002", "1710", "USD", "NT45", "MAT-NS-001", Decimal("1450.00"), Decimal(1)),
    ("17500002", "1710", "USD", "NT45", "MAT-SK-001", Decimal("23500.00"), Decimal(100)),
    ("17500001", "1710", "USD", "NT30", "MAT-EG-001", Decimal("900.00"), Decimal(1)),
)
DEFECTS = ("price", "quantity", "missing_receipt", "vendor", "duplicate", "terms")
DEMO_USER = "CB9980000000"


def _sap_date(day: date) -> str:
    return f"/Date({int((day - date(1970, 1, 1)).total_seconds()) * 1000})/"


def _purchase_order(supplier: tuple[Any, ...], quantity: Decimal, *, receipt: bool) -> str:
    number, company, currency, terms, material, price, per = supplier
    po = procurement.purchase_order_create({
        "CompanyCode": company, "Supplier": number, "PaymentTerms": terms, "DocumentCurrency": currency,
        "to_PurchaseOrderItem": [{
            "PurchaseOrderItem": "10", "Material": material, "OrderQuantity": str(quantity),
            "PurchaseOrderQuantityUnit": "PC", "NetPriceAmount": str(price), "NetPriceQuantity": str(per),
            "InvoiceIsGoodsReceiptBased": True, "GoodsReceiptIsExpected": True, "Plant": "1710",
        }],
    }, user=DEMO_USER)
    if receipt:
        procurement.material_document_create({
            "GoodsMovementCode": "01", "PostingDate": _sap_date(timezone.localdate()), "DocumentDate": _sap_date(timezone.localdate()),
            "to_MaterialDocumentItem": [{"GoodsMovementType": "101", "PurchaseOrder": po["PurchaseOrder"],
                                         "PurchaseOrderItem": "10", "QuantityInEntryUnit": str(quantity),
                                         "EntryUnit": "PC"}],
        }, user=DEMO_USER)
    return str(po["PurchaseOrder"])


def demo_invoice(rng: random.Random, *, defect: str | None, sequence: int) -> dict[str, Any]:
    """One invoice body (the API's JSON shape) over a PO made for it; `defect` names its route."""
    supplier = rng.choice(SUPPLIERS)
    number, _, currency, terms, material, price, per = supplier
    quantity = Decimal(rng.randrange(2, 40) * (100 if per == 100 else 1))
    po = _purchase_order(supplier, quantity, receipt=defect != "missing_receipt")
    unit_price = price / per
    invoiced = quantity
    invoicing_party, invoice_terms = number, terms
    if defect == "price":
        unit_price = (unit_price * Decimal("1.06")).quantize(Decimal("0.01"))
    elif defect == "quantity":
        invoiced = quantity + max(Decimal(1), (quantity * Decimal("0.2")).quantize(Decimal(1)))
    elif defect == "vendor":
        invoicing_party = "17500002" if number == "17500001" else "17500001"
    elif defect == "terms":
        invoice_terms = "NT60"
    reference = f"DEMO-{sequence:05d}"
    if defect == "duplicate":
        reference = "INV-00123"  # the seeded, posted invoice of 17500001 (SAP's duplicate check)
        invoicing_party, po, invoiced, unit_price = "17500001", "4500000008", Decimal(10), Decimal("240.00")
        day = "2026-11-20"
    else:
        day = timezone.localdate().isoformat()
    gross = (invoiced * unit_price).quantize(Decimal("0.01"))
    return {"supplier": invoicing_party, "invoice_number": reference if defect != "duplicate" else "inv 123",
            "invoice_date": day, "currency": currency, "payment_terms": invoice_terms, "gross_amount": str(gross),
            "lines": [{"purchase_order": po, "purchase_order_item": "10", "material": material,
                       "quantity": str(invoiced), "unit_price": str(unit_price)}]}


def demo_corpus(count: int, *, clean_share: float = 0.92, seed: int = 16) -> list[tuple[str | None, dict[str, Any]]]:
    """`count` invoices: about `clean_share` clean, the rest cycling through every defect."""
    rng = random.Random(seed)
    corpus = []
    defects = iter(DEFECTS * (count // len(DEFECTS) + 1))
    for sequence in range(1, count + 1):
        defect = None if rng.random() < clean_share else next(defects)
        corpus.append((defect, demo_invoice(rng, defect=defect, sequence=sequence)))
    return corpus
