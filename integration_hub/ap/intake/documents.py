"""The text formats: a PDF's text layer (pypdf), a Word document (python-docx), a scan (tesseract).

Each reader turns its document into lines of tokens and leaves the fields to `labels.py`, so a
PDF, a DOCX and a scan of the same invoice are read by the same rules. Limits against hostile
files: the upload cap (checked before), a page cap, a pixel cap for images (Pillow's decompression
bomb guard made strict), and an uncompressed-size cap for the DOCX's ZIP.
"""

from __future__ import annotations

import io
import warnings
import zipfile
import zlib
from collections.abc import Iterator

import docx
import pytesseract
from docx.table import Table
from docx.text.paragraph import Paragraph
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from .base import ExtractedInvoice, IntakeError
from .labels import Line, Token, read_labelled, words

MAX_PAGES = 50
MAX_SCANNED_PAGES = 10  # OCR takes a second or more a page
MAX_IMAGE_PIXELS = 40_000_000  # an A4 page scanned at 600 dpi is 35 Mpx
MAX_DOCX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_DOCX_RATIO = 100  # Word's XML compresses ~10x; a hundredfold is a bomb, not a document
OCR_TIMEOUT_SECONDS = 60
OCR_MIN_WORD_CONFIDENCE = 0  # tesseract marks non-words -1
# What zipfile raises for a damaged, encrypted (RuntimeError) or exotic (NotImplementedError) archive.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, RuntimeError, NotImplementedError)


# -- PDF ---------------------------------------------------------------------------------------
def read_pdf(content: bytes, *, filename: str) -> ExtractedInvoice:
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            _decrypt(reader, filename)
        pages = reader.pages
        if len(pages) > MAX_PAGES:
            raise IntakeError(f"{filename} has {len(pages)} pages; invoices of up to {MAX_PAGES} pages are read")
        texts = [page.extract_text() or "" for page in pages]
    except IntakeError:
        raise
    except (FileNotDecryptedError, DependencyError) as exc:
        raise IntakeError(f"{filename} is an encrypted PDF this hub cannot open; ask the vendor for an unprotected copy") from exc
    except Exception as exc:
        # pypdf reports a broken file through its own errors and, deep in a damaged object tree,
        # through Python's (KeyError, NotImplementedError for a mangled filter name, zlib.error…;
        # found by fuzzing): all of them mean the same thing to the person uploading it.
        raise IntakeError(f"{filename} is not a readable PDF (the file is damaged or incomplete)") from exc
    text = "\n".join(texts).strip()
    if not text:
        scan = _pdf_images(reader, filename)
        if scan is not None:
            return scan
        raise IntakeError(f"{filename} has no text layer and no image to read: it cannot be read automatically; "
                          "send the PDF the vendor's system produced, or a scan as PNG/TIFF")
    lines = [words(line) for line in text.splitlines()]
    return read_labelled(lines, source="pdf", text=text)


def _decrypt(reader: PdfReader, filename: str) -> None:
    # Many vendors' PDFs are "encrypted" with an empty user password only to restrict printing.
    try:
        opened = reader.decrypt("")
    except (DependencyError, NotImplementedError) as exc:
        raise IntakeError(f"{filename} is an encrypted PDF this hub cannot open; ask the vendor for an unprotected copy") from exc
    if not opened:
        raise IntakeError(f"{filename} is a password-protected PDF; ask the vendor for an unprotected copy")


def _pdf_images(reader: PdfReader, filename: str) -> ExtractedInvoice | None:
    """A scanned PDF (pages that are only images): OCR the embedded images, page by page."""
    images: list[Image.Image] = []
    try:
        for page in reader.pages:
            for embedded in page.images:
                images.append(_checked_image(embedded.data, filename))
                if len(images) > MAX_SCANNED_PAGES:
                    raise IntakeError(f"{filename} holds more than {MAX_SCANNED_PAGES} scanned images; scans of up to "
                                      f"{MAX_SCANNED_PAGES} pages are read")
    except IntakeError:
        raise
    except Exception as exc:  # as above: any failure inside pypdf is a damaged file
        raise IntakeError(f"{filename}: the PDF's page images cannot be read") from exc
    if not images:
        return None
    return _ocr(images, filename)


