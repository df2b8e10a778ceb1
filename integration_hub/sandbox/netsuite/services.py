"""Writes of the NetSuite sandbox: create, update, upsert, delete, transforms and payments.

Each runs in one transaction; a transaction record is row-locked while it changes, so concurrent
transforms of one order queue up instead of billing it twice.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from integration_hub.sandbox.netsuite import store
from integration_hub.sandbox.netsuite.errors import NsError, invalid_value, not_found, user_error
from integration_hub.sandbox.netsuite.models import NsRecord
from integration_hub.sandbox.netsuite.records import (
    PREPARE,
    RECORD_TYPES,
    ZERO,
    Reader,
    RecordType,
    billable_quantity,
    dec,
    fulfillable,
    invoice_remaining,
    money,
    order_status,
    references_to,
    today,
)

Row = dict[str, Any]
_PROGRESS = ("quantityFulfilled", "quantityBilled")


def _read(rtype: RecordType, body: Any, data: Row, *, creating: bool, strict_names: bool,
          replace: frozenset[str] = frozenset(), merge: bool = True) -> Row:
    """Apply a body to a copy of `data`: header fields, then sublists (merged or replaced)."""
    if not isinstance(body, dict):
        raise user_error("The request body must be a JSON object.")
    reader = Reader(rtype, strict_names=strict_names)
    data = copy.deepcopy(data)
    before = copy.deepcopy(data)
    reader.header(body, data, creating=creating)
    for sublist in rtype.sublists:
        if sublist.name not in body:
            continue
        new_lines = reader.lines(sublist, body[sublist.name])
        if creating or not merge or sublist.name in replace or sublist.name != "item":
            data[sublist.name] = _renumber(new_lines) if sublist.name != "addressBook" else new_lines
            continue
        data["item"] = _merge_lines(data.get("item", []), new_lines)
    if rtype.name == "salesOrder" and not creating:
        _check_progress(before.get("item", []), data.get("item", []))
    return data


def _renumber(lines: list[Row]) -> list[Row]:
    for number, line in enumerate(lines, start=1):
        line["line"] = number
    return lines


def _merge_lines(existing: list[Row], changes: list[Row]) -> list[Row]:
    lines = copy.deepcopy(existing)
    by_number = {line.get("line"): line for line in lines}
    next_number = max((int(line.get("line", 0)) for line in lines), default=0) + 1
    for index, change in enumerate(changes):
        number = change.get("line")
        if number is not None:
            target = by_number.get(number)
            if target is None:
                raise invalid_value("line", number, path=f"item.items[{index}].line")
            if "rate" in change or "quantity" in change:
                target.pop("amount", None)
            target.update(change)
        else:
            change["line"] = next_number
            next_number += 1
            lines.append(change)
    return lines


def _same_lines(old: list[Row], new: list[Row]) -> bool:
    def key(line: Row) -> tuple[Any, ...]:
        return (line.get("item"), dec(line.get("quantity")), dec(line.get("rate")) if "rate" in line else None)
    return len(old) == len(new) and all(
        key(a)[:2] == key(b)[:2] and (key(b)[2] is None or key(a)[2] == key(b)[2]) for a, b in zip(old, new, strict=True)
    )


def _check_progress(old: list[Row], new: list[Row]) -> None:
    """Lines already fulfilled or billed keep their item and at least that quantity."""
    by_number = {line.get("line"): line for line in new}
    for line in old:
        progress = max(dec(line.get(name)) for name in _PROGRESS)
        if progress <= 0:
            continue
        kept = by_number.get(line.get("line"))
        if kept is None or kept.get("item") != line.get("item"):
            raise user_error(f"Line {line.get('line')} has been fulfilled or billed and cannot be removed or changed "
                             "to another item.", path="item")
        if dec(kept.get("quantity")) < progress:
            raise invalid_value("quantity", kept.get("quantity"), path="item")
        for name in _PROGRESS:
            kept[name] = line.get(name, "0")
        kept["itemType"] = line.get("itemType")


def _save_new(rtype: RecordType, data: Row) -> NsRecord:
    PREPARE[rtype.name](data, None)
    external_id = data.get("externalId")
    _check_external_id(external_id)
    internal_id = store.next_id(rtype.table)
    if rtype.name == "customer" and not data.get("entityId"):
        data["entityId"] = f"CUS{internal_id}"  # auto-numbered, as a NetSuite account usually is
    rec = NsRecord.objects.create(record_type=rtype.name, table=rtype.table, internal_id=internal_id,
                                  external_id=external_id, data=data)
    if rtype.name == "customerPayment":
        _apply_payment(rec)
    return rec


def _check_external_id(external_id: Any) -> None:
    if external_id is None:
        return
    if not external_id or not all(c.isalnum() or c in "_-." for c in external_id) or len(external_id) > 200:
        raise invalid_value("externalId", external_id, path="externalId")


@transaction.atomic
def record_create(rtype: RecordType, body: Any, *, strict_names: bool = False) -> NsRecord:
    if not rtype.writable:
        raise user_error(f"Records of type {rtype.name} are created by transforming a sales order.")
    data = _read(rtype, body, {}, creating=True, strict_names=strict_names)
    if data.get("externalId") and store.of_types([rtype.name]).filter(external_id=data["externalId"]).exists():
        raise user_error("A record with the same external ID already exists.", path="externalId")
    try:
        with transaction.atomic():
            return _save_new(rtype, data)
    except IntegrityError:
        raise user_error("A record with the same external ID already exists.", path="externalId") from None


def _update(rec: NsRecord, rtype: RecordType, body: Any, *, strict_names: bool, replace: frozenset[str],
            merge: bool) -> NsRecord:
    if not rtype.writable:
        raise user_error(f"Records of type {rtype.name} cannot be changed through this sandbox.")
    data = _read(rtype, body, rec.data, creating=False, strict_names=strict_names, replace=replace, merge=merge)
    under_way = any(max(dec(line.get(n)) for n in _PROGRESS) > 0 for line in rec.data.get("item", []))
    if rtype.name == "salesOrder" and not merge and "item" in body and under_way:
        # An upsert repeating the lines of an order already under way keeps the order as it is.
        new_lines = Reader(rtype, strict_names=False).lines(rtype.sublists[0], body["item"])
        if not _same_lines(rec.data["item"], new_lines):
            raise user_error("The order has fulfilled or billed lines; its item lines can only be changed "
                             "line by line (PATCH with line numbers).", path="item")
        data["item"] = copy.deepcopy(rec.data["item"])
    PREPARE[rtype.name](data, rec)
    external_id = data.get("externalId")
    _check_external_id(external_id)
    rec.data = data
    rec.external_id = external_id
    try:
        with transaction.atomic():
            rec.save(update_fields=["data", "external_id", "updated_at"])
    except IntegrityError:
        raise user_error("A record with the same external ID already exists.", path="externalId") from None
    return rec


@transaction.atomic
def record_update(rtype: RecordType, key: str, body: Any, *, strict_names: bool = False,
                  replace: frozenset[str] = frozenset()) -> NsRecord:
    rec = store.find([rtype.name], key, lock=True)
    if rec is None:
        raise not_found()
    return _update(rec, rtype, body, strict_names=strict_names, replace=replace, merge=True)


@transaction.atomic
def record_upsert(rtype: RecordType, key: str, body: Any, *, strict_names: bool = False) -> tuple[NsRecord, bool]:
    """`PUT <type>/eid:<externalId>`: create the record if it is missing, else update it.

    The URL's external id wins over one in the body; sublists in the body replace the record's.
    """
    if not key.startswith("eid:"):
        raise user_error("The upsert operation (PUT) requires an external ID in the URL: eid:<externalId>.")
    external_id = key[4:]
    _check_external_id(external_id)
    if isinstance(body, dict):
        body = {**body, "externalId": external_id}
    rec = store.find([rtype.name], key, lock=True)
    if rec is not None:
        return _update(rec, rtype, body, strict_names=strict_names, replace=frozenset(), merge=False), False
    data = _read(rtype, body, {}, creating=True, strict_names=strict_names)
    try:
        with transaction.atomic():
            return _save_new(rtype, data), True
    except IntegrityError:
        # Another request created it between the look-up and the insert: update that one.
        rec = store.find([rtype.name], key, lock=True)
        if rec is None:
            raise
        return _update(rec, rtype, body, strict_names=strict_names, replace=frozenset(), merge=False), False


@transaction.atomic
def record_delete(rtype: RecordType, key: str) -> None:
    rec = store.find([rtype.name], key, lock=True)
    if rec is None:
        raise not_found()
    dependent = False
    if rtype.name == "salesOrder":
        dependent = NsRecord.objects.filter(table="transaction", data__createdFrom=str(rec.internal_id)).exists()
    elif rtype.name == "invoice":
        dependent = dec(rec.data.get("_paid")) > 0
    elif rtype.table != "transaction":
        dependent = references_to(rtype.table, rec.internal_id)
    if dependent:
        raise user_error("This record cannot be deleted because it has dependent records.")
    if rtype.name == "customerPayment":
        _unapply_payment(rec)
    elif rtype.name == "itemFulfillment" or rtype.name == "invoice":
        _undo_order_progress(rec)
    rec.delete()


# -- transforms: the order's follow-on documents -------------------------------------------------------
def _locked_order(key: str) -> NsRecord:
    order = store.find(["salesOrder"], key, lock=True)
    if order is None:
        raise not_found()
    status = order_status(order.data)
    if status == "A":
        raise user_error("The sales order must be approved before it can be fulfilled or billed.")
    if status in ("C", "H"):
        raise user_error("The sales order is closed or cancelled.")
    return order


def _requested(body: Any, order: Row) -> dict[int, Decimal] | None:
    """Quantities per order line asked for in a transform body (`orderLine`, `quantity`), or None."""
    if not body:
        return None
    if not isinstance(body, dict):
        raise user_error("The request body must be a JSON object.")
    raw = body.get("item")
    if raw is None:
        return None
    items = raw.get("items") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise invalid_value("item", raw, path="item")
    numbers = {line.get("line") for line in order.get("item", [])}
    wanted: dict[int, Decimal] = {}
    for index, item in enumerate(items):
        line = item.get("orderLine") if isinstance(item, dict) else None
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if not isinstance(line, int) or line not in numbers:
            raise invalid_value("orderLine", line, path=f"item.items[{index}].orderLine")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity < 0:
            raise invalid_value("quantity", quantity, path=f"item.items[{index}].quantity")
        wanted[line] = Decimal(str(quantity))
    return wanted


def _header_extras(rtype: RecordType, body: Any) -> Row:
    if not isinstance(body, dict):
        return {}
    extras = {k: v for k, v in body.items() if k != "item"}
    data = _read(rtype, extras, {}, creating=False, strict_names=False) if extras else {}
    return {k: v for k, v in data.items() if k in ("memo", "tranDate", "externalId", "otherRefNum", "dueDate")}


@transaction.atomic
def order_invoice(key: str, body: Any = None) -> NsRecord:
    """`POST salesOrder/<id>/!transform/invoice`: bill what is billable (or the lines asked for)."""
    order = _locked_order(key)
    data = order.data
    wanted = _requested(body, data)
    lines = []
    for line in data.get("item", []):
        billable = billable_quantity(line)
        quantity = billable if wanted is None else min(wanted.get(line["line"], ZERO), billable)
        if wanted is not None and wanted.get(line["line"], ZERO) > billable:
            raise invalid_value("quantity", str(wanted[line["line"]]), path="item")
        if quantity <= 0:
            continue
        lines.append({"item": line["item"], "quantity": str(quantity), "rate": line["rate"],
                      "description": line.get("description", ""), "orderLine": line["line"]})
        line["quantityBilled"] = str(dec(line.get("quantityBilled")) + quantity)
    if not lines:
        raise user_error("There are no fulfilled, unbilled lines on this sales order to bill.")
    invoice = {"entity": data["entity"], "currency": data["currency"], "subsidiary": data.get("subsidiary"),
               "terms": data.get("terms"), "createdFrom": str(order.internal_id), "otherRefNum": data.get("otherRefNum"),
               "item": _renumber(lines), **_header_extras(RECORD_TYPES["invoice"], body)}
    invoice = {k: v for k, v in invoice.items() if v not in (None, "")}
    order.save(update_fields=["data", "updated_at"])
    if invoice.get("externalId") and store.of_types(["invoice"]).filter(external_id=invoice["externalId"]).exists():
        raise user_error("A record with the same external ID already exists.", path="externalId")
    return _save_new(RECORD_TYPES["invoice"], invoice)


@transaction.atomic
def order_fulfil(key: str, body: Any = None, *, fraction: Decimal | None = None) -> NsRecord:
    """`POST salesOrder/<id>/!transform/itemFulfillment`: ship the inventory lines' open quantity."""
    order = _locked_order(key)
    data = order.data
    wanted = _requested(body, data)
    lines = []
    for line in data.get("item", []):
        if not fulfillable(line) or line.get("isClosed"):
            continue
        open_quantity = dec(line.get("quantity")) - dec(line.get("quantityFulfilled"))
        if wanted is not None:
            quantity = wanted.get(line["line"], ZERO)
            if quantity > open_quantity:
                raise invalid_value("quantity", str(quantity), path="item")
        elif fraction is not None and fraction < 1:
            quantity = min(open_quantity, max(Decimal(1), (open_quantity * fraction).to_integral_value()))
        else:
            quantity = open_quantity
        if quantity <= 0:
            continue
        lines.append({"item": line["item"], "quantity": str(quantity), "orderLine": line["line"]})
        line["quantityFulfilled"] = str(dec(line.get("quantityFulfilled")) + quantity)
    if not lines:
        raise user_error("There are no lines on this sales order left to fulfill.")
    order.save(update_fields=["data", "updated_at"])
    fulfilment = {"entity": data["entity"], "createdFrom": str(order.internal_id), "tranDate": today().isoformat(),
                  "subsidiary": data.get("subsidiary"), "currency": data.get("currency"), "item": _renumber(lines),
                  **_header_extras(RECORD_TYPES["itemFulfillment"], body)}
    rtype = RECORD_TYPES["itemFulfillment"]
    fulfilment["tranId"] = f"{rtype.prefix}{store.next_value('tranid:' + rtype.type_code, 1001)}"
    return NsRecord.objects.create(record_type=rtype.name, table=rtype.table, internal_id=store.next_id(rtype.table),
                                   external_id=fulfilment.get("externalId"), data=fulfilment)


