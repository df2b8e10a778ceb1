"""Each file format a vendor sends, made here, read as a clerk would read it; and each bad file's message."""

from __future__ import annotations

import io
import random
import zipfile
from typing import Any

import docx
import pytest
from fpdf import FPDF
from PIL import Image, ImageFilter

from integration_hub.ap.intake import ExtractedInvoice, IntakeError, extract

from . import invoice_files as files

HEADER = ("supplier", "invoice_number", "invoice_date", "currency", "payment_terms", "gross_amount")
LINE = ("purchase_order", "purchase_order_item", "material", "quantity", "unit_price", "unit")


def header(invoice: ExtractedInvoice) -> dict[str, str]:
    return {name: getattr(invoice, name).value for name in HEADER}


def lines(invoice: ExtractedInvoice) -> list[tuple[str, ...]]:
    return [tuple(getattr(line, name).value for name in LINE) for line in invoice.lines]


def confidences(invoice: ExtractedInvoice) -> list[float]:
    return [getattr(invoice, name).confidence for name in HEADER] + [
        getattr(line, name).confidence for line in invoice.lines for name in LINE
    ]


def refused(content: bytes, filename: str) -> str:
    with pytest.raises(IntakeError) as caught:
        extract(content, filename=filename)
    return str(caught.value)


THE_INVOICE = {
    "supplier": "17300001", "invoice_number": "INV-00123", "invoice_date": "2026-11-30",
    "currency": "EUR", "payment_terms": "0001", "gross_amount": "1297.10",
}
THE_LINES = [
    ("4500000001", "10", "TG11", "10", "100.00", "PC"),
    ("4500000001", "20", "TG12", "5", "18.00", "PC"),
]


# -- CSV ---------------------------------------------------------------------------------------
CSV_HEADER = "supplier,invoice_number,invoice_date,currency,payment_terms,gross_amount,purchase_order,purchase_order_item,material,quantity,unit_price,unit"


def test_it_reads_a_csv_with_the_header_fields_on_every_row() -> None:
    content = "\n".join([
        CSV_HEADER,
        "17300001,INV-00123,2026-11-30,EUR,0001,1297.10,4500000001,10,TG11,10,100.00,PC",
        "17300001,INV-00123,2026-11-30,EUR,0001,1297.10,4500000001,20,TG12,5,18.00,PC",
    ]).encode()
    invoice = extract(content, filename="inv.csv")
    assert invoice.format == "csv"
    assert header(invoice) == THE_INVOICE
    assert lines(invoice) == THE_LINES
    assert set(confidences(invoice)) == {1.0}


def test_it_reads_an_excel_csv_with_bom_semicolons_and_header_on_the_first_row_only() -> None:
    content = "\ufeff" + "\r\n".join([
        "Supplier;Invoice Number;Invoice Date;Currency;Payment Terms;Gross Amount;Purchase Order;Purchase Order Item;Material;Quantity;Unit Price",
        "17300001;INV-00123;2026-11-30;eur;0001;1297.10;4500000001;010;TG11;10;100.00",
        ";;;;;;4500000001;020;TG12;5;18.00",
        ";;;;;;;;;;",
    ]) + "\r\n"
    invoice = extract(content.encode("utf-8"), filename="export.csv")
    assert header(invoice) == THE_INVOICE
    assert lines(invoice) == [line[:5] + ("",) for line in THE_LINES]


def test_it_names_the_row_and_column_of_a_typo() -> None:
    content = "\n".join([
        CSV_HEADER,
        "17300001,INV-00123,2026-11-30,EUR,0001,1297.10,4500000001,10,TG11,10,100.00,PC",
        "17300001,INV-00123,2026-11-30,EUR,0001,1297.10,4500000001,20,TG12,1O,18.00,PC",
    ]).encode()
    message = refused(content, "inv.csv")
    assert message == ("inv.csv: the CSV has values to correct: row 3, column quantity: "
                       "'1O' is not a number (write digits with a '.' decimal point, e.g. 1234.50)")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "inv.csv is empty"),
        (b"\xef\xbb\xbf\r\n\r\n", "inv.csv is empty (only blank lines)"),
        (b"\n" * 2000 + b"supplier\n", "inv.csv: the CSV has a header but no invoice lines below it"),
        (CSV_HEADER.encode() + b"\n", "inv.csv: the CSV has a header but no invoice lines below it"),
        (b"supplier,invoice_numer,quantity\n1,2,3\n", "row 1, column 'invoice_numer': is not a column this hub reads"),
        ((CSV_HEADER + "\n17300001,INV-1,2026-11-30,EUR,,5,45,10,M,1,5\n").encode(),
         "row 2: has 11 values where the header has 12 columns"),
        ((CSV_HEADER + "\n17300001,INV-1,2026-11-30,EUR,,5,45,10,M,1,5,PC\n17300001,INV-2,2026-11-30,EUR,,5,45,20,M,1,5,PC\n").encode(),
         "row 3, column invoice_number: says 'INV-2' but row 2 says 'INV-1' (one file holds one invoice)"),
        ((b"purchase_order,purchase_order_item,quantity,unit_price\n45,10,1,5\n"),
         "row 2, column supplier: is missing"),
    ],
)
def test_it_explains_a_csv_it_cannot_take(content: bytes, message: str) -> None:
    assert message in refused(content, "inv.csv")


