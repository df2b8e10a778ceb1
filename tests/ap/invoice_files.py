"""Small vendor invoice files the intake tests make themselves: the same invoice in every format."""

from __future__ import annotations

import io
from pathlib import Path

import docx
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

HEADER_LINES = [
    "ACME Industrial Supplies GmbH",
    "INVOICE",
    "Supplier: 17300001",
    "Invoice number: INV-00123",
    "Invoice date: 30.11.2026",
    "PO: 4500000001",
    "Currency: EUR",
    "Terms: 0001",
]
TABLE_HEADER = ["Item", "Material", "Qty", "Unit", "Unit price", "Amount"]
TABLE_ROWS = [
    ["10", "TG11", "10", "PC", "100.00", "1000.00"],
    ["20", "TG12", "5", "PC", "18.00", "90.00"],
]
FOOTER_LINES = ["Subtotal: 1,090.00", "VAT 19%: 207.10", "Total: 1,297.10"]

FONT = next(
    (path for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                       "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf") if Path(path).exists()),
    None,
)


def invoice_lines() -> list[str]:
    return [*HEADER_LINES, "", "   ".join(TABLE_HEADER), *["   ".join(row) for row in TABLE_ROWS], "", *FOOTER_LINES]


def pdf(lines: list[str] | None = None, *, encrypt_with: str = "") -> bytes:
    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=11)
    for line in lines if lines is not None else invoice_lines():
        document.cell(0, 7, text=line, new_x="LMARGIN", new_y="NEXT")
    if encrypt_with:
        document.set_encryption(owner_password="owner", user_password=encrypt_with)
    return bytes(document.output())


def docx_file(*, with_table: bool = True) -> bytes:
    document = docx.Document()
    document.add_heading("ACME Industrial Supplies GmbH", level=1)
    details = document.add_table(rows=0, cols=2)
    for line in HEADER_LINES[2:]:
        label, value = line.split(": ", 1)
        cells = details.add_row().cells
        cells[0].text, cells[1].text = label, value
    document.add_paragraph("Thank you for your order.")
    if with_table:
        table = document.add_table(rows=1, cols=len(TABLE_HEADER))
        for cell, title in zip(table.rows[0].cells, TABLE_HEADER, strict=True):
            cell.text = title
        for row in TABLE_ROWS:
            for cell, value in zip(table.add_row().cells, row, strict=True):
                cell.text = value
    for line in FOOTER_LINES:
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def png(lines: list[str] | None = None, *, size: int = 28, fmt: str = "PNG") -> bytes:
    """The invoice rendered as a clean scan: black text on white, a font size tesseract reads."""
    text_lines = lines if lines is not None else invoice_lines()
    font = ImageFont.truetype(FONT, size) if FONT else ImageFont.load_default(size)
    height = int(size * 1.8) * (len(text_lines) + 2)
    image = Image.new("L", (1500, height), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(text_lines, start=1):
        draw.text((60, number * int(size * 1.8)), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def ubl(*, supplier_id: str = "17300001", base_quantity: str = "", extra: str = "", prolog: str = "") -> bytes:
    base = f'<cbc:BaseQuantity unitCode="PCE">{base_quantity}</cbc:BaseQuantity>' if base_quantity else ""
    party_id = f"<cac:PartyIdentification><cbc:ID>{supplier_id}</cbc:ID></cac:PartyIdentification>" if supplier_id else ""
    price_2 = "1800.00" if base_quantity else "18.00"
    return f"""{prolog}<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
         xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
         xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
  <cbc:ID>INV-00123</cbc:ID>
  <cbc:IssueDate>2026-11-30</cbc:IssueDate>
  <cbc:DueDate>2026-12-30</cbc:DueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:OrderReference><cbc:ID>4500000001</cbc:ID></cac:OrderReference>
  <cac:AccountingSupplierParty>
    <cac:Party>
      <cbc:EndpointID schemeID="0088">4012345000009</cbc:EndpointID>
      {party_id}
      <cac:PartyName><cbc:Name>ACME Industrial Supplies GmbH</cbc:Name></cac:PartyName>
    </cac:Party>
  </cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party><cbc:EndpointID schemeID="0088">4000001000005</cbc:EndpointID></cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentTerms><cbc:Note>0001</cbc:Note></cac:PaymentTerms>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="EUR">1090.00</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">1090.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">1297.10</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">1297.10</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="PCE">10</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">1000.00</cbc:LineExtensionAmount>
    <cac:OrderLineReference><cbc:LineID>10</cbc:LineID></cac:OrderLineReference>
    <cac:Item><cbc:Name>Turbine gasket</cbc:Name><cac:SellersItemIdentification><cbc:ID>TG11</cbc:ID></cac:SellersItemIdentification></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">100.00</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
  <cac:InvoiceLine>
    <cbc:ID>2</cbc:ID>
    <cbc:InvoicedQuantity unitCode="PCE">5</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">90.00</cbc:LineExtensionAmount>
    <cac:OrderLineReference>
      <cbc:LineID>00020</cbc:LineID>
      <cac:OrderReference><cbc:ID>4500000002</cbc:ID></cac:OrderReference>
    </cac:OrderLineReference>
    <cac:Item><cbc:Name>Seal ring</cbc:Name><cac:SellersItemIdentification><cbc:ID>TG12</cbc:ID></cac:SellersItemIdentification></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">{price_2}</cbc:PriceAmount>{base}</cac:Price>
  </cac:InvoiceLine>{extra}
</Invoice>""".encode()


def wide_scan_png() -> bytes:
    """A scan laid out in columns far apart (two header columns, a wide table): tesseract's page
    segmentation cuts it into column blocks; the reader must put each row back together."""
    font = ImageFont.truetype(FONT, 26) if FONT else ImageFont.load_default(26)
    image = Image.new("L", (2000, 700), 255)
    draw = ImageDraw.Draw(image)
    draw.text((60, 60), "Invoice number: INV-00123", font=font, fill=0)
    draw.text((1300, 60), "Date: 30.11.2026", font=font, fill=0)
    draw.text((60, 120), "Supplier: 17300001", font=font, fill=0)
    draw.text((1300, 120), "Currency: EUR", font=font, fill=0)
    columns = [60, 300, 600, 900, 1100, 1400, 1700]
    rows = [["PO", "Item", "Material", "Qty", "Unit", "Price", "Amount"],
            ["4500000001", "10", "TG11", "10", "PC", "100.00", "1000.00"],
            ["4500000002", "20", "TG12", "5", "PC", "18.00", "90.00"]]
    for number, row in enumerate(rows):
        for x, cell in zip(columns, row, strict=True):
            draw.text((x, 220 + 60 * number), cell, font=font, fill=0)
    draw.text((1300, 460), "Total: 1,297.10", font=font, fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
