"""Errors of exception triage: requests the triage rules refuse. Each is a `DomainError` (so a
`HubError` and a `ValueError`): callers catch one root, and nothing here is ever retried."""

from __future__ import annotations

from integration_hub.errors import DomainError


class ExceptionNotOpen(DomainError):
    """Only an open exception can be resolved, dismissed, snoozed or put on hold."""


class ResolutionError(DomainError):
    """The chosen resolution path does not fit this exception, or its input is wrong."""


class BulkError(DomainError):
    """The bulk request cannot start: unknown action, empty or oversized selection, bad assignee."""


class InvalidCursor(DomainError):
    """A list page's `after` cursor is not one the list handed out (edited, truncated, or from
    another sort): the caller answers 400 rather than guessing a page."""