# -- UBL 2.1 (Peppol BIS Billing 3.0) ----------------------------------------------------------
def test_it_reads_a_peppol_ubl_invoice() -> None:
    invoice = extract(files.ubl(), filename="peppol.xml")
    assert invoice.format == "ubl"
    assert header(invoice) == THE_INVOICE
    # the second line names its own PO and an item written with leading zeros
    assert lines(invoice) == [
        ("4500000001", "10", "TG11", "10", "100.00", "PCE"),
        ("4500000002", "20", "TG12", "5", "18.00", "PCE"),
    ]
    assert set(confidences(invoice)) == {1.0}


def test_it_turns_a_ubl_price_per_base_quantity_into_a_unit_price() -> None:
    invoice = extract(files.ubl(base_quantity="100"), filename="peppol.xml")  # 1800.00 per 100 pieces
    assert invoice.lines[1].unit_price.value == "18.00"


def test_it_takes_the_endpoint_id_at_half_confidence_when_the_supplier_has_no_party_id() -> None:
    invoice = extract(files.ubl(supplier_id=""), filename="peppol.xml")
    assert invoice.supplier.value == "4012345000009"
    assert invoice.supplier.confidence == 0.5


def test_it_names_the_ubl_element_that_is_wrong() -> None:
    content = files.ubl().replace(b"<cbc:IssueDate>2026-11-30</cbc:IssueDate>", b"<cbc:IssueDate>30.11.2026</cbc:IssueDate>")
    content = content.replace(b'<cbc:InvoicedQuantity unitCode="PCE">5<', b'<cbc:InvoicedQuantity unitCode="PCE">five<')
    message = refused(content, "peppol.xml")
    assert "cbc:IssueDate: '30.11.2026' is not a date (write YYYY-MM-DD)" in message
    assert "cac:InvoiceLine 2, cbc:InvoicedQuantity: 'five' is not a number" in message


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>&secret;</cbc:ID></Invoice>"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&lol3;</Invoice>"""


@pytest.mark.parametrize("content", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_it_refuses_xml_with_entities_unread(content: bytes) -> None:
    message = refused(content, "evil.xml")
    assert "declares a DTD or entities" in message
    assert "root:" not in message  # /etc/passwd was never read into the message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<Invoice><cbc:ID>1</Invoice>", "evil.xml: the XML is not well-formed"),
        (b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>', "the XML is not a UBL 2.1 invoice"),
        (b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>',
         "evil.xml is a UBL credit note, not an invoice; record it as a credit memo"),
        (files.ubl().replace(b"<cac:InvoiceLine>", b"<cac:Ignored>").replace(b"</cac:InvoiceLine>", b"</cac:Ignored>"),
         "cac:InvoiceLine: is missing (an invoice needs at least one line)"),
    ],
)
def test_it_explains_an_xml_it_cannot_take(content: bytes, message: str) -> None:
    assert message in refused(content, "evil.xml")


# -- PDF with a text layer ---------------------------------------------------------------------
def test_it_reads_the_labelled_fields_and_the_line_table_of_a_pdf() -> None:
    invoice = extract(files.pdf(), filename="invoice.pdf")
    assert invoice.format == "pdf"
    assert header(invoice) == THE_INVOICE  # 30.11.2026 and 1,297.10 normalised
    assert lines(invoice) == THE_LINES  # the header's PO on every line, the Amount column read past
    assert set(confidences(invoice)) == {0.9}
    assert "Invoice number: INV-00123" in invoice.text
    assert invoice.gross_amount.source == "pdf"


