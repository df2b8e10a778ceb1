"""The CRM port: what the engine needs from a CRM, in the hub's own terms.

`crm/salesforce.py` implements it over simple-salesforce (`connectors/salesforce.py`); SOQL,
sObject and field names live there and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from integration_hub.canonical import CanonicalDeal, Derivation


@dataclass
class CrmDeal:
    """A deal read from the CRM, mapped to the canonical model."""

    stage: str
    is_won: bool
    deal: CanonicalDeal
    derivations: list[Derivation] = field(default_factory=list)


@dataclass(frozen=True)
class DealOwner:
    email: str = ""
    name: str = ""


@dataclass(frozen=True)
class ChangedDeal:
    """A closed-won deal the CRM changed since a watermark."""

    deal_id: str
    changed_at: datetime | None


@runtime_checkable
class CrmPort(Protocol):
    system: str

    def deal_read(self, deal_id: str, *, org_id: str, currency: str) -> CrmDeal | None:
        """The deal with its account, lines and contacts; None when the CRM no longer has it."""
        ...

    def deal_owner(self, deal_id: str) -> DealOwner: ...

    def deal_status_write(self, deal_id: str, *, status: str, hold_reason: str = "",
                          order_number: str | None = None) -> None:
        """Tell sales where the deal stands in the ERP (the hub writes only these fields)."""
        ...

    def closed_won_changed(self, *, since: datetime, stages: Iterable[str], limit: int = 2000) -> list[ChangedDeal]:
        """Deals at one of `stages` changed at or after `since`, oldest change first."""
        ...

    def close(self) -> None: ...
