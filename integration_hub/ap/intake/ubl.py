"""A UBL 2.1 invoice (the Peppol BIS Billing 3.0 e-invoice), read with defusedxml.

Where each field comes from (Peppol business terms in brackets):
- invoice_number: `cbc:ID` [BT-1]; invoice_date: `cbc:IssueDate` [BT-2];
  currency: `cbc:DocumentCurrencyCode` [BT-5]
- supplier: `cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID` [BT-29], the
  vendor's number as the buyer knows it; without one, the electronic address `cbc:EndpointID`
  [BT-34] with confidence 0.5 (it names the vendor, not our business partner: a person confirms)
- payment_terms: `cac:PaymentTerms/cbc:ID` when present, else `cac:PaymentTerms/cbc:Note` [BT-20]
- gross_amount: `cac:LegalMonetaryTotal/cbc:PayableAmount` [BT-115]
- per `cac:InvoiceLine`: purchase_order from `cac:OrderLineReference/cac:OrderReference/cbc:ID`
  or else the document's `cac:OrderReference/cbc:ID` [BT-13]; purchase_order_item
  `cac:OrderLineReference/cbc:LineID` [BT-132]; material
  `cac:Item/cac:SellersItemIdentification/cbc:ID` [BT-155] (else the buyer's or standard item id);
  quantity `cbc:InvoicedQuantity` [BT-129] with its `unitCode` [BT-130] as the unit; unit_price
  `cac:Price/cbc:PriceAmount` [BT-146] divided by `cac:Price/cbc:BaseQuantity` [BT-149, default 1].

Safety: defusedxml refuses any DTD, so no entity expansion (billion laughs) and no external
entity (XXE) is ever resolved.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .base import ExtractedInvoice, IntakeError, plain_decimal
from .jsonshape import from_mapping

INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
ENDPOINT_CONFIDENCE = 0.5
PRICE_PLACES = Decimal("0.000001")

HEADER_PATHS = {
    "supplier": "cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID",
    "invoice_number": "cbc:ID",
    "invoice_date": "cbc:IssueDate",
    "currency": "cbc:DocumentCurrencyCode",
    "payment_terms": "cac:PaymentTerms",
    "gross_amount": "cac:LegalMonetaryTotal/cbc:PayableAmount",
}
LINE_PATHS = {
    "purchase_order": "cac:OrderLineReference/cac:OrderReference/cbc:ID (or the invoice's cac:OrderReference/cbc:ID)",
    "purchase_order_item": "cac:OrderLineReference/cbc:LineID",
    "material": "cac:Item/cac:SellersItemIdentification/cbc:ID",
    "quantity": "cbc:InvoicedQuantity",
    "unit_price": "cac:Price/cbc:PriceAmount",
    "unit": "cbc:InvoicedQuantity/@unitCode",
}


def _text(node: Element | None, path: str) -> str:
    if node is None:
        return ""
    found = node.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


def parse(content: bytes, *, filename: str) -> Element:
    if re.match(rb"\s*(<\?xml[^>]*>\s*)?<(!doctype\s+html|html)[\s>]", content[:1024], re.IGNORECASE):
        raise IntakeError(f"{filename} is a web page (HTML), not an invoice; save the invoice itself as PDF or XML")
    try:
        return fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise IntakeError(f"{filename}: the XML declares a DTD or entities, which an e-invoice never needs; "
                          "it is refused unread (XML entity expansion and external entities are unsafe)") from exc
    except ParseError as exc:
        raise IntakeError(f"{filename}: the XML is not well-formed ({exc})") from exc
    except (LookupError, ValueError) as exc:  # an unknown encoding in the declaration, a bad character
        raise IntakeError(f"{filename}: the XML cannot be decoded ({exc})") from exc


def read_ubl(content: bytes, *, filename: str) -> ExtractedInvoice:
    root = parse(content, filename=filename)
    if root.tag == f"{{{CREDIT_NOTE}}}CreditNote":
        raise IntakeError(f"{filename} is a UBL credit note, not an invoice; record it as a credit memo")
    if root.tag != f"{{{INVOICE}}}Invoice":
        raise IntakeError(f"{filename}: the XML is not a UBL 2.1 invoice (its root is {root.tag!r}, "
                          f"expected Invoice in {INVOICE})")
    party = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    supplier = _text(party, "cac:PartyIdentification/cbc:ID")
    endpoint = _text(party, "cbc:EndpointID")
    terms = _text(root, "cac:PaymentTerms/cbc:ID") or _text(root, "cac:PaymentTerms/cbc:Note")
    document_po = _text(root, "cac:OrderReference/cbc:ID")
    lines = []
    for line in root.findall("cac:InvoiceLine", NS):
        quantity = line.find("cbc:InvoicedQuantity", NS)
        lines.append({
            "purchase_order": _text(line, "cac:OrderLineReference/cac:OrderReference/cbc:ID") or document_po,
            "purchase_order_item": _text(line, "cac:OrderLineReference/cbc:LineID"),
            "material": (_text(line, "cac:Item/cac:SellersItemIdentification/cbc:ID")
                         or _text(line, "cac:Item/cac:BuyersItemIdentification/cbc:ID")
                         or _text(line, "cac:Item/cac:StandardItemIdentification/cbc:ID")),
            "quantity": (quantity.text or "").strip() if quantity is not None else "",
            "unit_price": _unit_price(_text(line, "cac:Price/cbc:PriceAmount"), _text(line, "cac:Price/cbc:BaseQuantity")),
            "unit": quantity.get("unitCode", "") if quantity is not None else "",
        })
    payload = {
        "supplier": supplier or endpoint,
        "invoice_number": _text(root, "cbc:ID"),
        "invoice_date": _text(root, "cbc:IssueDate"),
        "currency": _text(root, "cbc:DocumentCurrencyCode"),
        "payment_terms": terms,
        "gross_amount": _text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount"),
        "lines": lines or None,  # no cac:InvoiceLine at all: "is missing"
    }
    invoice = from_mapping(
        payload, source="ubl",
        header_path=lambda name: HEADER_PATHS[name] if name != "lines" else "cac:InvoiceLine",
        line_path=lambda index, name: f"cac:InvoiceLine {index + 1}" + ("" if name == "*" else f", {LINE_PATHS[name]}"),
        message=f"{filename}: the UBL invoice has elements to correct",
    )
    if not supplier and endpoint:
        invoice = replace(invoice, supplier=replace(invoice.supplier, confidence=ENDPOINT_CONFIDENCE))
    return invoice


def _unit_price(amount: str, base: str) -> str:
    """PriceAmount per BaseQuantity as a price per unit; left as written when either is not a number
    (the shape's validation then names the element)."""
    if not base:
        return amount
    try:
        per = Decimal(amount) / Decimal(base)
    except (InvalidOperation, ArithmeticError):
        return amount if not amount else f"{amount} per {base}"
    if per.as_tuple().exponent < -6:  # type: ignore[operator]
        per = per.quantize(PRICE_PLACES)
    return plain_decimal(per)