def test_it_gives_a_fuzzy_label_and_a_two_way_date_lower_confidence_and_never_guesses() -> None:
    invoice = extract(files.pdf([
        "Invoice numbr: INV-9",
        "Date: 03/04/2026",
        "Supplier: Acme GmbH",
        "Total EUR 1.234,50",
    ]), filename="odd.pdf")
    assert (invoice.invoice_number.value, invoice.invoice_number.confidence) == ("INV-9", 0.6)
    assert (invoice.invoice_date.value, invoice.invoice_date.confidence) == ("2026-04-03", 0.5)  # day first
    assert (invoice.supplier.value, invoice.supplier.confidence) == ("Acme GmbH", 0.45)  # a name, not a number
    assert (invoice.gross_amount.value, invoice.gross_amount.confidence) == ("1234.50", 0.9)
    assert (invoice.currency.value, invoice.currency.confidence) == ("EUR", 0.81)  # written beside the total
    assert (invoice.payment_terms.value, invoice.payment_terms.confidence) == ("", 0.0)
    assert invoice.lines == ()


def test_it_reads_a_pdf_protected_only_against_printing() -> None:
    invoice = extract(files.pdf(encrypt_with=""), filename="locked.pdf")
    assert header(invoice) == THE_INVOICE


def test_it_ocrs_a_pdf_that_is_only_a_scanned_image() -> None:
    document = FPDF()
    document.add_page()
    document.image(io.BytesIO(files.png()), x=0, y=0, w=210)
    invoice = extract(bytes(document.output()), filename="scan.pdf")
    assert invoice.format == "ocr"
    assert header(invoice) == THE_INVOICE
    assert lines(invoice) == THE_LINES


def blank_pdf() -> bytes:
    document = FPDF()
    document.add_page()
    return bytes(document.output())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (files.pdf(encrypt_with="secret"), "bad.pdf is a password-protected PDF; ask the vendor for an unprotected copy"),
        (files.pdf()[:400], "bad.pdf is not a readable PDF (the file is damaged or incomplete)"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 8, "bad.pdf is not a readable PDF (the file is damaged or incomplete)"),
        (blank_pdf(), "bad.pdf has no text layer and no image to read"),
    ],
    ids=["password", "truncated", "garbage", "blank"],
)
def test_it_explains_a_pdf_it_cannot_read(content: bytes, message: str) -> None:
    assert message in refused(content, "bad.pdf")


# -- DOCX --------------------------------------------------------------------------------------
def test_it_reads_a_word_invoice_from_its_tables_and_paragraphs() -> None:
    invoice = extract(files.docx_file(), filename="invoice.docx")
    assert invoice.format == "docx"
    assert header(invoice) == THE_INVOICE
    assert lines(invoice) == THE_LINES
    assert "Invoice number | INV-00123" in invoice.text


def test_it_leaves_lines_empty_when_a_word_invoice_has_no_line_table() -> None:
    invoice = extract(files.docx_file(with_table=False), filename="invoice.docx")
    assert invoice.invoice_number.value == "INV-00123"
    assert invoice.lines == ()


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (zipped({"xl/workbook.xml": b"<workbook/>"}), "bad.docx is a ZIP archive but not a Word document (.docx)"),
        (zipped({"word/document.xml": b"<w:document/>"}), "bad.docx is not a readable Word document (.docx)"),
        (zipped({"word/document.xml": b" " * 60_000_000}), "bad.docx unpacks to 57 MB, far more than a Word invoice"),
        (files.docx_file()[:2000], "bad.docx is not a readable ZIP/Word file"),
    ],
    ids=["spreadsheet", "broken", "zip-bomb", "truncated"],
)
def test_it_explains_a_word_file_it_cannot_read(content: bytes, message: str) -> None:
    assert message in refused(content, "bad.docx")


# -- scans through OCR -------------------------------------------------------------------------
def test_it_reads_a_scanned_png_through_ocr_with_tesseracts_confidence() -> None:
    invoice = extract(files.png(), filename="scan.png")
    assert invoice.format == "ocr"
    assert header(invoice) == THE_INVOICE
    assert lines(invoice) == THE_LINES
    assert all(0.5 < value < 0.9 for value in confidences(invoice))  # tesseract is never sure; 0.9 is the label cap
    assert "INV-00123" in invoice.text


