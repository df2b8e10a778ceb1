"""Approvals' domain errors, under the hub's one root."""

from __future__ import annotations

from integration_hub.errors import DomainError


class ApprovalError(DomainError):
    """A decision the approval's state or the four-eyes rule does not allow."""


class FourEyesViolation(ApprovalError):
    """Nobody decides a deal they own."""
