"""An ERP port that answers master-data reads from a cache shared by every worker.

A clean deal for a known customer needs the ERP for three things only: prices and credit for
the draft (one simulation), the look-up by the deal's key, and the insert. Everything else it
reads — the customer (addresses, sales areas, terms), materials, the credit account with its
open items (the AR aging), the customer's recent orders — changes far less often than deals
arrive, so `CachedErp` keeps it in the Django cache (Redis in production: all workers on all
machines share one copy) under one rule per kind:

- **TTL per kind** (`HUB_ERP_CACHE_SECONDS`): an entry is never older than its kind allows.
- **A crosswalk edit** forgets what the edited row names (`erp_cache_forget`, called by the
  crosswalks' one save path once its transaction commits).
- **An ERP rejection naming a field** forgets that field's entries before the caller reacts
  (`rejection`): the customer for a sales-area or terms refusal, the material for a material
  one. The pipeline's one retry then reads fresh data, so a stale entry heals once.
- **The ERP's own credit verdict**: the simulation answers SAP's credit check with its prices.
  When it disagrees with the hub's rule applied to the cached credit account, the account and its
  open items are read again before anything is decided: a cache never makes a credit decision
  on its own.
- **A beat refresh** (`refresh`) re-reads what the deals in flight need before it expires.

Nothing negative is cached (an unknown customer or material is asked again next time), and
writes always go straight to the ERP.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

from integration_hub.canonical import CanonicalDeal
from integration_hub.erp.base import (
    CreditStanding,
    DraftCheck,
    ErpCustomer,
    ErpOrder,
    ErpPort,
    OpenItem,
    Rejection,
)
from integration_hub.errors import HubError, NotFound

logger = logging.getLogger(__name__)
T = TypeVar("T")

# The kinds of entry, and which of them a rejection or a crosswalk edit of a field forgets.
CUSTOMER, MATERIAL, CREDIT, RECEIVABLES, HISTORY = "customer", "material", "credit", "receivables", "history"
KINDS = (CUSTOMER, MATERIAL, CREDIT, RECEIVABLES, HISTORY)
FORGETS = {
    "customer": (CUSTOMER, CREDIT, RECEIVABLES, HISTORY),
    "payment_terms": (CUSTOMER,),
    "material": (MATERIAL,),
}
_MISSING = object()


def _key(target: str, kind: str, key: str) -> str:
    return f"hub:erp:{target}:{kind}:{key.strip().upper()}"


def ttl(kind: str) -> int:
    return int(settings.HUB_ERP_CACHE_SECONDS.get(kind, 0))


def erp_cache_forget(*, kind: str, keys: Iterable[str], targets: Iterable[str]) -> int:
    """Forget the entries of `kind` for these keys (a business partner, a material) in each ERP."""
    names = [_key(target, kind, key) for target in targets for key in keys if key]
    if names:
        cache.delete_many(names)
    return len(names)


def erp_cache_forget_field(*, field: str, values: Iterable[str], targets: Iterable[str]) -> int:
    """Forget every kind of entry a field names (FORGETS): a customer's master data, credit and orders."""
    values, targets = list(values), list(targets)
    return sum(erp_cache_forget(kind=kind, keys=values, targets=targets) for kind in FORGETS.get(field, ()))


class CachedErp:
    """`ErpPort` over another port: master-data reads from the shared cache, the rest passed on."""

    def __init__(self, inner: ErpPort) -> None:
        self.inner = inner
        self.target = inner.target

    def __getattr__(self, name: str) -> Any:
        # Everything not cached here (searches, orders, documents, writes) is the inner port's.
        return getattr(self.inner, name)

    # -- the cache -----------------------------------------------------------------------------------
    def _read(self, kind: str, key: str, load: Callable[[], T], *, fresh: bool = False) -> T:
        seconds = ttl(kind)
        name = _key(self.target, kind, key)
        if seconds > 0 and not fresh:
            found = cache.get(name, _MISSING)
            if found is not _MISSING:
                return found
        value = load()
        if seconds > 0:
            cache.set(name, value, seconds)
        return value

    def forget(self, kind: str, key: str) -> None:
        erp_cache_forget(kind=kind, keys=[key], targets=[self.target])

    # -- master data ---------------------------------------------------------------------------------
    def customer_get(self, number: str) -> ErpCustomer:
        return self._read(CUSTOMER, number, lambda: self.inner.customer_get(number))

    def material_exists(self, material: str) -> bool:
        name = _key(self.target, MATERIAL, material)
        if ttl(MATERIAL) > 0 and cache.get(name):
            return True
        exists = self.inner.material_exists(material)
        if exists and ttl(MATERIAL) > 0:
            cache.set(name, True, ttl(MATERIAL))
        return exists

    def credit_get(self, customer: str, *, fresh: bool = False) -> CreditStanding | None:
        return self._read(CREDIT, customer, lambda: self.inner.credit_get(customer), fresh=fresh)

    def open_items(self, customer: str) -> list[OpenItem]:
        return self._read(RECEIVABLES, customer, lambda: self.inner.open_items(customer))

    def customer_orders(self, customer: str, *, top: int = 10) -> list[ErpOrder]:
        return self._read(HISTORY, f"{customer}:{top}", lambda: self.inner.customer_orders(customer, top=top))

    # -- a draft order -------------------------------------------------------------------------------
    def draft_check(self, deal: CanonicalDeal, *, credit: bool = True) -> DraftCheck:
        """One simulation for prices and the ERP's credit verdict; the credit account from the cache,
        read again when the ERP's verdict and the hub's rule on the cached account disagree."""
        check = self.inner.draft_check(deal, credit=False)
        if not credit:
            return check
        customer = deal.organization.sap_business_partner
        standing = self.credit_get(customer)
        disagree = check.erp_credit_ok is not None and standing is not None and ttl(CREDIT) > 0 and (
            standing.refuses(check.order_value) == check.erp_credit_ok)
        if disagree:
            logger.info("credit of %s: the ERP's verdict differs from the cached account; read again", customer)
            standing = self.credit_get(customer, fresh=True)
        check.credit = standing
        return check

    def rejection(self, error: HubError, deal: CanonicalDeal) -> Rejection | None:
        """The inner port's reading of the refusal; what it names is forgotten, so the retry is fresh."""
        found = self.inner.rejection(error, deal)
        if found is not None:
            value = deal.organization.sap_business_partner if found.field == "payment_terms" else found.value
            erp_cache_forget_field(field=found.field, values=[value], targets=[self.target])
        return found

    # -- the beat ------------------------------------------------------------------------------------
    def refresh(self, customers: Iterable[str]) -> int:
        """Read again what deals in flight need (customer, credit account, open items) and keep it."""
        done = 0
        for customer in customers:
            try:
                self._read(CUSTOMER, customer, partial(self.inner.customer_get, customer), fresh=True)
                self._read(CREDIT, customer, partial(self.inner.credit_get, customer), fresh=True)
            except NotFound:
                self.forget(CUSTOMER, customer)
                continue
            done += 1
        return done

    def close(self) -> None:
        self.inner.close()