def image_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def test_it_gives_a_faint_blurred_scan_lower_confidence_or_says_it_cannot_read_it() -> None:
    clean = extract(files.png(), filename="scan.png")
    blurred = Image.open(io.BytesIO(files.png(size=18))).filter(ImageFilter.GaussianBlur(1.6)).point(lambda v: 140 + v // 3)
    try:
        poor = extract(image_bytes(blurred), filename="poor.png")
    except IntakeError as caught:
        assert "could not read any text in poor.png" in str(caught)
        return
    read = [f for f in (poor.invoice_number, poor.gross_amount, poor.supplier) if f.value]
    assert all(f.confidence < clean.invoice_number.confidence for f in read)
    assert all(f.value in {"INV-00123", "1297.10", "17300001"} for f in read)  # what it reads, it reads right


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (image_bytes(Image.new("L", (900, 600), 255)), "could not read any text in bad.png"),
        (image_bytes(Image.frombytes("L", (600, 400), random.Random(16).randbytes(600 * 400))),
         "could not read any text in bad.png"),
        (files.png()[:600], "bad.png is not a readable image (the file is damaged or incomplete)"),
        (image_bytes(Image.new("1", (10_000, 10_000), 1)), "bad.png is an image too large to decode safely"),
        (image_bytes(Image.new("1", (8_000, 6_000), 1)), "bad.png is 8000×6000 pixels; scans of up to 40 megapixels are read"),
    ],
    ids=["blank", "noise", "truncated", "decompression-bomb", "too-many-pixels"],
)
def test_it_explains_an_image_it_cannot_read(content: bytes, message: str) -> None:
    assert message in refused(content, "bad.png")


# -- sniffing by content, not by name ----------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "expected"),
    [(files.pdf, "pdf"), (files.docx_file, "docx"), (files.ubl, "ubl")],
)
def test_it_reads_a_file_for_what_it_is_whatever_its_name(make: Any, expected: str) -> None:
    assert extract(make(), filename="invoice.csv", content_type="text/csv").format == expected


def test_it_refuses_an_unknown_binary_with_its_content_type() -> None:
    message = refused(b"\x7fELF\x02\x01\x01\x00" + bytes(200), "tool.exe")
    assert message == "tool.exe: unsupported format; send CSV, UBL 2.1 XML, PDF, DOCX, PNG, JPEG or TIFF"


