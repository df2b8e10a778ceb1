"""Which format a file is, from its first bytes; then the reader of that format.

Magic numbers decide for the binary formats (PDF `%PDF-`, PNG, JPEG, TIFF, a ZIP holding
`word/document.xml` for DOCX); a text file is XML when its first tag is, else CSV when the
csv module's Sniffer finds a header row. The filename and content type only word the error.
"""

from __future__ import annotations

import codecs

from django.conf import settings

from .base import ExtractedInvoice, IntakeError
from .csvfile import read_csv
from .documents import read_docx, read_image, read_pdf
from .ubl import read_ubl

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024

IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


def max_upload_bytes() -> int:
    return int(getattr(settings, "HUB_AP_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def sniff(content: bytes) -> str:
    """"pdf" | "docx" | "image" | "xml" | "csv" | "blank" (only white space) | "" (unknown)."""
    head = content[:1024]
    if head.lstrip(b"\x00\t\r\n ").startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx"  # the DOCX reader says so when the ZIP is not a Word document
    for magic, _kind in IMAGE_MAGIC:
        if head.startswith(magic):
            return "image"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text" export
        text = content[:1024].decode("utf-16", errors="ignore")
        return "xml" if text.lstrip().startswith("<") else ("csv" if text.strip() else "blank")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        # A cut in the middle of a multi-byte character at 1024 bytes is still text.
        try:
            text = content[:1020].decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = head.decode("cp1252")
            except UnicodeDecodeError:
                return ""
    if "\x00" in text:
        return ""
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return "xml"
    if stripped:
        return "csv"
    return "blank" if len(content) <= len(head) or not content[len(head):].strip() else "csv"


def extract(content: bytes, *, filename: str, content_type: str = "") -> ExtractedInvoice:
    """Read a vendor invoice file of any supported format, or raise IntakeError saying why not."""
    name = filename or "the file"
    limit = max_upload_bytes()
    if not content:
        raise IntakeError(f"{name} is empty")
    if len(content) > limit:
        raise IntakeError(f"{name} is {len(content) / 1048576:.1f} MB; files up to {limit / 1048576:.0f} MB are accepted")
    kind = sniff(content)
    if kind == "blank":
        raise IntakeError(f"{name} is empty (only blank lines)")
    reader = READERS.get(kind)
    if reader is None:
        described = f" ({content_type})" if content_type else ""
        raise IntakeError(f"{name}{described}: unsupported format; send CSV, UBL 2.1 XML, PDF, DOCX, PNG, JPEG or TIFF")
    return reader(content, filename=name)


READERS = {"pdf": read_pdf, "docx": read_docx, "image": read_image, "xml": read_ubl, "csv": read_csv}
