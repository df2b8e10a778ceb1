"""The CRM port: what the engine needs from a CRM, in the hub's own terms.

`crm/salesforce.py` implements it over simple-salesforce (`connectors/salesforce.py`); SOQL,
sObject and field names live there and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

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


@dataclass(frozen=True)
class DealSummary:
    """What reconciliation needs of a deal: its stage, whether it is won, amount and close date."""

    deal_id: str
    stage: str
    is_won: bool
    amount: Decimal | None
    close_date: date | None


@dataclass(frozen=True)
class DealErpStatus:
    """What the ERP says of a deal's order, as sales sees it (the ERP owns every one of these)."""

    order_status: str
    delivery_status: str
    invoice_number: str
    invoice_status: str
    amount_invoiced: Decimal
    amount_paid: Decimal


@dataclass(frozen=True)
class AccountErpStanding:
    """What the ERP says of an account: credit ("OK" or "Blocked"), open receivables and their age."""

    credit_status: str
    open_ar: Decimal
    days_past_due: int


@dataclass(frozen=True)
class DealSyncStatus:
    """The hub's own outcome for a deal, as `deal_status_write` writes it one at a time."""

    status: str  # "Created", "On Hold", "Failed", ...
    order_number: str = ""
    hold_reason: str = ""
    erp_target: str = "s4hana"  # which ERP the order number belongs to


@dataclass(frozen=True)
class StatusUpdate:
    """One record to write: a deal's hub outcome, a deal's order status or an account's standing
    (exactly one of them)."""

    record_id: str  # the deal's id for `sync` and `deal`, the account's id for `account`
    deal: DealErpStatus | None = None
    account: AccountErpStanding | None = None
    synced_at: datetime | None = None
    sync: DealSyncStatus | None = None


@dataclass(frozen=True)
class WriteOutcome:
    """The CRM's answer for one record of a batch write."""

    record_id: str
    ok: bool
    errors: tuple[dict[str, Any], ...] = ()  # {"code", "message", "fields"}

    @property
    def message(self) -> str:
        return "; ".join(str(e.get("message") or e.get("code") or "") for e in self.errors)


@runtime_checkable
class CrmPort(Protocol):
    system: str

    def deal_read(self, deal_id: str, *, org_id: str, currency: str) -> CrmDeal | None:
        """The deal with its account, lines and contacts; None when the CRM no longer has it."""
        ...

    def deal_owner(self, deal_id: str) -> DealOwner: ...

    def deal_status_write(self, deal_id: str, *, status: str, hold_reason: str = "",
                          order_number: str | None = None, erp_target: str = "s4hana") -> None:
        """Tell sales where the deal stands in the ERP (the hub writes only these fields); the
        order's number in the ERP it went to (`erp_target`)."""
        ...

    def deal_statuses_write(self, updates: list[StatusUpdate]) -> list[WriteOutcome]:
        """Write many ERP statuses in as few calls as the CRM allows, one outcome per update in the
        order given. A refused record is an outcome, not an error; the others still land."""
        ...

    def closed_won_changed(self, *, since: datetime, stages: Iterable[str], limit: int = 2000) -> list[ChangedDeal]:
        """Deals at one of `stages` changed at or after `since`, oldest change first."""
        ...

    def closed_won_between(self, *, start: date, end: date, stages: Iterable[str], after: str = "",
                           limit: int = 200) -> list[DealSummary]:
        """One page of deals at one of `stages` closed on `start` … `end` (both included), by id,
        the ids after `after` (keyset paging: pass the last id of the previous page)."""
        ...

    def deals_summary(self, deal_ids: list[str]) -> list[DealSummary]:
        """These deals' stage, amount and close date; an id the CRM does not know is left out."""
        ...

    def close(self) -> None: ...
