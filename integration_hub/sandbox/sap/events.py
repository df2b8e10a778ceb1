"""What happens to a sales order after it is saved: deliveries, invoices, payments, credit holds.

A real tenant grows follow-on documents that the hub reads back (WIRE-ERP 4.1-4.4). The sandbox
grows them on request: `sales_order_event(number, event, **options)` is called by
`POST /_sandbox/events` and can be called by a demo loop. Each event runs in one transaction
on the row-locked order, so concurrent events on one order queue up instead of double-billing.

Events and their documents:
- `deliver` (`quantity_fraction`, default 1): an outbound delivery with goods issue posted today
  for that fraction of each item's undelivered quantity (whole units when the quantity is whole).
- `invoice`: an F2 billing document and its receivable in the AR cube. Delivery-related when the
  order has deliveries (bills delivered quantities not yet billed), order-related otherwise
  (bills the whole open quantity). SAP decides this per item category; the sandbox per order.
- `pay` (`amount`, default the open amount): a DZ payment clearing the open items, oldest due
  first. A partial payment uses SAP's *residual item* method: the paid item is cleared and a new
  open item for the rest is posted in the payment document, carrying the same BillingDocument,
  SalesDocument and NetDueDate, with InvoiceReference pointing at the original journal entry.
- `credit_block` / `credit_release`: the customer's CreditManagementAccount and the order's
  TotalCreditCheckStatus (B blocked / A released) with it.
- `cancel_invoice`: an S1 cancellation of the latest uncancelled invoice, whose receivable is
  cleared against the reversal; refused once the invoice is paid (SAP wants the clearing reset).
- `change_amount` (`total_net_amount`): as if a user re-priced the order: each item's PPR0 price
  changes so that its discounts still apply and the items sum to the new total.

As in SAP, a credit block (TotalCreditCheckStatus B) or a DeliveryBlockReason stops `deliver`,
a HeaderBillingBlockReason stops `invoice`, and a credit block stops order-related billing: 409.

Every event also takes `user` (who posts it, CreatedByUser). The answer lists each document
created or changed as {"type", "id", "action", "service", "entity_set", "key"} (key: the OData key).

Sandbox simplifications: every item is delivery-relevant; a payment moves the invoice's
LastChangeDateTime with its InvoiceClearingStatus (A open, B partly, C cleared: unverified on a
real tenant, where only the AR cube shows clearing for certain); `OverallOrdReltdBillgStatus`
and the items' `OrderRelatedBillingStatus` show how much is billed by either path; item numbers
of deliveries and billing documents are unpadded ("10"), as the order's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction

from integration_hub.sandbox.sap import documents, sales, store
from integration_hub.sandbox.sap.documents import (
    AR,
    BILLING,
    CREDIT,
    DELIVERY,
    SO,
    ZERO,
    EventError,
    EventRun,
)
from integration_hub.sandbox.sap.entities import entity_type
from integration_hub.sandbox.sap.models import SapEntity
from integration_hub.sandbox.sap.odata_query import key_string

Row = dict[str, Any]

DELIVERY_START = 80000000
BILLING_START = 90000001
INVOICE_JOURNAL_START = 9400000001  # RV journal entries posted by billing
PAYMENT_JOURNAL_START = 1400000001  # DZ incoming payments
EVENT_USER = "SANDBOX_EVT"
NET_DAYS = {"0001": 0, "0002": 30, "NT30": 30, "NT45": 45, "NT60": 60}  # catalog.PAYMENT_TERMS
DEFAULT_NET_DAYS = 30
UNIT = Decimal(1)
MILLI = Decimal("0.001")

OPTIONS: dict[str, frozenset[str]] = {
    "deliver": frozenset({"quantity_fraction"}),
    "invoice": frozenset(),
    "pay": frozenset({"amount"}),
    "credit_block": frozenset(),
    "credit_release": frozenset(),
    "cancel_invoice": frozenset(),
    "change_amount": frozenset({"total_net_amount"}),
}
# SD events change the order itself; `pay` posts in FI and touches the order only if its
# statuses change (they do not: payment is not an SD status).
CHANGES_ORDER = frozenset(OPTIONS) - {"pay"}
ORDER_STATUS_FIELDS = (
    "SalesOrder", "SoldToParty", "TotalNetAmount", "TransactionCurrency", "OverallSDProcessStatus",
    "OverallTotalDeliveryStatus", "OverallDeliveryStatus", "OverallOrdReltdBillgStatus", "TotalCreditCheckStatus",
    "TotalBlockStatus", "DeliveryBlockReason", "HeaderBillingBlockReason", "LastChangeDateTime",
)


@dataclass
class EventResult:
    sales_order: str
    event: str
    documents: list[dict[str, Any]]
    order: Row

    def as_dict(self) -> dict[str, Any]:
        return {"sales_order": self.sales_order, "event": self.event, "documents": self.documents,
                "order": self.order}


# -- deliver ---------------------------------------------------------------------------------------
def _part(remaining: Decimal, fraction: Decimal) -> Decimal:
    if fraction >= 1:
        return remaining
    if remaining == remaining.to_integral_value():  # whole units ship as whole units
        return min(remaining, max(UNIT, (remaining * fraction).quantize(UNIT, rounding=ROUND_HALF_UP)))
    return min(remaining, (remaining * fraction).quantize(MILLI, rounding=ROUND_HALF_UP))


def _check_deliverable(order: Row) -> None:
    if order.get("TotalCreditCheckStatus") == "B":
        raise EventError(f"Sales document {order['SalesOrder']} is blocked by credit management", status=409)
    if order.get("DeliveryBlockReason"):
        raise EventError(
            f"Sales document {order['SalesOrder']} has delivery block {order['DeliveryBlockReason']}", status=409)


def _deliver(run: EventRun, quantity_fraction: Any = 1) -> None:
    fraction = documents.decimal_option(quantity_fraction, "quantity_fraction")
    if not 0 < fraction <= 1:
        raise EventError("quantity_fraction must be greater than 0 and at most 1", field="quantity_fraction")
    _check_deliverable(run.order)
    delivered = documents.sum_by(documents.delivery_items(run.number), "ReferenceSDDocumentItem", "ActualDeliveryQuantity")
    lines = []
    for item in run.items:
        remaining = Decimal(item["RequestedQuantity"]) - delivered[item["SalesOrderItem"]]
        if remaining > 0:
            lines.append((item, _part(remaining, fraction)))
    if not lines:
        raise EventError(f"Sales document {run.number} is already fully delivered", status=409)
    number = str(store.next_number("outbound_delivery", DELIVERY_START))
    order = run.order
    stamp = run.stamp(None)
    store.insert(DELIVERY, "A_OutbDeliveryHeader", [{
        "DeliveryDocument": number, "DeliveryDocumentType": "LF", "SalesOrganization": order["SalesOrganization"],
        "SoldToParty": order["SoldToParty"], "ShipToParty": documents.order_partner(run.number, "SH") or order["SoldToParty"],
        "ShippingPoint": order["SalesOrganization"], "ShippingCondition": order.get("ShippingCondition") or "01",
        "PlannedGoodsIssueDate": run.today, "ActualGoodsMovementDate": run.today, "DeliveryDate": run.today,
        "OverallGoodsMovementStatus": "C", "OverallPickingStatus": "C", "OverallSDProcessStatus": "B",
        "OverallDelivReltdBillgStatus": "A", "DeliveryBlockReason": "", "HeaderBillingBlockReason": "",
        "TotalBlockStatus": "", "CreatedByUser": run.user, "CreationDate": run.today, "LastChangeDate": None,
        "LastChangeDateTime": stamp,
    }])
    store.insert(DELIVERY, "A_OutbDeliveryItem", [{
        "DeliveryDocument": number, "DeliveryDocumentItem": str((index + 1) * 10),
        "DeliveryDocumentItemCategory": item.get("SalesOrderItemCategory") or "TAN",
        "DeliveryDocumentItemText": item.get("SalesOrderItemText", ""), "Material": item["Material"],
        "Plant": item.get("ProductionPlant") or order["SalesOrganization"], "ActualDeliveryQuantity": str(quantity),
        "DeliveryQuantityUnit": item.get("RequestedQuantityUnit", ""), "GoodsMovementStatus": "C",
        "PickingStatus": "C", "ItemBillingBlockReason": "", "ReferenceSDDocument": run.number,
        "ReferenceSDDocumentItem": item["SalesOrderItem"], "ReferenceSDDocumentCategory": "C",
        "CreationDate": run.today,
    } for index, (item, quantity) in enumerate(lines)])
    run.record("outbound_delivery", DELIVERY, "A_OutbDeliveryHeader", {"DeliveryDocument": number}, "created")


# -- invoice ---------------------------------------------------------------------------------------
@dataclass
class _Line:
    item: Row
    quantity: Decimal
    delivery: Row | None = None
    net: Decimal = ZERO
    tax: Decimal = ZERO


def _invoice_lines(run: EventRun) -> tuple[list[_Line], str]:
    """What to bill, and the billing category: L delivery-related, A order-related."""
    active = documents.active_invoice_items(run.number)
    billed = documents.sum_by(active, "SalesDocumentItem", "BillingQuantity")
    unbilled = {i["SalesOrderItem"]: Decimal(i["RequestedQuantity"]) - billed[i["SalesOrderItem"]] for i in run.items}
    items = {i["SalesOrderItem"]: i for i in run.items}
    deliveries = documents.delivery_items(run.number)
    lines: list[_Line] = []
    if deliveries:
        billed_refs = {(i["ReferenceSDDocument"], i["ReferenceSDDocumentItem"]) for i in active}
        for delivery in sorted(deliveries, key=lambda d: (d["DeliveryDocument"], int(d["DeliveryDocumentItem"]))):
            if (delivery["DeliveryDocument"], delivery["DeliveryDocumentItem"]) in billed_refs:
                continue
            number = delivery["ReferenceSDDocumentItem"]
            quantity = min(Decimal(delivery["ActualDeliveryQuantity"]), unbilled.get(number, ZERO))
            if quantity > 0 and number in items:
                lines.append(_Line(items[number], quantity, delivery))
                unbilled[number] -= quantity
        return lines, "L"
    if run.order.get("TotalCreditCheckStatus") == "B":
        raise EventError(f"Sales document {run.number} is blocked by credit management", status=409)
    return [_Line(item, unbilled[item["SalesOrderItem"]]) for item in run.items
            if unbilled[item["SalesOrderItem"]] > 0], "A"


def _price_lines(run: EventRun, lines: list[_Line]) -> None:
    """Pro-rata net and tax of each line; the line that completes an item takes the rounding rest,
    so an order billed in parts sums to exactly its own net value."""
    active = documents.active_invoice_items(run.number)
    billed_qty = documents.sum_by(active, "SalesDocumentItem", "BillingQuantity")
    billed_net = documents.sum_by(active, "SalesDocumentItem", "NetAmount")
    billed_tax = documents.sum_by(active, "SalesDocumentItem", "TaxAmount")
    for line in lines:
        number = line.item["SalesOrderItem"]
        requested = Decimal(line.item["RequestedQuantity"])
        net, tax = Decimal(line.item.get("NetAmount") or 0), Decimal(line.item.get("TaxAmount") or 0)
        if billed_qty[number] + line.quantity >= requested:
            line.net, line.tax = net - billed_net[number], tax - billed_tax[number]
        else:
            line.net = (net * line.quantity / requested).quantize(sales.CENT, rounding=ROUND_HALF_UP)
            line.tax = (tax * line.quantity / requested).quantize(sales.CENT, rounding=ROUND_HALF_UP)
        billed_qty[number] += line.quantity
        billed_net[number] += line.net
        billed_tax[number] += line.tax


def _receivable(run: EventRun, *, company_code: str, journal_entry: str, billing_document: str, customer: str,
                amount: Decimal, currency: str, terms: str, due: str, document_type: str = "RV") -> Row:
    cc_currency = documents.company_currency(company_code, currency)
    return {
        "CompanyCode": company_code, "FiscalYear": run.year, "AccountingDocument": journal_entry,
        "AccountingDocumentItem": "001", "Customer": customer, "AccountingDocumentType": document_type,
        "FinancialAccountType": "D", "DebitCreditCode": "S" if amount >= 0 else "H", "PostingDate": run.today,
        "DocumentDate": run.today, "NetDueDate": due, "DueCalculationBaseDate": run.today, "IsCleared": False,
        "ClearingAccountingDocument": "", "ClearingDate": None, "ClearingCreationDate": None,
        "ClearingDocFiscalYear": "", "ClearingIsReversed": False, "AmountInTransactionCurrency": sales.money(amount),
        "TransactionCurrency": currency, "AmountInCompanyCodeCurrency": sales.money(sales.convert(amount, currency,
                                                                                                 cc_currency)),
        "CompanyCodeCurrency": cc_currency, "PaymentTerms": terms, "DocumentReferenceID": billing_document,
        "OriginalReferenceDocument": billing_document, "ReferenceDocumentType": "VBRK", "InvoiceReference": "",
        "AssignmentReference": run.number, "BillingDocument": billing_document, "SalesDocument": run.number,
        "IsSalesRelated": True,
    }


def _ar_key(row: Row) -> Row:
    return {name: row[name] for name in ("CompanyCode", "FiscalYear", "AccountingDocument", "AccountingDocumentItem")}


def _invoice(run: EventRun) -> None:
    order = run.order
    if order.get("HeaderBillingBlockReason"):
        raise EventError(f"Sales document {run.number} has billing block {order['HeaderBillingBlockReason']}",
                         status=409)
    lines, category = _invoice_lines(run)
    if not lines:
        reason = "delivered quantities are all billed" if category == "L" else "the order is fully billed"
        raise EventError(f"Nothing to bill for sales document {run.number}: {reason}", status=409)
    _price_lines(run, lines)
    number = str(store.next_number("billing_document", BILLING_START))
    journal_entry = str(store.next_number("invoice_journal_entry", INVOICE_JOURNAL_START))
    currency, terms = order["TransactionCurrency"], order.get("CustomerPaymentTerms") or ""
    net = sum((line.net for line in lines), ZERO)
    tax = sum((line.tax for line in lines), ZERO)
    payer = documents.order_partner(run.number, "PY") or order["SoldToParty"]
    company_code = order["SalesOrganization"]
    store.insert(BILLING, "A_BillingDocument", [{
        "BillingDocument": number, "SDDocumentCategory": "M", "BillingDocumentCategory": category,
        "BillingDocumentType": "F2", "CreationDate": run.today, "LastChangeDate": None,
        "LastChangeDateTime": run.stamp(None), "SalesOrganization": company_code,
        "DistributionChannel": order["DistributionChannel"], "Division": order["OrganizationDivision"],
        "BillingDocumentDate": run.today, "BillingDocumentIsCancelled": False, "CancelledBillingDocument": "",
        "TotalNetAmount": sales.money(net), "TransactionCurrency": currency, "TaxAmount": sales.money(tax),
        "TotalGrossAmount": sales.money(net + tax), "PayerParty": payer, "CustomerPaymentTerms": terms,
        "PaymentMethod": order.get("PaymentMethod") or "", "CompanyCode": company_code,
        "FiscalYear": run.year, "AccountingDocument": journal_entry, "DocumentReferenceID": number,
        "SoldToParty": order["SoldToParty"], "PurchaseOrderByCustomer": order.get("PurchaseOrderByCustomer", ""),
        "OverallSDProcessStatus": "C", "OverallBillingStatus": "C", "AccountingPostingStatus": "C",
        "AccountingTransferStatus": "C", "InvoiceClearingStatus": "A",
    }])
    store.insert(BILLING, "A_BillingDocumentItem", [{
        "BillingDocument": number, "BillingDocumentItem": str((index + 1) * 10),
        "SalesDocumentItemCategory": line.item.get("SalesOrderItemCategory", ""), "CreationDate": run.today,
        "Material": line.item["Material"], "Plant": line.item.get("ProductionPlant") or company_code,
        "BillingDocumentItemText": line.item.get("SalesOrderItemText", ""), "BillingQuantity": str(line.quantity),
        "BillingQuantityUnit": line.item.get("RequestedQuantityUnit", ""), "NetAmount": sales.money(line.net),
        "TransactionCurrency": currency, "GrossAmount": sales.money(line.net + line.tax),
        "TaxAmount": sales.money(line.tax), "SalesDocument": run.number,
        "SalesDocumentItem": line.item["SalesOrderItem"],
        "ReferenceSDDocument": line.delivery["DeliveryDocument"] if line.delivery else run.number,
        "ReferenceSDDocumentItem": line.delivery["DeliveryDocumentItem"] if line.delivery
        else line.item["SalesOrderItem"],
        "ReferenceSDDocumentCategory": "J" if line.delivery else "C",
    } for index, line in enumerate(lines)])
    due = sales.midnight(run.day + timedelta(days=NET_DAYS.get(terms, DEFAULT_NET_DAYS)))
    receivable = _receivable(run, company_code=company_code, journal_entry=journal_entry, billing_document=number,
                             customer=payer, amount=net + tax, currency=currency, terms=terms, due=due)
    store.insert(AR, "A_OperationalAcctgDocItemCube", [receivable])
    run.record("billing_document", BILLING, "A_BillingDocument", {"BillingDocument": number}, "created")
    run.record("ar_item", AR, "A_OperationalAcctgDocItemCube", _ar_key(receivable), "created")
    documents.refresh_deliveries(run)


# -- pay -------------------------------------------------------------------------------------------
def _open_items(order: str) -> list[Row]:
    items = [
        item for item in store.rows(AR, "A_OperationalAcctgDocItemCube", SalesDocument=order)
        if not item.get("IsCleared") and not item.get("ClearingAccountingDocument")
        and Decimal(item["AmountInTransactionCurrency"]) > 0
    ]
    return sorted(items, key=lambda i: (i.get("NetDueDate") or "", i["AccountingDocument"],
                                        i["AccountingDocumentItem"]))


def _cleared_by(run: EventRun, clearing_document: str) -> Row:
    return {"IsCleared": True, "ClearingAccountingDocument": clearing_document, "ClearingDate": run.today,
            "ClearingCreationDate": run.today, "ClearingDocFiscalYear": run.year}


def _clear(run: EventRun, item: Row, clearing_document: str) -> None:
    item.update(_cleared_by(run, clearing_document))
    store.save(AR, entity_type(AR, "A_OperationalAcctgDocItemCube"), item)
    run.record("ar_item", AR, "A_OperationalAcctgDocItemCube", _ar_key(item), "changed")


def _pay(run: EventRun, amount: Any = None) -> None:
    requested = None if amount is None else documents.money_option(amount, "amount")
    items = _open_items(run.number)
    if not items:
        raise EventError(f"Sales document {run.number} has no open receivable to pay", status=409)
    open_amount = sum((Decimal(i["AmountInTransactionCurrency"]) for i in items), ZERO)
    paying = open_amount if requested is None else requested
    if paying > open_amount:
        raise EventError(f"amount {sales.money(paying)} exceeds the open amount {sales.money(open_amount)}",
                         field="amount")
    payment = str(store.next_number("payment_journal_entry", PAYMENT_JOURNAL_START))
    left = paying
    touched: set[str] = set()
    for item in items:
        if left <= 0:
            break
        value = Decimal(item["AmountInTransactionCurrency"])
        _clear(run, item, payment)
        touched.add(item.get("BillingDocument") or "")
        if left < value:  # residual item: the rest stays open, now in the payment document
            residual = dict(item)
            residual.update(
                FiscalYear=run.year, AccountingDocument=payment, AccountingDocumentItem="001",
                AccountingDocumentType="DZ", PostingDate=run.today, DocumentDate=run.today, IsCleared=False,
                ClearingAccountingDocument="", ClearingDate=None, ClearingCreationDate=None, ClearingDocFiscalYear="",
                AmountInTransactionCurrency=sales.money(value - left),
                AmountInCompanyCodeCurrency=sales.money(sales.convert(value - left, item["TransactionCurrency"],
                                                                      item["CompanyCodeCurrency"])),
                InvoiceReference=item["AccountingDocument"],
            )
            store.insert(AR, "A_OperationalAcctgDocItemCube", [residual])
            run.record("ar_item", AR, "A_OperationalAcctgDocItemCube", _ar_key(residual), "created")
        left -= value
    documents.refresh_clearing(run, touched - {""})


# -- credit ----------------------------------------------------------------------------------------
def _credit(run: EventRun, *, blocked: bool) -> None:
    customer = run.order["SoldToParty"]
    accounts = store.rows(CREDIT, "CreditManagementAccount", BusinessPartner=customer)
    if not accounts:
        raise EventError(f"Business partner {customer} has no credit account", status=409)
    account_type = entity_type(CREDIT, "CreditManagementAccount")
    for account in accounts:
        account.update(CreditAccountIsBlocked=blocked, CreditAccountBlockReason="01" if blocked else "")
        store.save(CREDIT, account_type, account)
        run.record("credit_account", CREDIT, "CreditManagementAccount",
                   {"BusinessPartner": customer, "CreditSegment": account["CreditSegment"]}, "changed")
    # WIRE-ERP 4.0 would show a released order as D (released by credit representative); the
    # sandbox answers A, the status of an order that passes the check, as the hub expects.
    run.order.update(TotalCreditCheckStatus="B" if blocked else "A", TotalBlockStatus="B" if blocked else "")


def _credit_block(run: EventRun) -> None:
    _credit(run, blocked=True)


def _credit_release(run: EventRun) -> None:
    _credit(run, blocked=False)


# -- cancel invoice --------------------------------------------------------------------------------
def _cancel_invoice(run: EventRun) -> None:
    headers, items = documents.billing_documents(run.number)
    invoices = sorted(number for number, header in headers.items() if documents.is_active_invoice(header))
    if not invoices:
        raise EventError(f"Sales document {run.number} has no invoice to cancel", status=409)
    original = headers[invoices[-1]]
    receivables = store.rows(AR, "A_OperationalAcctgDocItemCube", BillingDocument=original["BillingDocument"])
    if any(r.get("IsCleared") for r in receivables):
        raise EventError(f"Billing document {original['BillingDocument']} is paid: reset the clearing of "
                         "its accounting document before cancelling it", status=409)
    number = str(store.next_number("billing_document", BILLING_START))
    journal_entry = str(store.next_number("invoice_journal_entry", INVOICE_JOURNAL_START))
    cancellation = dict(original)
    cancellation.update(
        BillingDocument=number, SDDocumentCategory="N", BillingDocumentType="S1", CreationDate=run.today,
        LastChangeDate=None, LastChangeDateTime=run.stamp(None), BillingDocumentDate=run.today,
        CancelledBillingDocument=original["BillingDocument"], FiscalYear=run.year,
        AccountingDocument=journal_entry, DocumentReferenceID=number, InvoiceClearingStatus="C",
    )
    store.insert(BILLING, "A_BillingDocument", [cancellation])
    # S1 items repeat the invoice's values with positive signs, as SAP shows them; the
    # document category N says they reverse it.
    store.insert(BILLING, "A_BillingDocumentItem", [
        dict(item, BillingDocument=number, CreationDate=run.today)
        for item in items if item["BillingDocument"] == original["BillingDocument"]
    ])
    header_type = entity_type(BILLING, "A_BillingDocument")
    original.update(BillingDocumentIsCancelled=True, InvoiceClearingStatus="C", LastChangeDate=run.today,
                    LastChangeDateTime=run.stamp(original.get("LastChangeDateTime")))
    store.save(BILLING, header_type, original)
    run.record("billing_document", BILLING, "A_BillingDocument", {"BillingDocument": number}, "created")
    run.record("billing_document", BILLING, "A_BillingDocument",
               {"BillingDocument": original["BillingDocument"]}, "changed")
    gross = Decimal(original.get("TotalGrossAmount") or 0)
    reversal = _receivable(run, company_code=original["CompanyCode"], journal_entry=journal_entry,
                           billing_document=number, customer=original.get("PayerParty") or original["SoldToParty"],
                           amount=-gross, currency=original["TransactionCurrency"],
                           terms=original.get("CustomerPaymentTerms") or "", due=run.today)
    # the reversal and the invoice's receivable clear each other, both by the reversal's number
    reversal.update(InvoiceReference=original.get("AccountingDocument", ""), **_cleared_by(run, journal_entry))
    store.insert(AR, "A_OperationalAcctgDocItemCube", [reversal])
    run.record("ar_item", AR, "A_OperationalAcctgDocItemCube", _ar_key(reversal), "created")
    for receivable in receivables:
        _clear(run, receivable, journal_entry)
    documents.refresh_deliveries(run)


# -- change amount ---------------------------------------------------------------------------------
def _reprice_item(item: Row, elements: list[Row], net: Decimal) -> None:
    """Set the item's PPR0 so that, after its percentage discounts, it nets to `net`."""
    price = next((e for e in elements if e["ConditionType"] == "PPR0"), None)
    discounts = [e for e in elements if e.get("ConditionClass") == "A" and e.get("ConditionCalculationType") == "A"]
    taxes = [e for e in elements if e.get("ConditionClass") == "D"]
    rates = sum((Decimal(e.get("ConditionRateValue") or 0) for e in discounts), ZERO)
    factor = 1 + rates / 100
    gross = (net / factor).quantize(sales.CENT, rounding=ROUND_HALF_UP) if factor > 0 else net
    amounts = [(gross * Decimal(e.get("ConditionRateValue") or 0) / 100).quantize(sales.CENT, rounding=ROUND_HALF_UP)
               for e in discounts]
    gross = net - sum(amounts, ZERO)  # the price takes the rounding, so the item nets exactly
    for element, amount in zip(discounts, amounts, strict=True):
        element.update(ConditionBaseValue=sales.money(gross), ConditionAmount=sales.money(amount))
    if price is not None:
        quantity = Decimal(item["RequestedQuantity"])
        per = Decimal(price.get("ConditionQuantity") or 1) or UNIT
        price.update(ConditionAmount=sales.money(gross), ConditionIsManuallyChanged=True, ConditionOrigin="C",
                     ConditionRateValue=sales.money(gross * per / quantity), ConditionRecord="")
    tax_total = ZERO
    for element in taxes:
        amount = (net * Decimal(element.get("ConditionRateValue") or 0) / 100).quantize(sales.CENT,
                                                                                       rounding=ROUND_HALF_UP)
        element.update(ConditionBaseValue=sales.money(net), ConditionAmount=sales.money(amount))
        tax_total += amount
    item.update(NetAmount=sales.money(net), Subtotal1Amount=sales.money(gross), TaxAmount=sales.money(tax_total))


