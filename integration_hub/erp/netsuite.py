"""The NetSuite adapter of the ERP port, over the SuiteTalk REST client in `connectors/netsuite.py`.

Every NetSuite detail the engine needs lives here: customers (record API, SuiteQL searches by
name and tax number), items (`inventoryItem` / `nonInventorySaleItem`, their price sublist by
price level), terms, the sales order upserted by `PUT salesOrder/eid:<Opportunity id>` (the deal's
key is the order's externalId, so a repeat can never make a second order), and the back-flow from
SuiteQL over `transaction`: the order's status letters, its invoices (`CustInvc` created from it,
with their unpaid amounts) and the payments that paid them.

NetSuite has no order simulation: `draft_check` computes what S/4's simulation answers — each
line's rate from the customer's price level (else the base price) less the deal's discount, and
the customer's credit limit and open invoices. An order number is NetSuite's `tranId`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from integration_hub.canonical import CanonicalDeal
from integration_hub.connectors.netsuite import NetSuiteClient, quote_suiteql
from integration_hub.erp.base import (
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
    PricedItem,
    Rejection,
    SalesArea,
)
from integration_hub.errors import HubError, NotFound, ValidationFailed

ZERO = Decimal("0")
CENT = Decimal("0.01")
# The account's currencies by base URL (internal id → ISO code): setup data, read once per process.
_CURRENCIES: dict[str, dict[str, str]] = {}
BASE_PRICE_LEVEL = "1"
# Sales order status letters (transaction.status): A Pending Approval, B Pending Fulfillment,
# C Cancelled, D Partially Fulfilled, E Pending Billing/Partially Fulfilled, F Pending Billing,
# G Billed, H Closed.
_ORDER_STATUS = {"A": "Delivery Block", "B": "Open", "C": "Cancelled", "D": "In Process", "E": "In Process",
                 "F": "In Process", "G": "Completed", "H": "Completed"}
_DELIVERY_STATUS = {"D": "Partially Delivered", "E": "Partially Delivered", "F": "Delivered", "G": "Delivered",
                    "H": "Delivered"}
_STATUS_NAMES = {"pending approval": "A", "pending fulfillment": "B", "cancelled": "C", "partially fulfilled": "D",
                 "pending billing/partially fulfilled": "E", "pending billing": "F", "billed": "G", "closed": "H"}
_LEGAL_SUFFIXES = {"corp", "corp.", "corporation", "inc", "inc.", "incorporated", "llc", "ltd", "ltd.", "gmbh",
                   "plc", "co", "co.", "company", "ag", "sa", "limited"}
_ID_IN_TEXT = re.compile(r"\b(\d+)\b")
CHUNK = 50  # ids per SuiteQL IN list


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _day(value: Any) -> date | None:
    if not value:
        return None
    text = str(value)
    return parse_date(text[:10]) or _us_day(text)


def _us_day(text: str) -> date | None:
    """SuiteQL answers dates in the account's format (M/D/YYYY by default)."""
    match = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})", text)
    return date(int(match.group(3)), int(match.group(1)), int(match.group(2))) if match else None


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    found = parse_datetime(str(value).replace("Z", "+00:00"))
    if found is None:
        day = _day(value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _ref(value: Any) -> str:
    """A reference's internal id: `{"id": "7", "refName": …}` or a bare value."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return "" if value is None else str(value)


def _items(value: Any) -> list[dict[str, Any]]:
    """A sublist, `{"items": [...]}`, or nothing."""
    if isinstance(value, dict):
        return list(value.get("items") or [])
    return list(value or [])


def _status_letter(value: Any) -> str:
    """`B`, `SalesOrd:B` or `{"id": "B", "refName": "Pending Fulfillment"}` → `B`."""
    if isinstance(value, dict):
        return _status_letter(value.get("id") or value.get("refName"))
    text = str(value or "").strip()
    if ":" in text:
        text = text.rsplit(":", 1)[-1]
    return text.upper() if len(text) == 1 else _STATUS_NAMES.get(text.lower(), "")


def _numeric(values: list[str]) -> list[str]:
    return sorted({v for v in values if v and v.isdigit()})


def _in(values: list[str], *, quoted: bool = False) -> list[str]:
    """`IN (…)` lists of at most CHUNK values."""
    unique = sorted(set(values))
    return [", ".join(quote_suiteql(v) if quoted else v for v in unique[i:i + CHUNK])
            for i in range(0, len(unique), CHUNK)]


def name_core(name: str) -> str:
    """The account name without its legal form, for a LIKE search."""
    words = [w for w in re.split(r"\s+", name.strip().replace(",", " ")) if w]
    while len(words) > 1 and words[-1].lower() in _LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words) or name.strip()


def customer_address(entry: dict[str, Any]) -> ErpAddress:
    address = entry.get("addressBookAddress") or entry
    street = " ".join(p for p in (str(address.get("addr1") or ""), str(address.get("addr2") or "")) if p)
    country = address.get("country")
    return ErpAddress(street=street, city=str(address.get("city") or ""), region=str(address.get("state") or ""),
                      postal_code=str(address.get("zip") or ""),
                      country=_ref(country) if isinstance(country, dict) else str(country or ""),
                      address_id=str(entry.get("internalId") or entry.get("id") or ""))


def line_rate(price: Decimal, *, discount_percent: Decimal, condition_percent: Decimal | None) -> Decimal:
    """The rate a line goes out at: the item's price less the deal's discount, or the price a
    pricing analyst approved (a percentage on the price, as S/4's manual condition)."""
    if condition_percent is not None:
        return (price * (1 + condition_percent / 100)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    return (price * (1 - discount_percent / 100)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


class NetSuiteErp:
    """`ErpPort` over one NetSuite account."""

    target = "netsuite"
    creates_idempotently = True  # PUT salesOrder/eid:<deal key>

    def __init__(self, client: NetSuiteClient) -> None:
        self.client = client
        self.default_sales_area = SalesArea(settings.NETSUITE_SUBSIDIARY, "", "")

    # -- master data -------------------------------------------------------------------------------
    def _candidates(self, where: str, matched_by: str, top: int) -> list[CustomerCandidate]:
        rows = self.client.suiteql(f"SELECT id, companyname FROM customer WHERE {where} ORDER BY id", limit=top)
        return [CustomerCandidate(str(r.get("id") or ""), str(r.get("companyname") or ""), matched_by) for r in rows]

    def customers_by_tax_number(self, number: str) -> list[CustomerCandidate]:
        compact = re.sub(r"[\s.-]", "", number or "").upper()
        if not compact:
            return []
        return self._candidates(f"UPPER(vatregnumber) = {quote_suiteql(compact)}", "tax_number", 20)

    def customers_by_name(self, name: str, *, top: int = 20) -> list[CustomerCandidate]:
        core = name_core(name).upper()
        if not core:
            return []
        like = quote_suiteql(f"%{core}%")
        return self._candidates(f"UPPER(companyname) LIKE {like}", "name", top)

    def _currency_ids(self) -> dict[str, str]:
        """The account's currencies, internal id → ISO code: read once per process (they are setup)."""
        key = self.client.base_url
        if key not in _CURRENCIES:
            _CURRENCIES[key] = {str(r.get("id")): str(r.get("symbol") or "").upper()
                                for r in self.client.suiteql("SELECT id, symbol FROM currency ORDER BY id")}
        return _CURRENCIES[key]

    def _currency_code(self, reference: Any) -> str:
        currency_id = _ref(reference)
        return self._currency_ids().get(currency_id, "") if currency_id else ""

    def customer_get(self, number: str) -> ErpCustomer:
        if not number:
            raise NotFound("no NetSuite customer id given", system="netsuite")
        record = self.client.record_get("customer", number)
        subsidiary = _ref(record.get("subsidiary")) or self.default_sales_area.sales_organization
        # A NetSuite customer is sold to by its subsidiary at its price level: the canonical sales
        # area's organisation and channel carry them to pricing and the order.
        area = SalesArea(subsidiary, _ref(record.get("priceLevel")) or BASE_PRICE_LEVEL, "",
                         currency=self._currency_code(record.get("currency")), payment_terms=_ref(record.get("terms")))
        return ErpCustomer(
            number=str(record.get("id") or number),
            name=str(record.get("companyName") or record.get("entityId") or ""),
            addresses=[customer_address(a) for a in _items(record.get("addressBook") or record.get("addressbook"))],
            sales_areas=[area], blocked=bool(record.get("isInactive")), preferred_sales_area=area,
        )

    def material_exists(self, material: str) -> bool:
        if not material.isdigit():
            return False
        return bool(self.client.suiteql(f"SELECT id FROM item WHERE id = {material}", limit=1))

    def materials_list(self) -> dict[str, str]:
        return {str(r.get("id")): str(r.get("displayname") or r.get("itemid") or "")
                for r in self.client.suiteql("SELECT id, itemid, displayname FROM item ORDER BY id")}

    def customers_list(self) -> list[CustomerSummary]:
        rows = self.client.suiteql("SELECT id, companyname, vatregnumber FROM customer ORDER BY id")
        return [CustomerSummary(number=str(r.get("id")), name=str(r.get("companyname") or ""),
                                tax_numbers=tuple(t for t in (str(r.get("vatregnumber") or ""),) if t))
                for r in rows]

    def payment_terms_keys(self) -> set[str]:
        return {str(r.get("id")) for r in self.client.suiteql("SELECT id, name FROM term ORDER BY id")}

    # -- a draft order -----------------------------------------------------------------------------
    def _prices(self, items: list[str]) -> dict[str, dict[tuple[str, str], Decimal]]:
        """Each item's pricing matrix, {(price level, currency id): price}, in one SuiteQL read."""
        found: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(dict)
        for chunk in _in(_numeric(items)):
            for row in self.client.suiteql(
                    f"SELECT item, pricelevel, currency, unitprice FROM pricing WHERE item IN ({chunk})"):
                price = _dec(row.get("unitprice"))
                if price is not None:
                    found[str(row.get("item"))][(str(row.get("pricelevel") or ""), str(row.get("currency") or ""))] = price
        return found

    def _priced_lines(self, deal: CanonicalDeal) -> list[tuple[PricedItem, Decimal]]:
        """Each (deal line, item) priced at the customer's price level (else the base price) in its
        currency: the item and the rate it will go out at. An item NetSuite cannot price is refused
        as NetSuite refuses an unknown item."""
        org = deal.organization
        level = org.distribution_channel or BASE_PRICE_LEVEL
        code = org.currency or deal.currency
        currency = next((i for i, c in self._currency_ids().items() if c == code), "")
        prices = self._prices([m.material for line in deal.lines for m in line.materials])
        priced = []
        number = 10
        for line in deal.lines:
            for material in line.materials:
                matrix = prices.get(material.material, {})
                price = matrix.get((level, currency), matrix.get((BASE_PRICE_LEVEL, currency)))
                if price is None:
                    raise ValidationFailed(
                        f"NetSuite has no price for item {material.material} in {code}", system="netsuite",
                        status=400, code="INVALID_KEY_OR_REF",
                        details=[f"Invalid item reference key {material.material} (no price at level {level} in {code})."],
                        body={"paths": [f"item.items[{number // 10 - 1}].item"]})
                rate = line_rate(price, discount_percent=line.discount_percent,
                                 condition_percent=line.price_condition_percent)
                net = (rate * material.quantity).quantize(CENT, ROUND_HALF_UP)
                priced.append((PricedItem(item=str(number), line_id=line.crm_line_id, material=material.material,
                                          quantity=material.quantity, net_amount=net), rate))
                number += 10
        return priced

    def draft_check(self, deal: CanonicalDeal, *, credit: bool = True) -> DraftCheck:
        """What S/4's simulation answers, computed: NetSuite prices nothing before the order exists."""
        items = [item for item, _rate in self._priced_lines(deal)]
        check = DraftCheck(items=items, total_net=sum((i.net_amount for i in items), ZERO),
                           currency=deal.organization.currency or deal.currency)
        if credit:
            check.credit = self.credit_get(deal.organization.sap_business_partner)
        return check

    def _credit(self, customer: dict[str, Any]) -> CreditStanding | None:
        limit = _dec(customer.get("creditLimit"))
        if limit is None:
            return None
        number = str(customer.get("id") or "")
        hold = str(_ref(customer.get("creditHoldOverride")) or customer.get("creditHoldOverride") or "").upper()
        items = self.open_items(number)
        balance = _dec(customer.get("balance"))
        if not items and balance:
            items = [OpenItem(amount=balance, due_date=None, document="balance")]
        return CreditStanding(limit=limit, currency=self._currency_code(customer.get("currency")),
                              blocked=hold == "ON", block_reason="credit hold" if hold == "ON" else "",
                              open_items=items)

    def credit_get(self, customer: str) -> CreditStanding | None:
        return self._credit(self.client.record_get("customer", customer, expand=False))

    def open_items(self, customer: str) -> list[OpenItem]:
        if not customer.isdigit():
            return []
        rows = self.client.suiteql(
            "SELECT id, tranid, duedate, foreignamountunpaid FROM transaction "
            f"WHERE type = 'CustInvc' AND entity = {customer} AND foreignamountunpaid > 0 ORDER BY duedate")
        return [OpenItem(amount=_dec(r.get("foreignamountunpaid")) or ZERO, due_date=_day(r.get("duedate")),
                         document=str(r.get("tranid") or r.get("id") or "")) for r in rows]

    def rejection(self, error: HubError, deal: CanonicalDeal) -> Rejection | None:
        body = error.body if isinstance(error.body, dict) else {}
        paths = " ".join(str(p) for p in body.get("paths") or []).lower()
        text = error.full_text()
        materials = {m.material for line in deal.lines for m in line.materials}
        if "item" in paths or "item" in text.lower():
            for found in _ID_IN_TEXT.findall(text):
                if found in materials:
                    return Rejection("material", found)
        if "terms" in paths or "terms" in text.lower():
            return Rejection("payment_terms", deal.payment_terms)
        if any(name in paths for name in ("entity", "subsidiary", "currency")) or "customer" in text.lower():
            return Rejection("customer", deal.organization.sap_business_partner)
        return None

    # -- orders ------------------------------------------------------------------------------------
    def sales_order_body(self, deal: CanonicalDeal, *, delivery_block: str = "") -> dict[str, Any]:
        """The whole order in one body (header and every line): all or nothing."""
        org = deal.organization
        lines = self._priced_lines(deal)
        body: dict[str, Any] = {
            "externalId": deal.opportunity_id,
            "otherRefNum": deal.opportunity_id,
            "entity": {"id": org.sap_business_partner},
            "subsidiary": {"id": org.sales_organization or self.default_sales_area.sales_organization},
            "tranDate": timezone.localdate().isoformat(),
            "memo": deal.name[:999],
            "item": {"items": [{"item": {"id": item.material}, "quantity": float(item.quantity or 0),
                                "rate": float(rate)} for item, rate in lines]},
        }
        if deal.payment_terms:
            body["terms"] = {"id": deal.payment_terms}
        if deal.requested_delivery_date:
            body["shipDate"] = deal.requested_delivery_date.isoformat()
        if delivery_block:
            body["orderStatus"] = {"id": "A"}  # pending approval: nothing is fulfilled until it is approved
        return body

    def order_from_record(self, record: dict[str, Any]) -> ErpOrder:
        status = _status_letter(record.get("orderStatus") or record.get("status"))
        return ErpOrder(
            number=str(record.get("tranId") or record.get("id") or ""),
            deal_key=str(record.get("externalId") or record.get("otherRefNum") or ""),
            customer=_ref(record.get("entity")), net_amount=_dec(record.get("subtotal") or record.get("total")),
            currency=self._currency_code(record.get("currency")), created_on=_day(record.get("tranDate")),
            delivery_block="approval" if status == "A" else "", payment_terms=_ref(record.get("terms")),
            items=[{"material": _ref(i.get("item")), "quantity": _dec(i.get("quantity")), "unit": "",
                    "net_amount": _dec(i.get("amount"))} for i in _items(record.get("item"))],
            ship_to=_ref(record.get("entity")), status=status,
        )

    def order_create(self, deal: CanonicalDeal, *, delivery_block: str = "") -> ErpOrder:
        """The upsert by the deal's key: a repeat updates the same order, never makes a second."""
        body = self.sales_order_body(deal, delivery_block=delivery_block)
        try:
            internal = self.client.record_upsert("salesOrder", deal.opportunity_id, body)
        except ValidationFailed:
            # The order exists and NetSuite refuses to change it (fulfilled, billed): it is the deal's order.
            existing = self.orders_find(deal.opportunity_id)
            if existing:
                return existing[0]
            raise
        record = self.client.record_get("salesOrder", internal or f"eid:{deal.opportunity_id}")
        return self.order_from_record(record)

    def orders_find(self, deal_key: str) -> list[ErpOrder]:
        record = self.client.record_find("salesOrder", f"eid:{deal_key}")
        return [self.order_from_record(record)] if record else []

    _ORDER_COLUMNS = "id, tranid, externalid, entity, foreigntotal, currency, trandate, status, lastmodifieddate"

    def _order_rows(self, where: str, *, order_by: str = "id", limit: int = 0) -> list[dict[str, Any]]:
        return self.client.suiteql(f"SELECT {self._ORDER_COLUMNS} FROM transaction "
                                   f"WHERE type = 'SalesOrd' AND {where} ORDER BY {order_by}", limit=limit)

    def _row_order(self, row: dict[str, Any], lines: list[dict[str, Any]] | None = None) -> ErpOrder:
        status = _status_letter(row.get("status"))
        return ErpOrder(
            number=str(row.get("tranid") or row.get("id") or ""), deal_key=str(row.get("externalid") or ""),
            customer=str(row.get("entity") or ""), net_amount=_dec(row.get("foreigntotal")),
            currency=self._currency_code(row.get("currency")), created_on=_day(row.get("trandate")),
            delivery_block="approval" if status == "A" else "", status=status,
            items=[{"material": str(li.get("item") or ""), "quantity": abs(_dec(li.get("quantity")) or ZERO),
                    "unit": "", "net_amount": abs(_dec(li.get("netamount")) or ZERO)} for li in lines or []],
        )

    def _lines(self, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for chunk in _in(_numeric(ids)):
            for row in self.client.suiteql(
                    "SELECT transaction, item, quantity, rate, netamount FROM transactionline "
                    f"WHERE transaction IN ({chunk}) AND mainline = 'F' ORDER BY transaction, id"):
                found[str(row.get("transaction"))].append(row)
        return found

    def orders_for_keys(self, deal_keys: list[str]) -> dict[str, list[ErpOrder]]:
        rows: list[dict[str, Any]] = []
        for chunk in _in(deal_keys, quoted=True):
            rows += self._order_rows(f"externalid IN ({chunk})")
        lines = self._lines([str(r.get("id")) for r in rows])
        found: dict[str, list[ErpOrder]] = defaultdict(list)
        for row in rows:
            order = self._row_order(row, lines.get(str(row.get("id"))))
            found[order.deal_key].append(order)
        return dict(found)

    def orders_created_between(self, *, start: date, end: date, skip: int = 0, top: int = 200) -> list[ErpOrder]:
        rows = self._order_rows(f"trandate >= TO_DATE({quote_suiteql(start.isoformat())}, 'YYYY-MM-DD') AND "
                                f"trandate <= TO_DATE({quote_suiteql(end.isoformat())}, 'YYYY-MM-DD')",
                                order_by="tranid", limit=skip + top)
        return [self._row_order(r) for r in rows[skip:skip + top]]

    def _internal_id(self, number: str) -> str:
        rows = self._order_rows(f"tranid = {quote_suiteql(number)}", limit=1)
        if not rows:
            raise NotFound(f"NetSuite has no sales order {number}", system="netsuite")
        return str(rows[0].get("id"))

    def order_get(self, number: str) -> ErpOrder:
        return self.order_from_record(self.client.record_get("salesOrder", self._internal_id(number)))

    def customer_orders(self, customer: str, *, top: int = 10) -> list[ErpOrder]:
        if not customer.isdigit():
            return []
        return [self._row_order(r) for r in self._order_rows(f"entity = {customer}", order_by="id DESC", limit=top)]

    def order_change(self, number: str, *, etag: str | None, delivery_block: str) -> str | None:
        # The record API has no ETag on a sales order: the change is the approval status only.
        self.client.record_update("salesOrder", self._internal_id(number),
                                  {"orderStatus": {"id": "A" if delivery_block else "B"}})
        return None

    def order_cancel(self, number: str, *, etag: str | None) -> None:
        self.client.record_update("salesOrder", self._internal_id(number), {"orderStatus": {"id": "C"}})

    # -- after the order ---------------------------------------------------------------------------
    def _invoices(self, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for chunk in _in(_numeric(order_ids)):
            # An invoice names the order it was made from on its main line (transactionline.createdfrom).
            for row in self.client.suiteql(
                    "SELECT t.id, t.tranid, l.createdfrom, t.trandate, t.duedate, t.foreigntotal, "
                    "t.foreignamountunpaid, t.status FROM transaction t JOIN transactionline l ON l.transaction = t.id "
                    f"WHERE t.type = 'CustInvc' AND l.mainline = 'T' AND l.createdfrom IN ({chunk}) ORDER BY t.id"):
                found[str(row.get("createdfrom"))].append(row)
        return found

    def _statuses(self, rows: list[dict[str, Any]]) -> list[ErpOrderStatus]:
        invoices = self._invoices([str(r.get("id")) for r in rows]) if rows else {}
        today = timezone.now().astimezone(UTC).date()
        statuses = []
        for row in rows:
            letter = _status_letter(row.get("status"))
            mine = invoices.get(str(row.get("id")), [])
            invoiced = sum((_dec(i.get("foreigntotal")) or ZERO for i in mine), ZERO)
            unpaid = sum((_dec(i.get("foreignamountunpaid")) or ZERO for i in mine), ZERO)
            if not mine:
                invoice_status = "Not Invoiced"
            elif unpaid <= 0:
                invoice_status = "Paid"
            elif any((_day(i.get("duedate")) or today) < today and (_dec(i.get("foreignamountunpaid")) or ZERO) > 0
                     for i in mine):
                invoice_status = "Overdue"
            elif unpaid < invoiced:
                invoice_status = "Partially Paid"
            else:
                invoice_status = "Open"
            latest = max(mine, key=lambda i: int(str(i.get("id") or 0))) if mine else {}
            statuses.append(ErpOrderStatus(
                number=str(row.get("tranid") or row.get("id") or ""), deal_key=str(row.get("externalid") or ""),
                customer=str(row.get("entity") or ""), order_status=_ORDER_STATUS.get(letter, "Open"),
                delivery_status=_DELIVERY_STATUS.get(letter, "Not Delivered"),
                invoice_number=str(latest.get("tranid") or ""), invoice_status=invoice_status,
                amount_invoiced=invoiced, amount_paid=max(ZERO, invoiced - unpaid),
                currency=self._currency_code(row.get("currency")), changed_at=_moment(row.get("lastmodifieddate")),
            ))
        return statuses

    def orders_changed(self, *, since: datetime, limit: int = 500) -> list[ErpOrderStatus]:
        # SuiteQL dates the last change by day: the poll re-reads the day it last saw (statuses compare
        # before anything is written back, so a re-read costs a read, never a write).
        day = since.astimezone(UTC).date().isoformat()
        rows = self._order_rows(f"lastmodifieddate >= TO_DATE({quote_suiteql(day)}, 'YYYY-MM-DD')",
                                order_by="lastmodifieddate, id", limit=limit)
        return self._statuses(rows)

    def order_statuses(self, numbers: list[str]) -> list[ErpOrderStatus]:
        rows: list[dict[str, Any]] = []
        for chunk in _in(numbers, quoted=True):
            rows += self._order_rows(f"tranid IN ({chunk})")
        return self._statuses(rows)

    def customer_standing(self, customer: str) -> CustomerStanding:
        record = self.client.record_get("customer", customer, expand=False)
        items = self.open_items(customer)
        today = timezone.now().astimezone(UTC).date()
        overdue = [i.due_date for i in items if i.due_date is not None and i.due_date < today and i.amount > 0]
        hold = str(_ref(record.get("creditHoldOverride")) or record.get("creditHoldOverride") or "").upper()
        return CustomerStanding(
            customer=customer, credit_blocked=hold == "ON",
            open_ar=sum((i.amount for i in items), ZERO) or (_dec(record.get("balance")) or ZERO),
            days_past_due=(today - min(overdue)).days if overdue else 0,
            currency=self._currency_code(record.get("currency")),
        )

    def order_documents(self, number: str) -> list[ErpDocument]:
        rows = self._order_rows(f"tranid = {quote_suiteql(number)}", limit=1)
        if not rows:
            return []
        order_id = str(rows[0].get("id"))
        documents: list[ErpDocument] = []
        letter = _status_letter(rows[0].get("status"))
        if letter in _DELIVERY_STATUS:
            documents.append(ErpDocument(kind="delivery", number=f"{number}-F", order=number,
                                         on=_day(rows[0].get("lastmodifieddate")),
                                         status="Goods issued" if _DELIVERY_STATUS[letter] == "Delivered"
                                         else "Partially fulfilled"))
        for invoice in self._invoices([order_id]).get(order_id, []):
            total = _dec(invoice.get("foreigntotal")) or ZERO
            unpaid = _dec(invoice.get("foreignamountunpaid")) or ZERO
            tranid = str(invoice.get("tranid") or invoice.get("id") or "")
            status = "Paid" if unpaid <= 0 else "Partially Paid" if unpaid < total else "Open"
            documents.append(ErpDocument(kind="invoice", number=tranid, order=number, on=_day(invoice.get("trandate")),
                                         amount=total, currency=str(rows[0].get("currency") or ""), status=status))
            if total - unpaid > 0:
                documents.append(ErpDocument(
                    kind="payment", number=f"{tranid}-PAY", order=number, on=_day(invoice.get("trandate")),
                    amount=total - unpaid, currency=str(rows[0].get("currency") or ""),
                    status="Paid" if unpaid <= 0 else "Partial payment", reference=tranid))
        return documents

    def document_find(self, number: str) -> ErpDocument | None:
        rows = self.client.suiteql(
            "SELECT t.id, t.tranid, l.createdfrom, t.trandate, t.foreigntotal, t.foreignamountunpaid "
            "FROM transaction t JOIN transactionline l ON l.transaction = t.id "
            f"WHERE t.type = 'CustInvc' AND l.mainline = 'T' AND t.tranid = {quote_suiteql(number)}", limit=1)
        if not rows:
            return None
        row = rows[0]
        order_rows = self._order_rows(f"id = {int(row.get('createdfrom') or 0)}", limit=1)
        total = _dec(row.get("foreigntotal")) or ZERO
        unpaid = _dec(row.get("foreignamountunpaid")) or ZERO
        return ErpDocument(kind="invoice", number=str(row.get("tranid") or ""),
                           order=str(order_rows[0].get("tranid") or "") if order_rows else "",
                           on=_day(row.get("trandate")), amount=total,
                           status="Paid" if unpaid <= 0 else "Partially Paid" if unpaid < total else "Open")

    def close(self) -> None:
        self.client.close()
