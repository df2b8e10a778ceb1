"""Vendor invoices in the formats they come in, as one `ExtractedInvoice` with a confidence per field.

    from integration_hub.ap.intake import extract, from_json, ExtractedInvoice, ExtractedLine, Field, IntakeError

`from_json(payload)` validates the API's JSON shape; `extract(content, filename=…)` sniffs a
file's content (not its name: a renamed file is read for what it is) and hands it to the reader
of its format. Anything it cannot read raises `IntakeError` with a sentence for a person; it
never guesses a value (a field it cannot find is "" with confidence 0, which routes the invoice
to `ap_extraction_review`).
"""

from __future__ import annotations

from .base import ExtractedInvoice, ExtractedLine, Field, IntakeError
from .jsonshape import from_json
from .sniff import extract

__all__ = ["ExtractedInvoice", "ExtractedLine", "Field", "IntakeError", "extract", "from_json"]
