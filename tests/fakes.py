"""A fake ERP port: the whole S/4 world of the shared catalogue in memory, no HTTP.

The pipeline's tests run against it as well as against the SAP sandbox, so the port is shown to
be the only way the engine reaches an ERP. It prices the way the sandbox does (PPR0 × FX, the
customer's K007, the deal's item discount), keeps credit and receivables from the catalogue, and
can be told to fail: `fail_next(op, error)` raises once, `fail_any_next(error, times=n)` fails the
next n calls whatever they are (an outage), `drop_next_create()` commits an order and then answers
with an unknown outcome, and `crash_after_next_create(error)` commits an order and then raises
`error` (the worker dies before it hears back). After an order: `status_set(number, **fields)` changes
its status (and its change time, unless `moved=False`, as a payment in FI leaves it),
`standing_set(customer, **fields)` the customer's credit standing and `document_add(document)`
gives an order a delivery, an invoice or a payment.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from crosswalks.matching import name_similarity
from integration_hub.canonical import CanonicalDeal
from integration_hub.erp.base import (
    DOCUMENT_KINDS,
    CreditStanding,
    CustomerCandidate,
    CustomerStanding,
    CustomerSummary,
    DraftCheck,
    ErpAddress,
    ErpCustomer,
    ErpDocument,
    ErpOrder,
    ErpOrderStatus,
    OpenItem,
    PriceCondition,
    PricedItem,
    Rejection,
    SalesArea,
)
from integration_hub.errors import AmbiguousOutcome, HubError, NotFound, StaleETag, ValidationFailed
from integration_hub.sandbox import catalog

CENT = Decimal("0.01")


def _compact(number: str) -> str:
    return re.sub(r"[\s.-]", "", number or "")


class FakeErp:
    """`ErpPort` in memory, seeded from `integration_hub.sandbox.catalog`."""

    target = "s4hana"
    creates_idempotently = False

    def __init__(self) -> None:
        self.default_sales_area = SalesArea("1710", "10", "00")
        self.calls: list[str] = []
        self.orders: dict[str, ErpOrder] = {}
        self._numbers = itertools.count(5000001)
        self._failures: dict[str, list[HubError]] = {}
        self._drop_next_create = False
        self._any_failures: list[HubError] = []
        self._crash_after_create: BaseException | None = None
        self.companies = {c.business_partner: c for c in catalog.companies() if c.in_sap}
        self.materials = {m.material: m for m in catalog.materials()}
        self.discounts = dict(catalog.customer_discounts())
        self.statuses: dict[str, ErpOrderStatus] = {}
        self.standings: dict[str, CustomerStanding] = {}
        self.documents: list[ErpDocument] = []

    # -- test controls -------------------------------------------------------------------------
    def fail_next(self, operation: str, error: HubError, *, times: int = 1) -> None:
        self._failures.setdefault(operation, []).extend([error] * times)

    def fail_any_next(self, error: HubError, *, times: int = 1) -> None:
        self._any_failures.extend([error] * times)

    def drop_next_create(self) -> None:
        self._drop_next_create = True

    def crash_after_next_create(self, error: BaseException | None) -> None:
        self._crash_after_create = error

    def faults_clear(self) -> None:
        self._failures.clear()
        self._any_failures.clear()
        self._drop_next_create = False
        self._crash_after_create = None

    def _enter(self, operation: str) -> None:
        self.calls.append(operation)
        if self._any_failures:
            raise self._any_failures.pop(0)
        pending = self._failures.get(operation)
        if pending:
            raise pending.pop(0)

    # -- master data -----------------------------------------------------------------------------
    def customers_by_tax_number(self, number: str) -> list[CustomerCandidate]:
        self._enter("customers_by_tax_number")
        wanted = _compact(number)
        return [CustomerCandidate(c.business_partner, c.legal_name, "tax_number") for c in self.companies.values()
                if wanted and wanted in (_compact(c.tax_id), _compact(c.duns))]

    def customers_by_name(self, name: str, *, top: int = 20) -> list[CustomerCandidate]:
        self._enter("customers_by_name")
        scored = sorted(((name_similarity(name, c.legal_name), c) for c in self.companies.values()),
                        key=lambda row: -row[0])
        return [CustomerCandidate(c.business_partner, c.legal_name, "name") for score, c in scored[:top] if score >= 0.4]

    def customer_get(self, number: str) -> ErpCustomer:
        self._enter("customer_get")
        company = self.companies.get(number)
        if company is None:
            raise NotFound(f"no business partner {number}", system="sap", status=404)
        area = company.sales_area
        sales_area = SalesArea(area.sales_organization, area.distribution_channel, area.division, area.currency,
                               company.payment_terms)
        address = ErpAddress(street=f"{company.house_number} {company.street}".strip(), city=company.city,
                             region=company.region, postal_code=company.postal_code, country=company.country,
                             address_id="1")
        return ErpCustomer(number=number, name=company.legal_name, addresses=[address], sales_areas=[sales_area],
                           preferred_sales_area=sales_area)

    def material_exists(self, material: str) -> bool:
        self._enter("material_exists")
        return material in self.materials

    def materials_list(self) -> dict[str, str]:
        self._enter("materials_list")
        return {m.material: m.description for m in self.materials.values()}

    def customers_list(self) -> list[CustomerSummary]:
        self._enter("customers_list")
        return [CustomerSummary(c.business_partner, c.legal_name, (c.tax_id,) if c.tax_id else ())
                for c in self.companies.values()]

    def payment_terms_keys(self) -> set[str]:
        return set(catalog.PAYMENT_TERMS)

    # -- a draft order -----------------------------------------------------------------------------
    def _price(self, deal: CanonicalDeal) -> list[PricedItem]:
        org = deal.organization
        company = self.companies[org.sap_business_partner]
        fx = catalog.FX_FROM_USD[company.sales_area.currency]
        k007 = self.discounts.get(company.business_partner, Decimal("0"))
        items, number = [], 10
        for line in deal.lines:
            for material in line.materials:
                known = self.materials.get(material.material)
                if known is None:
                    raise ValidationFailed(f"Material {material.material} does not exist", system="sap", status=400)
                unit = (known.price * fx).quantize(CENT)
                gross = unit * material.quantity
                customer = gross * k007 / 100
                rate = line.price_condition_percent if line.price_condition_percent is not None else -line.discount_percent
                net = ((gross + customer) * (1 + rate / 100)).quantize(CENT, ROUND_HALF_UP)
                items.append(PricedItem(item=str(number), line_id=line.crm_line_id, material=material.material,
                                        quantity=material.quantity, net_amount=net,
                                        conditions=[PriceCondition("PPR0", unit, gross), PriceCondition("K007", k007, customer),
                                                    PriceCondition("DCM2", rate, net - gross - customer)]))
                number += 10
        return items

    def draft_check(self, deal: CanonicalDeal, *, credit: bool = True) -> DraftCheck:
        self._enter("draft_check")
        items = self._price(deal)
        check = DraftCheck(items=items, total_net=sum((i.net_amount for i in items), Decimal("0")),
                           currency=self.companies[deal.organization.sap_business_partner].sales_area.currency)
        if credit:
            check.credit = self.credit_get(deal.organization.sap_business_partner)
        return check

    def credit_get(self, customer: str) -> CreditStanding | None:
        self._enter("credit_get")
        company = self.companies.get(customer)
        if company is None or not company.credit_limit:
            return None
        return CreditStanding(limit=company.credit_limit, currency=company.sales_area.currency,
                              open_items=self.open_items(customer))

    def open_items(self, customer: str) -> list[OpenItem]:
        company = self.companies.get(customer)
        today = timezone.localdate()
        return [OpenItem(amount=amount, due_date=today - timedelta(days=days))
                for amount, days in (company.open_items if company else ())]

    def rejection(self, error: HubError, deal: CanonicalDeal) -> Rejection | None:
        text = error.full_text()
        for line in deal.lines:
            for material in line.materials:
                if material.material in text:
                    return Rejection("material", material.material)
        if "payment terms" in text.lower():
            return Rejection("payment_terms", deal.payment_terms)
        return None

    # -- orders ------------------------------------------------------------------------------------
    def order_create(self, deal: CanonicalDeal, *, delivery_block: str = "") -> ErpOrder:
        self._enter("order_create")
        items = self._price(deal)
        number = str(next(self._numbers))
        order = ErpOrder(
            number=number, deal_key=deal.opportunity_id, customer=deal.organization.sap_business_partner,
            net_amount=sum((i.net_amount for i in items), Decimal("0")), currency=deal.organization.currency,
            created_on=timezone.localdate(), delivery_block=delivery_block, payment_terms=deal.payment_terms,
            etag="1", ship_to=deal.ship_to.sap_ship_to or deal.organization.sap_business_partner,
            items=[{"material": i.material, "quantity": i.quantity, "unit": "", "net_amount": i.net_amount}
                   for i in items],
        )
        self.orders[number] = order
        self.statuses[number] = ErpOrderStatus(number=number, deal_key=order.deal_key, customer=order.customer,
                                               order_status="Delivery Block" if delivery_block else "Open",
                                               currency=order.currency, changed_at=timezone.now())
        if self._crash_after_create is not None:
            crash, self._crash_after_create = self._crash_after_create, None
            raise crash
        if self._drop_next_create:
            self._drop_next_create = False
            raise AmbiguousOutcome("connection reset after the request was sent", system="sap")
        return replace(order)

    def orders_find(self, deal_key: str) -> list[ErpOrder]:
        self._enter("orders_find")
        return [replace(o) for o in self.orders.values() if o.deal_key == deal_key]

    def orders_for_keys(self, deal_keys: list[str]) -> dict[str, list[ErpOrder]]:
        self._enter("orders_for_keys")
        found: dict[str, list[ErpOrder]] = {}
        for order in sorted(self.orders.values(), key=lambda o: int(o.number)):
            if order.deal_key in deal_keys:
                found.setdefault(order.deal_key, []).append(replace(order))
        return found

    def orders_created_between(self, *, start: date, end: date, skip: int = 0, top: int = 200) -> list[ErpOrder]:
        self._enter("orders_created_between")
        rows = sorted((o for o in self.orders.values() if o.created_on and start <= o.created_on <= end),
                      key=lambda o: int(o.number))
        return [replace(o) for o in rows[skip:skip + top]]

    def order_get(self, number: str) -> ErpOrder:
        self._enter("order_get")
        if number not in self.orders:
            raise NotFound(f"no sales order {number}", system="sap", status=404)
        return replace(self.orders[number])

    def customer_orders(self, customer: str, *, top: int = 10) -> list[ErpOrder]:
        self._enter("customer_orders")
        return [replace(o) for o in self.orders.values() if o.customer == customer][-top:]

    def order_change(self, number: str, *, etag: str | None, delivery_block: str) -> str | None:
        self._enter("order_change")
        order = self.orders[number]
        if etag != order.etag:
            raise StaleETag("the order changed since it was read", system="sap", status=412)
        order.delivery_block = delivery_block
        order.etag = str(int(order.etag or "0") + 1)
        status = self.statuses[number]
        if status.order_status in ("Open", "Delivery Block"):
            self.status_set(number, order_status="Delivery Block" if delivery_block else "Open")
        return order.etag

    def order_cancel(self, number: str, *, etag: str | None) -> None:
        self._enter("order_cancel")
        order = self.orders[number]
        if etag != order.etag:
            raise StaleETag("the order changed since it was read", system="sap", status=412)
        del self.orders[number]

    # -- after the order ---------------------------------------------------------------------------
    def status_set(self, number: str, *, moved: bool = True, **fields: object) -> ErpOrderStatus:
        current = self.statuses[number]
        changed_at = timezone.now() if moved else current.changed_at
        self.statuses[number] = replace(current, changed_at=changed_at, **fields)  # type: ignore[arg-type]
        return self.statuses[number]

    def standing_set(self, customer: str, **fields: object) -> CustomerStanding:
        self.standings[customer] = replace(self.customer_standing(customer), **fields)  # type: ignore[arg-type]
        return self.standings[customer]

    def orders_changed(self, *, since: datetime, limit: int = 500) -> list[ErpOrderStatus]:
        self._enter("orders_changed")
        found = [s for s in self.statuses.values() if s.changed_at is not None and s.changed_at >= since]
        return sorted(found, key=lambda s: (s.changed_at, s.number))[:limit]

    def order_statuses(self, numbers: list[str]) -> list[ErpOrderStatus]:
        self._enter("order_statuses")
        return [self.statuses[n] for n in numbers if n in self.statuses]

    def customer_standing(self, customer: str) -> CustomerStanding:
        if customer in self.standings:
            return self.standings[customer]
        items = self.open_items(customer)
        today = timezone.localdate()
        overdue = [i.due_date for i in items if i.due_date is not None and i.due_date < today]
        return CustomerStanding(customer=customer, open_ar=sum((i.amount for i in items), Decimal("0")),
                                days_past_due=(today - min(overdue)).days if overdue else 0)

    def document_add(self, document: ErpDocument) -> ErpDocument:
        self.documents.append(document)
        return document

    def order_documents(self, number: str) -> list[ErpDocument]:
        self._enter("order_documents")
        return sorted((d for d in self.documents if d.order == number),
                      key=lambda d: (d.on or date.min, DOCUMENT_KINDS.index(d.kind), d.number))

    def document_find(self, number: str) -> ErpDocument | None:
        self._enter("document_find")
        return next((d for d in self.documents if d.number == number and d.kind != "payment"), None)

    def close(self) -> None:
        pass