# -- DOCX --------------------------------------------------------------------------------------
def read_docx(content: bytes, *, filename: str) -> ExtractedInvoice:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        names = archive.namelist()
        total = sum(info.file_size for info in archive.infolist())
    except ZIP_ERRORS as exc:
        raise IntakeError(f"{filename} is not a readable ZIP/Word file (the file is damaged or incomplete)") from exc
    if "word/document.xml" not in names:
        raise IntakeError(f"{filename} is a ZIP archive but not a Word document (.docx); send the invoice itself")
    if total > MAX_DOCX_UNCOMPRESSED or total > MAX_DOCX_RATIO * max(len(content), 1):
        raise IntakeError(f"{filename} unpacks to {total / 1048576:.0f} MB, far more than a Word invoice; it is refused unread")
    # Word never writes a DTD; python-docx would not resolve one anyway (resolve_entities=False),
    # but a file that declares entities is refused unread, as an e-invoice XML is.
    try:
        declares_dtd = any(b"<!DOCTYPE" in archive.read(info)[:4096] or b"<!ENTITY" in archive.read(info)
                           for info in archive.infolist() if info.filename.endswith((".xml", ".rels")))
    except ZIP_ERRORS as exc:
        raise IntakeError(f"{filename} is not a readable ZIP/Word file (the file is damaged or incomplete)") from exc
    if declares_dtd:
        raise IntakeError(f"{filename}: the Word document declares a DTD or entities, which Word never writes; "
                          "it is refused unread")
    try:
        document = docx.Document(io.BytesIO(content))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors… for a broken package
        raise IntakeError(f"{filename} is not a readable Word document (.docx): {type(exc).__name__}") from exc
    lines: list[Line] = []
    shown: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(words(block.text))
            shown.append(block.text)
        else:
            for row in _table_rows(block):
                # A cell is one token (a table column), unless it holds "Label: value" itself.
                lines.append([token for cell in row for token in (words(cell) if ": " in cell else [Token(cell)])])
                shown.append(" | ".join(row))
    text = "\n".join(shown).strip()
    if not text:
        raise IntakeError(f"{filename} is an empty Word document")
    return read_labelled(lines, source="docx", text=text)


def _table_rows(table: Table) -> Iterator[list[str]]:
    for row in table.rows:
        cells: list[str] = []
        last = None
        for cell in row.cells:
            if cell._tc is last:  # a merged cell repeats itself once per grid column it spans
                continue
            last = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            yield [cell for cell in cells if cell]


# -- images (OCR) ------------------------------------------------------------------------------
def read_image(content: bytes, *, filename: str) -> ExtractedInvoice:
    image = _checked_image(content, filename)
    frames: list[Image.Image] = []
    try:
        for number, frame in enumerate(ImageSequence.Iterator(image)):
            if number >= MAX_SCANNED_PAGES:
                raise IntakeError(f"{filename} has more than {MAX_SCANNED_PAGES} pages; scans of up to "
                                  f"{MAX_SCANNED_PAGES} pages are read")
            frames.append(frame.copy())
    except IntakeError:  # an IntakeError is a ValueError too: let ours through as written
        raise
    except (OSError, ValueError) as exc:
        raise IntakeError(f"{filename} is not a readable image (the file is damaged or incomplete)") from exc
    return _ocr(frames, filename)


def _checked_image(content: bytes, filename: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise IntakeError(f"{filename} is {width}×{height} pixels; scans of up to "
                                  f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels are read (300 dpi is plenty)")
            image.load()
    except IntakeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise IntakeError(f"{filename} is an image too large to decode safely; it is refused unread") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise IntakeError(f"{filename} is not a readable image (the file is damaged or incomplete)") from exc
    return image


def _ocr(images: list[Image.Image], filename: str) -> ExtractedInvoice:
    lines: list[Line] = []
    for image in images:
        lines.extend(_ocr_lines(image, filename))
    text = "\n".join(" ".join(token.text for token in line) for line in lines).strip()
    if not any(token.confidence > 0 for line in lines for token in line):
        raise IntakeError(f"could not read any text in {filename}: the scan is blank, too faint or too blurred; "
                          "scan it again at 300 dpi or type the invoice in")
    return read_labelled(lines, source="ocr", text=text)


def _ocr_lines(image: Image.Image, filename: str) -> list[Line]:
    gray = ImageOps.exif_transpose(image).convert("L")
    try:
        data = pytesseract.image_to_data(gray, output_type=pytesseract.Output.DICT, timeout=OCR_TIMEOUT_SECONDS)
    except pytesseract.TesseractNotFoundError as exc:
        raise IntakeError("scanned invoices cannot be read on this server: tesseract-ocr is not installed") from exc
    except pytesseract.TesseractError as exc:
        raise IntakeError(f"could not read any text in {filename}: OCR failed ({exc.message})") from exc
    except RuntimeError as exc:  # pytesseract's timeout
        raise IntakeError(f"could not read any text in {filename}: OCR took longer than {OCR_TIMEOUT_SECONDS} s") from exc
    placed: list[tuple[float, float, float, Token]] = []  # (vertical centre, left, height, token)
    for position, word in enumerate(data["text"]):
        confidence = float(data["conf"][position])
        if not word.strip() or confidence < OCR_MIN_WORD_CONFIDENCE:
            continue
        top, height = float(data["top"][position]), float(data["height"][position])
        placed.append((top + height / 2, float(data["left"][position]), height,
                       Token(word.strip(), round(confidence / 100, 3))))
    return _visual_lines(placed)


def _visual_lines(placed: list[tuple[float, float, float, Token]]) -> list[Line]:
    """Words on one visual line, left to right, whatever blocks tesseract cut the page into: its
    page segmentation puts each column of a wide table into a block of its own, and the table
    rules need a row as a row. A word joins a line when its centre is within half a word height of
    the line's first word."""
    lines: list[tuple[float, float, list[tuple[float, Token]]]] = []  # (centre, height, [(left, token)])
    for centre, left, height, token in sorted(placed, key=lambda item: (item[0], item[1])):
        if lines and abs(centre - lines[-1][0]) <= max(height, lines[-1][1]) / 2:
            lines[-1][2].append((left, token))
        else:
            lines.append((centre, height, [(left, token)]))
    return [[token for _left, token in sorted(words_, key=lambda item: item[0])] for _c, _h, words_ in lines]