def test_it_refuses_a_word_file_that_declares_entities() -> None:
    original = zipfile.ZipFile(io.BytesIO(files.docx_file()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info in original.infolist():
            data = original.read(info.filename)
            if info.filename == "word/document.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/hostname">]>', 1)
                data = data.replace(b"INV-00123", b"&x;")
            archive.writestr(info, data)
    assert "bad.docx: the Word document declares a DTD or entities" in refused(out.getvalue(), "bad.docx")


def test_it_refuses_a_scan_with_more_pages_than_it_reads() -> None:
    page = Image.new("L", (200, 100), 255)
    out = io.BytesIO()
    page.save(out, format="TIFF", save_all=True, append_images=[page] * 11)
    assert "bad.tif has more than 10 pages; scans of up to 10 pages are read" in refused(out.getvalue(), "bad.tif")


def test_it_reads_a_multi_page_tiff_scan_page_by_page() -> None:
    first = Image.open(io.BytesIO(files.png(files.HEADER_LINES)))
    second = Image.open(io.BytesIO(files.png(["   ".join(files.TABLE_HEADER), *["   ".join(r) for r in files.TABLE_ROWS],
                                              "", *files.FOOTER_LINES])))
    out = io.BytesIO()
    first.save(out, format="TIFF", save_all=True, append_images=[second])
    invoice = extract(out.getvalue(), filename="scan.tif")
    assert header(invoice) == THE_INVOICE
    assert lines(invoice) == THE_LINES


def test_it_reads_labels_side_by_side_above_their_values_and_past_longer_labels() -> None:
    invoice = extract(files.pdf([
        "Date of delivery: 28.11.2026",
        "Total net: 1,090.00",
        "Invoice number INV-00123      Date: 30 November 2026",
        "Supplier",
        "17300001 ACME Industrial Supplies GmbH",
        "Payment terms: 0001",
        "PO  Item  Material  Description  Qty  Unit  Price  Amount",
        "4500000001  10  TG11  Turbine gasket, steel  10  PC  100.00  1000.00",
        "4500000002  00020  TG12  Seal ring  5  PC  18.00  90.00",
        "Total due: EUR 1,297.10",
    ]), filename="layout.pdf")
    assert header(invoice) == {
        "supplier": "17300001", "invoice_number": "INV-00123", "invoice_date": "2026-11-30",
        "currency": "EUR", "payment_terms": "0001", "gross_amount": "1297.10",
    }
    assert lines(invoice) == [
        ("4500000001", "10", "TG11", "10", "100.00", "PC"),
        ("4500000002", "20", "TG12", "5", "18.00", "PC"),
    ]


def test_it_keeps_an_invoice_number_written_with_a_space() -> None:
    invoice = extract(files.pdf(["Invoice number: inv 123", "Total: 5.00"]), filename="spaced.pdf")
    assert (invoice.invoice_number.value, invoice.invoice_number.confidence) == ("inv 123", 0.9)


def test_it_says_a_web_page_is_not_an_invoice() -> None:
    page = b"<!DOCTYPE html>\n<html><body>Invoice INV-1</body></html>"
    assert refused(page, "invoice.html") == (
        "invoice.html is a web page (HTML), not an invoice; save the invoice itself as PDF or XML")


def test_it_puts_the_rows_of_a_wide_scan_back_together() -> None:
    invoice = extract(files.wide_scan_png(), filename="wide.png")
    assert header(invoice) == {**THE_INVOICE, "payment_terms": ""}
    assert invoice.payment_terms.confidence == 0.0  # not on the page: not guessed
    assert lines(invoice) == [
        ("4500000001", "10", "TG11", "10", "100.00", "PC"),
        ("4500000002", "20", "TG12", "5", "18.00", "PC"),
    ]
    assert "Invoice number: INV-00123 Date: 30.11.2026" in invoice.text


def test_it_reads_a_jpeg_scan() -> None:
    invoice = extract(files.png(fmt="JPEG"), filename="scan.jpg")
    assert (invoice.format, invoice.invoice_number.value, invoice.gross_amount.value) == ("ocr", "INV-00123", "1297.10")


def test_it_reads_labels_and_values_sharing_a_word_table_cell() -> None:
    document = docx.Document()
    layout = document.add_table(rows=2, cols=2)
    layout.cell(0, 0).text, layout.cell(0, 1).text = "Supplier: 17300001", "Invoice number: INV-00123"
    layout.cell(1, 0).text, layout.cell(1, 1).text = "Currency: EUR", "Invoice date: 2026-11-30"
    table = document.add_table(rows=2, cols=5)
    for cell, text in zip(table.rows[0].cells, ["PO", "Item", "Qty", "Unit price", "Description"], strict=True):
        cell.text = text
    for cell, text in zip(table.rows[1].cells, ["4500000001", "10", "10", "100.00", "Gasket: steel, 40 mm"], strict=True):
        cell.text = text
    document.add_paragraph("Total: 1,000.00")
    out = io.BytesIO()
    document.save(out)
    invoice = extract(out.getvalue(), filename="cells.docx")
    assert header(invoice) == {"supplier": "17300001", "invoice_number": "INV-00123", "invoice_date": "2026-11-30",
                               "currency": "EUR", "payment_terms": "", "gross_amount": "1000.00"}
    assert lines(invoice) == [("4500000001", "10", "", "10", "100.00", "")]


@pytest.mark.parametrize(
    ("written", "expected"),
    [("Invoice #: 4711", "4711"), ("Invoice No. 4711", "4711"), ("Invoice number; 4711", "4711"),
     ("INVOICE NUMBER 4711", "4711"), ("Rechnungsnummer: 4711", "4711")],
)
def test_it_knows_the_ways_an_invoice_number_is_labelled(written: str, expected: str) -> None:
    invoice = extract(files.pdf([written, "PO#: 4500000001"]), filename="labels.pdf")
    assert (invoice.invoice_number.value, invoice.invoice_number.confidence) == (expected, 0.9)


def test_it_reads_excels_unicode_text_export() -> None:
    row = "17300001,INV-00123,2026-11-30,EUR,0001,1297.10,4500000001,10,TG11,10,100.00,PC"
    content = "\r\n".join(line.replace(",", "\t") for line in (CSV_HEADER, row)).encode("utf-16")
    invoice = extract(content, filename="export.txt")
    assert (invoice.format, invoice.invoice_number.value, lines(invoice)) == ("csv", "INV-00123", THE_LINES[:1])