def _change_amount(run: EventRun, total_net_amount: Any = None) -> None:
    if total_net_amount is None:
        raise EventError("total_net_amount is required", field="total_net_amount")
    total = documents.money_option(total_net_amount, "total_net_amount")
    if run.order.get("OverallSDProcessStatus") == "C":
        raise EventError(f"Sales document {run.number} is completed and cannot be changed", status=409)
    if documents.active_invoice_items(run.number):
        raise EventError(f"Sales document {run.number} is already billed; its values can no longer change",
                         status=409)
    priced = [i for i in run.items if Decimal(i.get("NetAmount") or 0) > 0]
    old_total = sum((Decimal(i["NetAmount"]) for i in priced), ZERO)
    if not priced:
        raise EventError(f"Sales document {run.number} has no priced item to change", status=409)
    targets = [(Decimal(i["NetAmount"]) * total / old_total).quantize(sales.CENT, rounding=ROUND_HALF_UP)
               for i in priced]
    targets[-1] = total - sum(targets[:-1], ZERO)  # the last item takes the rounding, so they sum
    if targets[-1] <= 0:
        raise EventError("total_net_amount is too small to spread over the order's items", field="total_net_amount")
    element_type = entity_type(SO, "A_SalesOrderItemPrElement")
    item_type = entity_type(SO, "A_SalesOrderItem")
    target_by_item = {item["SalesOrderItem"]: target for item, target in zip(priced, targets, strict=True)}
    all_elements: dict[str, list[Row]] = {}
    for item in run.items:
        elements = store.rows(SO, "A_SalesOrderItemPrElement", SalesOrder=run.number,
                              SalesOrderItem=item["SalesOrderItem"])
        if item["SalesOrderItem"] in target_by_item:
            _reprice_item(item, elements, target_by_item[item["SalesOrderItem"]])
            for element in elements:
                store.save(SO, element_type, element)
            store.save(SO, item_type, item)
        all_elements[item["SalesOrderItem"]] = elements
    currency = run.order["TransactionCurrency"]
    store.delete(SO, "A_SalesOrderHeaderPrElement", SalesOrder=run.number)
    store.insert(SO, "A_SalesOrderHeaderPrElement",
                 [dict(e, SalesOrder=run.number) for e in sales.header_element_totals(all_elements, currency)])
    run.order["TotalNetAmount"] = sales.money(total)
    # a higher value is credit-checked again, leaving the order's old value out of the exposure
    if (total > old_total and run.order.get("TotalCreditCheckStatus") != "B"
            and sales.credit_status(run.order["SoldToParty"], total, currency, exclude_order=run.number) == "B"):
        run.order.update(TotalCreditCheckStatus="B", TotalBlockStatus="B")


