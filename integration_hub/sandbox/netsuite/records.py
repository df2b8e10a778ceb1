"""The record types of the NetSuite sandbox: their fields, how a body is read, what a GET shows.

A body is checked field by field against its record type (unknown fields follow
`X-NetSuite-PropertyNameValidation`, default Warning: ignored), references are resolved (`{"id": "12"}`,
`{"id": "eid:X"}` or `{"externalId": "X"}`), then the record type's own rules fill defaults and
derived values (tranId, rates from the price level, totals, statuses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils import timezone

from integration_hub.sandbox.netsuite import store
from integration_hub.sandbox.netsuite.errors import invalid_value, user_error
from integration_hub.sandbox.netsuite.models import NsRecord

Row = dict[str, Any]
ZERO = Decimal("0")
CENT = Decimal("0.01")
ITEM_TYPES = ("inventoryItem", "nonInventorySaleItem")
TRANSACTION_TYPES = ("salesOrder", "invoice", "customerPayment", "itemFulfillment")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text, bool, number, integer, date, ref, enum, address
    refs: tuple[str, ...] = ()  # record types a reference may name
    label: str = ""  # how NetSuite names the field in "Please enter value(s) for: ..."
    readonly: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sublist:
    name: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class RecordType:
    name: str  # the URL path: salesOrder
    table: str  # the id space (and SuiteQL table family)
    fields: tuple[Field, ...]
    sublists: tuple[Sublist, ...] = ()
    writable: bool = True  # itemFulfillment: only through a transform
    prefix: str = ""  # tranId prefix of a transaction type
    type_code: str = ""  # SuiteQL transaction.type

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def sublist(self, name: str) -> Sublist | None:
        return next((s for s in self.sublists if s.name == name), None)


def _ref(name: str, *types: str, label: str = "", readonly: bool = False) -> Field:
    return Field(name, "ref", refs=types, label=label or name, readonly=readonly)


_ADDRESS = Sublist("addressBook", (
    Field("addressBookAddress", "address"), Field("defaultBilling", "bool"), Field("defaultShipping", "bool"),
    Field("label", "text"), Field("id", "integer", readonly=True),
))
ADDRESS_FIELDS = ("addressee", "attention", "addr1", "addr2", "addr3", "city", "state", "zip", "country", "addrPhone")
_ORDER_LINES = Sublist("item", (
    _ref("item", *ITEM_TYPES, label="Item"), Field("quantity", "number", label="Quantity"), Field("rate", "number"),
    Field("amount", "number"), Field("description", "text"), _ref("price", "priceLevel"),
    Field("isClosed", "bool"), Field("line", "integer"), Field("quantityFulfilled", "number", readonly=True),
    Field("quantityBilled", "number", readonly=True), Field("itemType", "enum", readonly=True),
))
_INVOICE_LINES = Sublist("item", (
    _ref("item", *ITEM_TYPES, label="Item"), Field("quantity", "number", label="Quantity"), Field("rate", "number"),
    Field("amount", "number"), Field("description", "text"), Field("line", "integer"),
    Field("orderLine", "integer"),
))
_FULFILMENT_LINES = Sublist("item", (
    _ref("item", *ITEM_TYPES, readonly=True), Field("quantity", "number"), Field("orderLine", "integer"),
    Field("line", "integer", readonly=True),
))
_APPLY = Sublist("apply", (
    _ref("doc", "invoice", label="Invoice"), Field("apply", "bool"), Field("amount", "number"),
    Field("line", "integer", readonly=True),
))
_PRICES = Sublist("price", (
    _ref("currencyPage", "currency", label="Currency"), _ref("priceLevel", "priceLevel", label="Price Level"),
    Field("price", "number", label="Price"), Field("quantity", "quantity"),
))
_TRANSACTION_HEADER = (
    Field("tranId", "text"), Field("tranDate", "date"), Field("memo", "text"), Field("otherRefNum", "text"),
    _ref("subsidiary", "subsidiary"), _ref("currency", "currency"), Field("externalId", "text"),
    Field("total", "number", readonly=True), Field("subTotal", "number", readonly=True),
    Field("status", "enum", readonly=True), Field("createdDate", "datetime", readonly=True),
    Field("lastModifiedDate", "datetime", readonly=True),
)
_ITEM_FIELDS = (
    Field("itemId", "text", label="Item Name/Number"), Field("displayName", "text"),
    Field("salesDescription", "text"), Field("isInactive", "bool"), Field("externalId", "text"),
    _ref("subsidiary", "subsidiary"), Field("createdDate", "datetime", readonly=True),
    Field("lastModifiedDate", "datetime", readonly=True), Field("itemType", "enum", readonly=True),
)

RECORD_TYPES: dict[str, RecordType] = {rt.name: rt for rt in (
    RecordType("customer", "customer", (
        Field("entityId", "text"), Field("companyName", "text", label="Company Name"), Field("isPerson", "bool"),
        Field("firstName", "text", label="First Name"), Field("lastName", "text", label="Last Name"),
        Field("email", "text"), Field("phone", "text"), Field("vatRegNumber", "text"), Field("comments", "text"),
        _ref("subsidiary", "subsidiary", label="Primary Subsidiary"), _ref("currency", "currency"),
        _ref("terms", "term"), _ref("priceLevel", "priceLevel"), Field("creditLimit", "number"),
        Field("isInactive", "bool"), Field("externalId", "text"),
        Field("balance", "number", readonly=True), Field("overdueBalance", "number", readonly=True),
        Field("unbilledOrders", "number", readonly=True), Field("dateCreated", "datetime", readonly=True),
        Field("lastModifiedDate", "datetime", readonly=True),
    ), (_ADDRESS,)),
    RecordType("inventoryItem", "item", _ITEM_FIELDS, (_PRICES,), type_code="InvtPart"),
    RecordType("nonInventorySaleItem", "item", _ITEM_FIELDS, (_PRICES,), type_code="NonInvtPart"),
    RecordType("salesOrder", "transaction", (
        _ref("entity", "customer", label="Customer"), _ref("terms", "term"),
        Field("orderStatus", "enum", choices=("A", "B")), Field("shipDate", "date"),
        *_TRANSACTION_HEADER,
    ), (_ORDER_LINES,), prefix="SO", type_code="SalesOrd"),
    RecordType("invoice", "transaction", (
        _ref("entity", "customer", label="Customer"), _ref("terms", "term"), Field("dueDate", "date"),
        _ref("createdFrom", "salesOrder", readonly=True), Field("amountPaid", "number", readonly=True),
        Field("amountRemaining", "number", readonly=True), Field("amountRemainingTotalBox", "number", readonly=True),
        *_TRANSACTION_HEADER,
    ), (_INVOICE_LINES,), prefix="INV", type_code="CustInvc"),
    RecordType("customerPayment", "transaction", (
        _ref("customer", "customer", label="Customer"), Field("payment", "number", label="Payment Amount"),
        Field("applied", "number", readonly=True), Field("unapplied", "number", readonly=True),
        *_TRANSACTION_HEADER,
    ), (_APPLY,), prefix="PYMT", type_code="CustPymt"),
    RecordType("itemFulfillment", "transaction", (
        _ref("entity", "customer", readonly=True), _ref("createdFrom", "salesOrder", readonly=True),
        Field("shipStatus", "enum", readonly=True), *_TRANSACTION_HEADER,
    ), (_FULFILMENT_LINES,), writable=False, prefix="IF", type_code="ItemShip"),
    RecordType("term", "term", (
        Field("name", "text", label="Terms"), Field("daysUntilNetDue", "integer"), Field("discountPercent", "number"),
        Field("daysUntilExpiry", "integer"), Field("preferred", "bool"), Field("isInactive", "bool"),
        Field("externalId", "text"),
    )),
    RecordType("subsidiary", "subsidiary", (
        Field("name", "text", label="Name"), Field("country", "enum"), _ref("currency", "currency", label="Currency"),
        _ref("parent", "subsidiary"), Field("isInactive", "bool"), Field("externalId", "text"),
    )),
    RecordType("currency", "currency", (
        Field("name", "text", label="Name"), Field("symbol", "text", label="ISO Code"), Field("exchangeRate", "number"),
        Field("isBaseCurrency", "bool", readonly=True), Field("currencyPrecision", "integer"),
        Field("isInactive", "bool"), Field("externalId", "text"),
    )),
    RecordType("priceLevel", "priceLevel", (
        Field("name", "text", label="Name"), Field("discountPct", "number"), Field("isInactive", "bool"),
        Field("externalId", "text"),
    )),
)}
LOWER_NAMES = {name.lower(): name for name in RECORD_TYPES}
ORDER_STATUS = {"A": "Pending Approval", "B": "Pending Fulfillment", "C": "Cancelled", "D": "Partially Fulfilled",
                "E": "Pending Billing/Partially Fulfilled", "F": "Pending Billing", "G": "Billed", "H": "Closed"}
INVOICE_STATUS = {"A": "Open", "B": "Paid In Full"}
PAYMENT_STATUS = {"C": "Deposited"}
FULFILMENT_STATUS = {"C": "Shipped"}
STATUS_NAMES = {"SalesOrd": ORDER_STATUS, "CustInvc": INVOICE_STATUS, "CustPymt": PAYMENT_STATUS,
                "ItemShip": FULFILMENT_STATUS}
TYPE_NAMES = {"SalesOrd": "Sales Order", "CustInvc": "Invoice", "CustPymt": "Payment", "ItemShip": "Item Fulfillment",
              "InvtPart": "Inventory Item", "NonInvtPart": "Non-inventory Item"}
COUNTRIES = {"US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany", "FR": "France",
             "IE": "Ireland", "NL": "Netherlands"}


def record_type(name: str) -> RecordType | None:
    canonical = LOWER_NAMES.get(name.lower())
    return RECORD_TYPES[canonical] if canonical else None


# -- values ----------------------------------------------------------------------------------------
def dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def today() -> date:
    return timezone.now().astimezone(UTC).date()


def now_iso() -> str:
    return timezone.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Reader:
    """Turns one request body into internal values, resolving references once."""

    def __init__(self, rtype: RecordType, *, strict_names: bool) -> None:
        self.rtype = rtype
        self.strict_names = strict_names

    def unknown(self, name: str, path: str) -> None:
        if self.strict_names:
            raise user_error(f'Invalid field name "{name}" for record type {self.rtype.name}.', path=path)

    def value(self, spec: Field, raw: Any, path: str) -> Any:
        if raw is None:
            return None
        kind = spec.kind
        if kind == "text":
            if not isinstance(raw, str | int | float) or isinstance(raw, bool):
                raise invalid_value(spec.name, raw, path=path)
            return str(raw)
        if kind == "bool":
            if not isinstance(raw, bool):
                raise invalid_value(spec.name, raw, path=path)
            return raw
        if kind in ("number", "integer"):
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise invalid_value(spec.name, raw, path=path)
            try:
                number = Decimal(str(raw))
            except InvalidOperation:
                raise invalid_value(spec.name, raw, path=path) from None
            if not number.is_finite() or (kind == "integer" and number != number.to_integral_value()):
                raise invalid_value(spec.name, raw, path=path)
            return int(number) if kind == "integer" else str(number)
        if kind == "date":
            try:
                return date.fromisoformat(raw).isoformat() if isinstance(raw, str) and len(raw) == 10 else _bad(spec, raw, path)
            except ValueError:
                raise invalid_value(spec.name, raw, path=path) from None
        if kind == "enum":
            code = raw.get("id") if isinstance(raw, dict) else raw
            if not isinstance(code, str) or (spec.choices and code not in spec.choices) or \
                    (spec.name == "country" and code not in COUNTRIES):
                raise invalid_value(spec.name, code, path=path)
            return code
        if kind == "ref":
            return self.reference(spec, raw, path)
        if kind == "address":
            if not isinstance(raw, dict):
                raise invalid_value(spec.name, raw, path=path)
            address: Row = {}
            for name, part in raw.items():
                if name in ("links", "id", "addrText"):
                    continue
                if name not in ADDRESS_FIELDS:
                    self.unknown(name, f"{path}.{name}")
                    continue
                address[name] = self.value(Field(name, "enum" if name == "country" else "text"), part, f"{path}.{name}")
            return address
        if kind == "quantity":
            return raw.get("value", 0) if isinstance(raw, dict) else raw
        raise AssertionError(kind)

    def reference(self, spec: Field, raw: Any, path: str) -> str:
        if isinstance(raw, dict) and isinstance(raw.get("externalId"), str):
            key = "eid:" + raw["externalId"]
        elif isinstance(raw, dict) and isinstance(raw.get("id"), str | int) and not isinstance(raw.get("id"), bool):
            key = str(raw["id"])
        else:
            raise invalid_value(spec.name, raw, path=path, reference=True)
        found = store.find(spec.refs, key)
        if found is None:
            raise invalid_value(spec.name, key, path=path, reference=True)
        return str(found.internal_id)

    def header(self, body: Row, data: Row, *, creating: bool) -> None:
        """Body fields into `data` (sublists are left to `lines`)."""
        for name, raw in body.items():
            if name in ("links", "id", "refName") or self.rtype.sublist(name):
                continue
            spec = self.rtype.field(name)
            if spec is None:
                self.unknown(name, name)
                continue
            if spec.readonly:
                raise user_error(f"You cannot set the read-only field {name}.", path=name)
            value = self.value(spec, raw, name)
            if spec.name == "orderStatus" and not creating:
                # Repeating the status an order was created with (an upsert sent again) changes nothing.
                if value == data.get("_status", "B"):
                    continue
                raise user_error("The order status can only be set when the order is created.", path=name)
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value

    def lines(self, sublist: Sublist, raw: Any) -> list[Row]:
        items = raw.get("items") if isinstance(raw, dict) else None
        if not isinstance(items, list):
            raise invalid_value(sublist.name, "(not {\"items\": [...]})", path=sublist.name)
        result = []
        for index, item in enumerate(items):
            path = f"{sublist.name}.items[{index}]"
            if not isinstance(item, dict):
                raise invalid_value(sublist.name, item, path=path)
            line: Row = {}
            for name, value in item.items():
                if name == "links":
                    continue
                spec = sublist.field(name)
                if spec is None:
                    self.unknown(name, f"{path}.{name}")
                    continue
                if spec.readonly:
                    raise user_error(f"You cannot set the read-only field {name}.", path=f"{path}.{name}")
                converted = self.value(spec, value, f"{path}.{name}")
                if converted is not None:
                    line[name] = converted
            result.append(line)
        return result


def _bad(spec: Field, raw: Any, path: str) -> Any:
    raise invalid_value(spec.name, raw, path=path)


def required(data: Row, rtype: RecordType, *names: str) -> None:
    missing = [n for n in names if data.get(n) in (None, "")]
    if missing:
        labels = ", ".join((rtype.field(n) or Field(n, "text")).label or n for n in missing)
        raise user_error(f"Please enter value(s) for: {labels}.", path=missing[0])


def get_data(record_types: tuple[str, ...] | str, internal_id: str | int | None) -> Row:
    if internal_id in (None, ""):
        return {}
    types = (record_types,) if isinstance(record_types, str) else record_types
    found = store.find(types, str(internal_id))
    return dict(found.data) if found else {}


# -- derived values shared by the record API, SuiteQL and the events --------------------------------
def line_amount(line: Row) -> Decimal:
    return (dec(line.get("quantity")) * dec(line.get("rate"))).quantize(CENT, rounding=ROUND_HALF_UP)


def fulfillable(line: Row) -> bool:
    return line.get("itemType") == "InvtPart"


def billable_quantity(line: Row) -> Decimal:
    """What an invoice may bill of an order line: fulfilled and unbilled (ordered and unbilled when
    the item is not fulfilled: non-inventory sale items)."""
    if line.get("isClosed"):
        return ZERO
    ceiling = dec(line.get("quantityFulfilled")) if fulfillable(line) else dec(line.get("quantity"))
    return max(ZERO, ceiling - dec(line.get("quantityBilled")))


def order_status(data: Row) -> str:
    status = data.get("_status", "B")
    if status in ("A", "C", "H"):
        return str(status)
    lines = [line for line in data.get("item", []) if not line.get("isClosed")]
    if not lines:
        return "H"
    ordered = sum((dec(line.get("quantity")) for line in lines), ZERO)
    billed = sum((dec(line.get("quantityBilled")) for line in lines), ZERO)
    if billed >= ordered:
        return "G"
    inventory = [line for line in lines if fulfillable(line)]
    fulfilled = sum((dec(line.get("quantityFulfilled")) for line in inventory), ZERO)
    to_fulfil = sum((dec(line.get("quantity")) for line in inventory), ZERO)
    pending_bill = any(billable_quantity(line) > 0 for line in lines)
    if fulfilled >= to_fulfil:
        return "F"
    if pending_bill and (fulfilled > 0 or billed > 0):
        return "E"
    if fulfilled > 0:
        return "D"
    return "B"


def transaction_total(data: Row) -> Decimal:
    if "payment" in data:
        return dec(data["payment"])
    return sum((dec(line.get("amount")) for line in data.get("item", [])), ZERO)


def invoice_remaining(data: Row) -> Decimal:
    return transaction_total(data) - dec(data.get("_paid"))


def invoice_status(data: Row) -> str:
    return "B" if invoice_remaining(data) <= 0 else "A"


def status_code(record_type_name: str, data: Row) -> str:
    if record_type_name == "salesOrder":
        return order_status(data)
    if record_type_name == "invoice":
        return invoice_status(data)
    if record_type_name == "customerPayment":
        return "C"
    return "C"


def customer_balances(customer_id: str) -> dict[str, Decimal]:
    balance = overdue = unbilled = ZERO
    today_iso = today().isoformat()
    for rec in NsRecord.objects.filter(record_type__in=("invoice", "salesOrder"), data__entity=customer_id):
        if rec.record_type == "invoice":
            remaining = invoice_remaining(rec.data)
            balance += remaining
            if rec.data.get("dueDate", today_iso) < today_iso:
                overdue += remaining
        elif order_status(rec.data) not in ("A", "C", "H", "G"):
            for line in rec.data.get("item", []):
                if not line.get("isClosed"):
                    unbilled += (dec(line.get("quantity")) - dec(line.get("quantityBilled"))) * dec(line.get("rate"))
    return {"balance": balance, "overdueBalance": overdue, "unbilledOrders": unbilled.quantize(CENT)}


def item_price(item: Row, currency: str, price_level: str) -> Decimal | None:
    for row in item.get("price", []):
        if row.get("currencyPage") == currency and row.get("priceLevel") == price_level:
            return dec(row.get("price"))
    return None


# -- the record types' own rules -----------------------------------------------------------------------
def _prepare_customer(data: Row, existing: NsRecord | None) -> None:
    if data.get("isPerson"):
        required(data, RECORD_TYPES["customer"], "firstName", "lastName", "subsidiary")
        data.setdefault("companyName", "")
    else:
        data["isPerson"] = False
        required(data, RECORD_TYPES["customer"], "companyName", "subsidiary")
    if "currency" not in data:
        data["currency"] = get_data("subsidiary", data["subsidiary"]).get("currency", "1")
    data.setdefault("priceLevel", "1")
    data.setdefault("isInactive", False)
    for index, entry in enumerate(data.get("addressBook", []), start=1):
        entry.setdefault("id", index)
        entry.setdefault("defaultBilling", index == 1)
        entry.setdefault("defaultShipping", index == 1)


def _prepare_item(data: Row, existing: NsRecord | None) -> None:
    required(data, RECORD_TYPES["inventoryItem"], "itemId")
    data.setdefault("isInactive", False)
    data.setdefault("displayName", data["itemId"])
    for row in data.get("price", []):
        required(row, RECORD_TYPES["inventoryItem"], "currencyPage", "priceLevel", "price")


def _customer_defaults(data: Row, customer_field: str) -> Row:
    rtype = RECORD_TYPES["salesOrder"]
    required(data, rtype, customer_field)
    customer = get_data("customer", data[customer_field])
    if customer.get("isInactive"):
        raise invalid_value(customer_field, data[customer_field], reference=True)
    data.setdefault("subsidiary", customer.get("subsidiary"))
    data.setdefault("currency", customer.get("currency"))
    if data["currency"] != customer.get("currency"):
        raise invalid_value("currency", data["currency"], reference=True)
    data.setdefault("tranDate", today().isoformat())
    return customer


def _priced_lines(data: Row, customer: Row, *, sublist_name: str = "item") -> None:
    lines = data.get(sublist_name, [])
    for index, line in enumerate(lines):
        path = f"item.items[{index}]"
        required(line, RECORD_TYPES["salesOrder"], "item")
        if dec(line.get("quantity")) <= 0:
            raise invalid_value("quantity", line.get("quantity"), path=f"{path}.quantity")
        item_rec = store.find(ITEM_TYPES, line["item"])
        assert item_rec is not None  # references were resolved
        line["itemType"] = RECORD_TYPES[item_rec.record_type].type_code
        if "rate" not in line and "amount" in line:
            line["rate"] = str((dec(line["amount"]) / dec(line["quantity"])).quantize(Decimal("0.0001")))
        if "rate" not in line:
            level = line.get("price") or customer.get("priceLevel", "1")
            price = item_price(item_rec.data, data["currency"], level)
            if price is None:
                raise user_error(f"Item {item_rec.data.get('itemId')} has no price at price level {level} in the "
                                 "order's currency; enter a rate.", path=f"{path}.rate")
            line["rate"] = str(price)
            line["price"] = level
        else:
            line.setdefault("price", "-1")  # Custom
        amount = line_amount(line)
        if "amount" in line and abs(dec(line["amount"]) - amount) > CENT:
            raise invalid_value("amount", line["amount"], path=f"{path}.amount")
        line["amount"] = money(amount)
        line.setdefault("quantityFulfilled", "0")
        line.setdefault("quantityBilled", "0")
        line.setdefault("isClosed", False)


def _number(data: Row, rtype: RecordType) -> None:
    if not data.get("tranId"):
        data["tranId"] = f"{rtype.prefix}{store.next_value('tranid:' + rtype.type_code, 1001)}"


def _prepare_sales_order(data: Row, existing: NsRecord | None) -> None:
    customer = _customer_defaults(data, "entity")
    data.setdefault("terms", customer.get("terms"))
    if existing is None:
        data["_status"] = data.pop("orderStatus", "B")
    if not data.get("item"):
        raise user_error("You must enter at least one line item for this transaction.", path="item")
    _priced_lines(data, customer)
    _number(data, RECORD_TYPES["salesOrder"])


def _prepare_invoice(data: Row, existing: NsRecord | None) -> None:
    customer = _customer_defaults(data, "entity")
    data.setdefault("terms", customer.get("terms"))
    if not data.get("item"):
        raise user_error("You must enter at least one line item for this transaction.", path="item")
    _priced_lines(data, customer)
    for line in data["item"]:
        for key in ("quantityFulfilled", "quantityBilled", "isClosed", "price"):
            line.pop(key, None)
    if "dueDate" not in data:
        days = int(get_data("term", data.get("terms")).get("daysUntilNetDue", 0) or 0)
        data["dueDate"] = (date.fromisoformat(data["tranDate"]) + timedelta(days=days)).isoformat()
    data.setdefault("_paid", "0")
    _number(data, RECORD_TYPES["invoice"])


def _prepare_payment(data: Row, existing: NsRecord | None) -> None:
    rtype = RECORD_TYPES["customerPayment"]
    required(data, rtype, "customer", "payment")
    if existing is not None and data.get("apply") != existing.data.get("apply"):
        raise user_error("The applications of a payment cannot be changed; delete the payment and enter it again.",
                         path="apply")
    customer = get_data("customer", data["customer"])
    data.setdefault("subsidiary", customer.get("subsidiary"))
    data.setdefault("currency", customer.get("currency"))
    data.setdefault("tranDate", today().isoformat())
    if dec(data["payment"]) <= 0:
        raise invalid_value("payment", data["payment"], path="payment")
    _number(data, rtype)


PREPARE: dict[str, Callable[[Row, NsRecord | None], None]] = {
    "customer": _prepare_customer, "inventoryItem": _prepare_item, "nonInventorySaleItem": _prepare_item,
    "salesOrder": _prepare_sales_order, "invoice": _prepare_invoice, "customerPayment": _prepare_payment,
    "term": lambda data, existing: required(data, RECORD_TYPES["term"], "name"),
    "subsidiary": lambda data, existing: required(data, RECORD_TYPES["subsidiary"], "name", "currency"),
    "currency": lambda data, existing: required(data, RECORD_TYPES["currency"], "name", "symbol"),
    "priceLevel": lambda data, existing: required(data, RECORD_TYPES["priceLevel"], "name"),
}


# -- serialisation ---------------------------------------------------------------------------------
@dataclass
class Renderer:
    """JSON of records as the REST record service returns them: links, references with refName."""

    base: str  # ".../services/rest"
    names: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (table, id) -> (type, refName)

    def url(self, record_type_name: str, internal_id: Any, *rest: Any) -> str:
        tail = "".join(f"/{part}" for part in rest)
        return f"{self.base}/record/v1/{record_type_name}/{internal_id}{tail}"

    def links(self, href: str) -> list[dict[str, str]]:
        return [{"rel": "self", "href": href}]

    def ref_name(self, types: tuple[str, ...], internal_id: str) -> tuple[str, str] | None:
        table = RECORD_TYPES[types[0]].table
        key = (table, internal_id)
        if key not in self.names:
            rec = store.find(types, internal_id)
            self.names[key] = (rec.record_type, display_name(rec)) if rec else ("", "")
        found = self.names[key]
        return found if found[0] else None

    def reference(self, spec: Field, internal_id: str) -> Row:
        if internal_id == "-1" and spec.name == "price":
            return {"id": "-1", "refName": "Custom"}
        named = self.ref_name(spec.refs, internal_id)
        if named is None:
            return {"id": internal_id}
        return {"links": self.links(self.url(named[0], internal_id)), "id": internal_id, "refName": named[1]}

    def value(self, spec: Field, value: Any) -> Any:
        if spec.kind in ("number",):
            return float(dec(value))
        if spec.kind == "ref":
            return self.reference(spec, str(value))
        if spec.kind == "enum" and spec.name == "country":
            return {"id": value, "refName": COUNTRIES.get(value, value)}
        if spec.kind == "address":
            out = {"links": [], **{k: self.value(Field(k, "enum" if k == "country" else "text"), v) for k, v in value.items()}}
            out["addrText"] = "\n".join(str(value[k]) for k in ("addressee", "addr1", "addr2", "city", "state", "zip")
                                        if value.get(k))
            return out
        if spec.kind == "quantity":
            return {"value": value or 0}
        return value

    def record(self, rec: NsRecord, *, expand: bool) -> Row:
        rtype = RECORD_TYPES[rec.record_type]
        data = rec.data
        href = self.url(rtype.name, rec.internal_id)
        out: Row = {"links": self.links(href), "id": str(rec.internal_id)}
        for spec in rtype.fields:
            value = computed(rec, spec.name) if spec.readonly else data.get(spec.name)
            if spec.name == "orderStatus":
                code = order_status(data)
                out["orderStatus"] = {"id": code, "refName": ORDER_STATUS[code]}
                continue
            if spec.name == "status":
                names = STATUS_NAMES.get(rtype.type_code, {})
                text = names.get(status_code(rtype.name, data), "")
                out["status"] = {"id": text, "refName": text}
                continue
            if value is None or value == "":
                continue
            out[spec.name] = self.value(spec, value)
        for sublist in rtype.sublists:
            sub_href = f"{href}/{sublist.name}"
            if not expand:
                out[sublist.name] = {"links": self.links(sub_href)}
                continue
            lines = data.get(sublist.name, [])
            items = []
            for index, line in enumerate(lines):
                row: Row = {"links": self.links(f"{sub_href}/{line.get('line', index + 1)}")}
                for spec in sublist.fields:
                    if line.get(spec.name) not in (None, ""):
                        row[spec.name] = self.value(spec, line[spec.name])
                if sublist.name == "item" and "itemType" in line:
                    row["itemType"] = {"id": line["itemType"], "refName": line["itemType"]}
                items.append(row)
            out[sublist.name] = {"links": self.links(sub_href), "count": len(items), "hasMore": False,
                                 "items": items, "offset": 0, "totalResults": len(items)}
        return dict(sorted(out.items(), key=lambda kv: (kv[0] not in ("links", "id"), kv[0])))


def display_name(rec: NsRecord) -> str:
    data = rec.data
    if rec.record_type == "customer":
        name = data.get("companyName") or f"{data.get('firstName', '')} {data.get('lastName', '')}".strip()
        return f"{data.get('entityId', rec.internal_id)} {name}".strip()
    if rec.table == "item":
        return str(data.get("itemId", rec.internal_id))
    if rec.table == "transaction":
        code = RECORD_TYPES[rec.record_type].type_code
        return f"{TYPE_NAMES.get(code, code)} #{data.get('tranId', rec.internal_id)}"
    return str(data.get("name", rec.internal_id))


def computed(rec: NsRecord, name: str) -> Any:
    """Read-only fields: derived from the record (and, for customers, their transactions)."""
    data = rec.data
    if name in ("dateCreated", "createdDate"):
        return rec.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if rec.created_at else None
    if name == "lastModifiedDate":
        return rec.updated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if rec.updated_at else None
    if name in ("balance", "overdueBalance", "unbilledOrders"):
        return money(customer_balances(str(rec.internal_id))[name])
    if name in ("total", "subTotal"):
        return money(transaction_total(data))
    if name == "amountPaid":
        return money(dec(data.get("_paid")))
    if name in ("amountRemaining", "amountRemainingTotalBox"):
        return money(invoice_remaining(data))
    if name == "applied":
        return money(sum((dec(line.get("amount")) for line in data.get("apply", []) if line.get("apply")), ZERO))
    if name == "unapplied":
        return money(dec(data.get("payment")) - dec(computed(rec, "applied")))
    if name == "itemType":
        return RECORD_TYPES[rec.record_type].type_code
    if name == "isBaseCurrency":
        return bool(data.get("isBaseCurrency"))
    if name == "shipStatus":
        return "C"
    if name == "createdFrom" or name == "entity":
        return data.get(name)
    return data.get(name)


def references_to(table: str, internal_id: int) -> bool:
    """Whether any record still names this one (a reference blocks a delete, as in NetSuite)."""
    key = str(internal_id)
    if table == "customer":
        return NsRecord.objects.filter(Q(data__entity=key) | Q(data__customer=key), table="transaction").exists()
    if table == "item":
        return any(line.get("item") == key for rec in NsRecord.objects.filter(table="transaction")
                   for line in rec.data.get("item", []))
    names = {"term": ("terms",), "currency": ("currency",), "subsidiary": ("subsidiary", "parent"),
             "priceLevel": ("priceLevel",)}.get(table, ())
    query = Q()
    for name in names:
        query |= Q(**{f"data__{name}": key})
    return bool(names) and NsRecord.objects.filter(query).exists()