def _undo_order_progress(rec: NsRecord) -> None:
    order = store.find(["salesOrder"], str(rec.data.get("createdFrom", "")), lock=True)
    if order is None:
        return
    field_name = "quantityBilled" if rec.record_type == "invoice" else "quantityFulfilled"
    by_number = {line.get("line"): line for line in order.data.get("item", [])}
    for line in rec.data.get("item", []):
        target = by_number.get(line.get("orderLine"))
        if target is not None:
            target[field_name] = str(max(ZERO, dec(target.get(field_name)) - dec(line.get("quantity"))))
    order.save(update_fields=["data", "updated_at"])


# -- payments ---------------------------------------------------------------------------------------
def _apply_payment(rec: NsRecord) -> None:
    data = rec.data
    payment = dec(data["payment"])
    customer = data["customer"]
    open_invoices = [inv for inv in NsRecord.objects.select_for_update().filter(
        record_type="invoice", data__entity=customer).order_by("internal_id") if invoice_remaining(inv.data) > 0]
    by_id = {str(inv.internal_id): inv for inv in open_invoices}
    if "apply" in data:
        applications = data["apply"]
        for index, line in enumerate(applications):
            if not line.get("apply", True):
                continue
            invoice = by_id.get(line.get("doc", ""))
            if invoice is None:
                raise invalid_value("doc", line.get("doc"), path=f"apply.items[{index}].doc", reference=True)
            amount = dec(line.get("amount")) if "amount" in line else min(invoice_remaining(invoice.data), payment)
            if amount <= 0 or amount > invoice_remaining(invoice.data):
                raise invalid_value("amount", money(amount), path=f"apply.items[{index}].amount")
            line["amount"], line["apply"] = money(amount), True
    else:  # auto-apply: oldest due date first
        applications, left = [], payment
        for invoice in sorted(open_invoices, key=lambda inv: (inv.data.get("dueDate", ""), inv.internal_id)):
            if left <= 0:
                break
            amount = min(left, invoice_remaining(invoice.data))
            applications.append({"doc": str(invoice.internal_id), "apply": True, "amount": money(amount)})
            left -= amount
    applied = sum((dec(line["amount"]) for line in applications if line.get("apply")), ZERO)
    if applied > payment:
        raise user_error("The total applied exceeds the payment amount.", path="apply")
    for line in applications:
        if line.get("apply"):
            invoice = by_id[line["doc"]]
            invoice.data["_paid"] = money(dec(invoice.data.get("_paid")) + dec(line["amount"]))
            invoice.save(update_fields=["data", "updated_at"])
    data["apply"] = _renumber(applications)
    rec.data = data
    rec.save(update_fields=["data", "updated_at"])