# -- entry point -----------------------------------------------------------------------------------
HANDLERS: dict[str, Callable[..., None]] = {
    "deliver": _deliver,
    "invoice": _invoice,
    "pay": _pay,
    "credit_block": _credit_block,
    "credit_release": _credit_release,
    "cancel_invoice": _cancel_invoice,
    "change_amount": _change_amount,
}


def order_status(order: Row) -> Row:
    return {name: order.get(name, "") for name in ORDER_STATUS_FIELDS}


def sales_order_event(number: str, event: str, *, user: str = EVENT_USER, **options: Any) -> EventResult:
    """Apply one follow-on event to sales order `number`; raises EventError (400/404/409).

    Every event re-derives the order's delivery, billing and processing statuses. Every SD event
    moves the order's LastChangeDateTime (so its ETag changes and a `LastChangeDateTime gt …` poll
    sees it), as it moves that of the deliveries and billing documents it creates or changes.
    A payment is FI only: as in SAP it leaves the order alone, and shows in the AR cube
    (IsCleared, ClearingDate) and in the invoice's InvoiceClearingStatus.
    """
    if not isinstance(event, str) or event not in HANDLERS:
        raise EventError(f"unknown event '{event}': use one of {', '.join(HANDLERS)}", field="event")
    if not isinstance(number, str) or not number:
        raise EventError("sales_order must be a non-empty string", field="sales_order")
    if not isinstance(user, str) or not user or len(user) > 12:
        raise EventError("user must be a string of 1 to 12 characters", field="user")
    for name in options:
        if name not in OPTIONS[event]:
            allowed = ", ".join(sorted(OPTIONS[event])) or "none"
            raise EventError(f"unknown field '{name}' for event '{event}' (allowed: {allowed})", field=name)
    with transaction.atomic():
        row = SapEntity.objects.select_for_update().filter(
            service=SO, entity_set="A_SalesOrder",
            key=key_string(entity_type(SO, "A_SalesOrder"), {"SalesOrder": number})).first()
        if row is None:
            raise EventError(f"Sales order {number} does not exist", status=404, field="sales_order")
        run = EventRun(row=row, items=store.rows(SO, "A_SalesOrderItem", SalesOrder=number), user=user.upper())
        before = dict(run.order)
        HANDLERS[event](run, **options)
        documents.refresh_order(run)
        if event in CHANGES_ORDER or run.order != before:
            run.order.update(LastChangeDate=run.today,
                             LastChangeDateTime=run.stamp(run.order.get("LastChangeDateTime")))
            row.save(update_fields=["data", "updated_at"])
            run.record("sales_order", SO, "A_SalesOrder", {"SalesOrder": number}, "changed")
    return EventResult(number, event, run.documents, order_status(run.order))
