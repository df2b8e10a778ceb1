"""What happens to a sales order after it is saved: fulfilment, billing, payment, closing.

`POST /_sandbox/events` grows the order's follow-on records as a NetSuite account's users would,
through the same services as the record API's transforms, so the hub reads the result back with
the record API (`orderStatus`, invoices' `amountRemaining`, payments) and SuiteQL:

- `fulfil` (`quantity_fraction`, default 1): an itemFulfillment of that share of each inventory
  line's open quantity (whole units). Non-inventory lines need no fulfilment.
- `invoice`: an invoice of everything billable (fulfilled inventory, ordered non-inventory).
- `pay` (`amount`, default the open amount): a customerPayment applied to the order's open
  invoices, oldest first; a partial payment leaves the rest open (`amountRemaining`).
- `close` / `cancel`: orderStatus H Closed / C Cancelled (cancel only before any fulfilment or billing).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from integration_hub.sandbox.netsuite import services, store
from integration_hub.sandbox.netsuite.errors import NsError
from integration_hub.sandbox.netsuite.models import NsRecord
from integration_hub.sandbox.netsuite.records import ORDER_STATUS, Renderer, order_status

OPTIONS: dict[str, frozenset[str]] = {
    "fulfil": frozenset({"quantity_fraction"}),
    "invoice": frozenset(),
    "pay": frozenset({"amount"}),
    "close": frozenset(),
    "cancel": frozenset(),
}


class EventError(Exception):
    def __init__(self, message: str, *, status: int = 400, field: str = "") -> None:
        super().__init__(message)
        self.message, self.status, self.field = message, status, field

    def as_dict(self) -> dict[str, str]:
        return {"error": self.message, "field": self.field} if self.field else {"error": self.message}


def _order_key(value: Any) -> str:
    """An order named by internal id, `eid:<externalId>` or its tranId (SO1001)."""
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value):
        raise EventError("sales_order is required: an internal id, eid:<externalId> or a tranId", field="sales_order")
    key = str(value)
    if key.isdigit() or key.startswith("eid:"):
        return key
    found = NsRecord.objects.filter(record_type="salesOrder", data__tranId=key).values_list("internal_id", flat=True)
    internal_id = next(iter(found), None)
    if internal_id is None:
        raise EventError(f"no sales order {key}", status=404, field="sales_order")
    return str(internal_id)


def _decimal(options: dict[str, Any], name: str, *, low: Decimal, high: Decimal | None = None) -> Decimal | None:
    if name not in options:
        return None
    raw = options[name]
    try:
        value = Decimal(str(raw)) if not isinstance(raw, bool) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= low or (high is not None and value > high):
        raise EventError(f"{name} must be a number above {low}" + (f" and at most {high}" if high else ""), field=name)
    return value


def sales_order_event(order: Any, event: Any, *, base: str, **options: Any) -> dict[str, Any]:
    if event not in OPTIONS:
        raise EventError(f"event must be one of {', '.join(OPTIONS)}", field="event")
    unknown = set(options) - OPTIONS[event]
    if unknown:
        raise EventError(f"unknown option(s) for {event}: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    key = _order_key(order)
    if store.find(["salesOrder"], key) is None:
        raise EventError(f"no sales order {order}", status=404, field="sales_order")
    try:
        if event == "fulfil":
            fraction = _decimal(options, "quantity_fraction", low=Decimal(0), high=Decimal(1))
            created = [services.order_fulfil(key, fraction=fraction)]
        elif event == "invoice":
            created = [services.order_invoice(key)]
        elif event == "pay":
            created = [services.order_pay(key, _decimal(options, "amount", low=Decimal(0)))]
        else:
            created = [services.order_close(key, cancel=event == "cancel")]
    except NsError as exc:
        detail = exc.details[0]
        raise EventError(detail.detail, status=409 if exc.status == 400 else exc.status,
                         field=detail.path or "") from None
    rec = store.find(["salesOrder"], key)
    assert rec is not None
    renderer = Renderer(base)
    code = order_status(rec.data)
    return {
        "sales_order": str(rec.internal_id), "tranId": rec.data.get("tranId"), "event": event,
        "records": [{"type": r.record_type, "id": str(r.internal_id), "tranId": r.data.get("tranId"),
                     "href": renderer.url(r.record_type, r.internal_id)} for r in created if r.pk != rec.pk],
        "orderStatus": {"id": code, "refName": ORDER_STATUS[code]},
    }