def _unapply_payment(rec: NsRecord) -> None:
    for line in rec.data.get("apply", []):
        invoice = store.find(["invoice"], str(line.get("doc", "")), lock=True)
        if invoice is not None and line.get("apply"):
            invoice.data["_paid"] = money(max(ZERO, dec(invoice.data.get("_paid")) - dec(line.get("amount"))))
            invoice.save(update_fields=["data", "updated_at"])


@transaction.atomic
def order_pay(key: str, amount: Decimal | None = None) -> NsRecord:
    """A customer payment for the order's open invoices, oldest first (the whole open amount by default)."""
    order = store.find(["salesOrder"], key)
    if order is None:
        raise not_found()
    invoices = [inv for inv in NsRecord.objects.select_for_update().filter(
        record_type="invoice", data__createdFrom=str(order.internal_id)).order_by("internal_id")
        if invoice_remaining(inv.data) > 0]
    open_amount = sum((invoice_remaining(inv.data) for inv in invoices), ZERO)
    if open_amount <= 0:
        raise user_error("The sales order has no open invoices to pay.")
    amount = open_amount if amount is None else amount
    if amount <= 0 or amount > open_amount:
        raise NsError.one(400, "INVALID_FLD_VALUE", f"The amount must be between 0 and the open {money(open_amount)}.",
                          path="amount")
    applications, left = [], amount
    for invoice in invoices:
        if left <= 0:
            break
        part = min(left, invoice_remaining(invoice.data))
        applications.append({"doc": str(invoice.internal_id), "apply": True, "amount": money(part)})
        left -= part
    data = {"customer": order.data["entity"], "payment": money(amount), "apply": applications,
            "currency": order.data["currency"], "subsidiary": order.data.get("subsidiary")}
    return _save_new(RECORD_TYPES["customerPayment"], data)


@transaction.atomic
def order_close(key: str, *, cancel: bool = False) -> NsRecord:
    order = store.find(["salesOrder"], key, lock=True)
    if order is None:
        raise not_found()
    if cancel and any(max(dec(line.get(n)) for n in _PROGRESS) > 0 for line in order.data.get("item", [])):
        raise user_error("A sales order with fulfilled or billed lines cannot be cancelled; close it instead.")
    order.data["_status"] = "C" if cancel else "H"
    order.save(update_fields=["data", "updated_at"])
    return order
