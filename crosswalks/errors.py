"""Crosswalk errors, under the hub's one root (`integration_hub.errors`).

A row rejected field by field (a value SAP lacks, a malformed bundle) is a Django
`ValidationError` keyed by column, which forms and serializers already show in place; what is
here are the refusals of a whole request.
"""

from __future__ import annotations

from integration_hub.errors import DomainError


class CrosswalkError(DomainError):
    """A crosswalk change the hub's rules refuse; a person must change the request."""


class ImportRejected(CrosswalkError):
    """A CSV import that cannot be applied: nothing of it was written."""
