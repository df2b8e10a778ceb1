"""The SAP S/4HANA adapter of the ERP port, over the OData v2 client in `connectors/sap.py`.

Every S/4HANA detail the engine needs lives here: the business-partner entities and their
expansions, customer sales areas and the default one, the sales-order deep insert
(`PurchaseOrderByCustomer` carries the deal's key, `to_Item`/`to_Partner`, DCM2 price conditions,
`DeliveryBlockReason`), the simulation that prices a draft, the credit-management account and the
receivables cube, how to read which field an SAP error names, and the back-flow: order status
from OverallSDProcessStatus / TotalCreditCheckStatus / DeliveryBlockReason, delivery status from
OverallDeliveryStatus, invoices from the billing documents (F2 that stand, S1 cancellations) and
payment from the AR cube's IsCleared / NetDueDate (WIRE-ERP 4.1-4.4).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from integration_hub.canonical import CanonicalDeal
from integration_hub.connectors.sap import SapClient
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
    GoodsReceipt,
    OpenItem,
    PriceCondition,
    PricedItem,
    PurchaseOrder,
    PurchaseOrderItem,
    Rejection,
    SalesArea,
    SupplierInvoice,
    SupplierInvoiceRequest,
    invoice_reference_key,
)
from integration_hub.errors import AmbiguousOutcome, HubError, ValidationFailed

logger = logging.getLogger("hub.erp.s4hana")
_MATERIAL_IN_ERROR = re.compile(r"material\s+'?([A-Z0-9][\w-]*)'?", re.IGNORECASE)
_TERMS_IN_ERROR = ("terms of payment", "payment terms", "paymentterms")
# V1/300, V1/302: the sold-to party is not set up for the sales area the order names.
_CUSTOMER_IN_ERROR = ("not maintained for sales area", "sold-to party")
# TotalCreditCheckStatus of the simulation: A passed, B refused (blank: not checked).
_CREDIT_VERDICT = {"A": True, "B": False}


def _results(value: Any) -> list[dict[str, Any]]:
    """OData navigation payloads come as a list or as {"results": [...]}."""
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.get("results") or [])
    return list(value)


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def partner_name(bp: dict[str, Any]) -> str:
    return str(bp.get("BusinessPartnerFullName") or bp.get("OrganizationBPName1") or bp.get("BusinessPartnerName") or "")


def supplier_only(bp: dict[str, Any]) -> bool:
    """A partner SAP knows only as a supplier (no customer role): never a match for a deal's account."""
    return bool(bp.get("Supplier")) and not bp.get("Customer")


def partner_address(address: dict[str, Any]) -> ErpAddress:
    street = " ".join(p for p in (str(address.get("HouseNumber") or ""), str(address.get("StreetName") or "")) if p)
    return ErpAddress(street=street, city=str(address.get("CityName") or ""), region=str(address.get("Region") or ""),
                      postal_code=str(address.get("PostalCode") or ""), country=str(address.get("Country") or ""),
                      address_id=str(address.get("AddressID") or ""))


def partner_sales_areas(partner: dict[str, Any]) -> list[SalesArea]:
    """The A_CustomerSalesArea rows of an expanded business partner (to_Customer is 1:1)."""
    customer = partner.get("to_Customer")
    nested = isinstance(customer, list) or (isinstance(customer, dict) and "results" in customer)
    customers = _results(customer) if nested else [customer or {}]
    return [
        SalesArea(sales_organization=str(a.get("SalesOrganization") or ""),
                  distribution_channel=str(a.get("DistributionChannel") or ""), division=str(a.get("Division") or ""),
                  currency=str(a.get("Currency") or ""), payment_terms=str(a.get("CustomerPaymentTerms") or ""))
        for c in customers for a in _results(c.get("to_CustomerSalesArea"))
    ]


def sales_order_items(deal: CanonicalDeal) -> list[dict[str, Any]]:
    """The to_Item array of the deep insert (and of the simulation): 10, 20, … per material."""
    items = []
    number = 10
    for line in deal.lines:
        for material in line.materials:
            item: dict[str, Any] = {
                "SalesOrderItem": str(number),
                "Material": material.material,
                "RequestedQuantity": str(material.quantity),
            }
            if material.unit:
                item["RequestedQuantityUnit"] = material.unit
            if line.price_condition_percent is not None:
                item["to_PricingElement"] = [
                    {"ConditionType": "DCM2", "ConditionRateValue": str(line.price_condition_percent)}
                ]
            elif line.discount_percent:
                item["to_PricingElement"] = [
                    {"ConditionType": "DCM2", "ConditionRateValue": str(-line.discount_percent)}
                ]
            items.append(item)
            number += 10
    return items


def sales_order_header(deal: CanonicalDeal) -> dict[str, Any]:
    org = deal.organization
    header: dict[str, Any] = {
        "SalesOrderType": "OR",
        "SalesOrganization": org.sales_organization,
        "DistributionChannel": org.distribution_channel,
        "OrganizationDivision": org.division,
        "SoldToParty": org.sap_business_partner,
        "PurchaseOrderByCustomer": deal.opportunity_id,
    }
    if deal.payment_terms:
        header["CustomerPaymentTerms"] = deal.payment_terms
    return header


def sales_order_payload(deal: CanonicalDeal, *, delivery_block: str = "") -> dict[str, Any]:
    """The one deep insert: header, partners and every item, all or nothing."""
    payload = sales_order_header(deal)
    if deal.requested_delivery_date:
        payload["RequestedDeliveryDate"] = datetime.combine(deal.requested_delivery_date, time(), tzinfo=UTC)
    partners = [{"PartnerFunction": "SH", "Customer": deal.ship_to.sap_ship_to or deal.organization.sap_business_partner}]
    if deal.primary_contact.sap_contact_person:
        partners.append({"PartnerFunction": "CP", "ContactPerson": deal.primary_contact.sap_contact_person})
    payload["to_Partner"] = partners
    payload["to_Item"] = sales_order_items(deal)
    if delivery_block:
        payload["DeliveryBlockReason"] = delivery_block
    return payload


def order_from_wire(order: dict[str, Any]) -> ErpOrder:
    ship_to = next((str(p.get("Customer") or "") for p in _results(order.get("to_Partner"))
                    if p.get("PartnerFunction") in ("SH", "WE")), "")
    return ErpOrder(
        number=str(order.get("SalesOrder") or ""),
        deal_key=str(order.get("PurchaseOrderByCustomer") or ""),
        customer=str(order.get("SoldToParty") or ""),
        net_amount=_dec(order.get("TotalNetAmount")),
        currency=str(order.get("TransactionCurrency") or ""),
        created_on=_day(order.get("CreationDate") or order.get("SalesOrderDate")),
        delivery_block=str(order.get("DeliveryBlockReason") or ""),
        payment_terms=str(order.get("CustomerPaymentTerms") or ""),
        etag=order.get("etag"),
        items=[{"material": str(i.get("Material") or ""), "quantity": _dec(i.get("RequestedQuantity")),
                "unit": str(i.get("RequestedQuantityUnit") or ""), "net_amount": _dec(i.get("NetAmount"))}
               for i in _results(order.get("to_Item"))],
        ship_to=ship_to,
        status=str(order.get("OverallSDProcessStatus") or ""),
    )


# Credit statuses (CMGST) that hold an order: B not OK, C not OK but partly released (WIRE-ERP 4.0).
_CREDIT_HELD = ("B", "C")
_CANCELLATION_TYPES = ("S1", "S2")  # billing documents that reverse another
ZERO = Decimal("0")


def order_status_label(order: dict[str, Any]) -> str:
    """The hub's order status from the header's SD statuses; a finished or rejected order says so
    before any block, since nothing is left for a block to hold."""
    if order.get("OverallSDDocumentRejectionSts") == "C":
        return "Cancelled"
    if order.get("OverallSDProcessStatus") == "C":
        return "Completed"
    if order.get("TotalCreditCheckStatus") in _CREDIT_HELD:
        return "Credit Hold"
    if order.get("DeliveryBlockReason"):
        return "Delivery Block"
    if order.get("OverallSDProcessStatus") == "B":
        return "In Process"
    return "Open"


def delivery_status_label(order: dict[str, Any]) -> str:
    # OverallDeliveryStatus exists only in newer releases; OverallTotalDeliveryStatus everywhere.
    status = order.get("OverallDeliveryStatus") or order.get("OverallTotalDeliveryStatus") or ""
    return {"C": "Delivered", "B": "Partially Delivered"}.get(str(status), "Not Delivered")


def invoice_stands(header: dict[str, Any]) -> bool:
    """An invoice that is neither a cancellation nor cancelled."""
    return (str(header.get("BillingDocumentType") or "") not in _CANCELLATION_TYPES
            and header.get("SDDocumentCategory") != "N"
            and not header.get("BillingDocumentIsCancelled") and not header.get("CancelledBillingDocument"))


def invoice_state(headers: list[dict[str, Any]], receivables: list[dict[str, Any]],
                  today: date) -> tuple[str, str, Decimal, Decimal]:
    """(latest invoice that stands, invoice status, amount invoiced, amount paid), gross.

    Paid is what the invoices that stand came to less their receivables still open: a partial
    payment leaves a residual open item carrying the same BillingDocument (WIRE-ERP 4.2)."""
    standing = [h for h in headers if invoice_stands(h)]
    if not standing:
        return "", ("Cancelled" if any(h.get("BillingDocumentIsCancelled") for h in headers) else "Not Invoiced"), \
            ZERO, ZERO
    numbers = {str(h.get("BillingDocument") or "") for h in standing}
    latest = max(standing, key=lambda h: (_day(h.get("BillingDocumentDate")) or date.min,
                                          str(h.get("BillingDocument") or "")))
    invoiced = sum((_dec(h.get("TotalGrossAmount")) or ZERO for h in standing), ZERO)
    still_open = [r for r in receivables if str(r.get("BillingDocument") or "") in numbers and not r.get("IsCleared")
                  and (_dec(r.get("AmountInTransactionCurrency")) or ZERO) > 0]
    open_amount = sum((_dec(r.get("AmountInTransactionCurrency")) or ZERO for r in still_open), ZERO)
    paid = max(ZERO, invoiced - open_amount)
    if open_amount <= 0:
        status = "Paid"
    elif any((_day(r.get("NetDueDate")) or today) < today for r in still_open):
        status = "Overdue"
    elif paid > 0:
        status = "Partially Paid"
    else:
        status = "Open"
    return str(latest.get("BillingDocument") or ""), status, invoiced, paid


def delivery_document(header: dict[str, Any], order: str) -> ErpDocument:
    """An outbound delivery dated by its actual goods issue (C: goods issue complete, STATV)."""
    issued = header.get("OverallGoodsMovementStatus") == "C"
    return ErpDocument(
        kind="delivery", number=str(header.get("DeliveryDocument") or ""), order=order,
        on=_day(header.get("ActualGoodsMovementDate")) if issued else _day(header.get("PlannedGoodsIssueDate")),
        status="Goods issued" if issued else "Goods issue planned",
    )


_CLEARING = {"C": "Paid", "B": "Partially Paid", "A": "Open"}


def billing_document(header: dict[str, Any], order: str) -> ErpDocument:
    """An invoice (its clearing status as the hub's invoice status) or a cancellation (S1/S2,
    category N) naming the invoice it reverses."""
    number = str(header.get("BillingDocument") or "")
    on = _day(header.get("BillingDocumentDate"))
    amount = _dec(header.get("TotalGrossAmount"))
    currency = str(header.get("TransactionCurrency") or "")
    if str(header.get("BillingDocumentType") or "") in _CANCELLATION_TYPES or header.get("SDDocumentCategory") == "N":
        return ErpDocument(kind="cancellation", number=number, order=order, on=on, amount=amount, currency=currency,
                           status="Cancels an invoice", reference=str(header.get("CancelledBillingDocument") or ""))
    status = "Cancelled" if header.get("BillingDocumentIsCancelled") else \
        _CLEARING.get(str(header.get("InvoiceClearingStatus") or ""), "Open")
    return ErpDocument(kind="invoice", number=number, order=order, on=on, amount=amount, currency=currency,
                       status=status)


def payment_documents(receivables: list[dict[str, Any]], order: str,
                      invoice_entries: set[str]) -> list[ErpDocument]:
    """The payments that cleared the order's receivables, one per clearing journal entry.

    A partial payment clears the whole item and posts a residual item for the rest in the payment
    document itself (WIRE-ERP 4.2), so what a payment paid is what it cleared less the residual it
    posted. A clearing by an invoice's own journal entry (a cancellation's reversal) is no payment."""
    cleared: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in receivables:
        clearing = str(row.get("ClearingAccountingDocument") or "")
        if row.get("IsCleared") and clearing and clearing not in invoice_entries:
            cleared[clearing].append(row)
    found = []
    for clearing, rows in cleared.items():
        paid = sum((_dec(r.get("AmountInTransactionCurrency")) or ZERO for r in rows), ZERO)
        residual = sum((_dec(r.get("AmountInTransactionCurrency")) or ZERO for r in receivables
                        if str(r.get("AccountingDocument") or "") == clearing), ZERO)
        found.append(ErpDocument(
            kind="payment", number=clearing, order=order, on=_day(rows[0].get("ClearingDate")),
            amount=paid - residual, currency=str(rows[0].get("TransactionCurrency") or ""),
            status="Partial payment" if residual > 0 else "Paid",
            reference=str(rows[0].get("BillingDocument") or ""),
        ))
    return found


def document_sort_key(document: ErpDocument) -> tuple[date, int, str]:
    return (document.on or date.min, DOCUMENT_KINDS.index(document.kind), document.number)


def _moment(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


# -- payables (WIRE-ERP 4.5-4.7) ------------------------------------------------------------------
POSTED = "5"  # SupplierInvoiceStatus of a posted invoice
HEADER_TEXT_LENGTH = 25  # DocumentHeaderText (BKTXT)


def _text(value: Any) -> str:
    return str(value or "")


def _item(value: Any) -> str:
    """SAP's NUMC item number without its leading zeros: "00010" -> "10"."""
    return _text(value).lstrip("0") or "0"


def purchase_order_from_wire(po: dict[str, Any]) -> PurchaseOrder:
    number = _text(po.get("PurchaseOrder"))
    items = tuple(
        PurchaseOrderItem(
            purchase_order=number, item=_item(i.get("PurchaseOrderItem")), material=_text(i.get("Material")),
            quantity=_dec(i.get("OrderQuantity")) or ZERO, unit=_text(i.get("PurchaseOrderQuantityUnit")),
            net_price=_dec(i.get("NetPriceAmount")) or ZERO,
            price_quantity=_dec(i.get("NetPriceQuantity")) or Decimal(1),  # 0 or missing: per 1
            gr_based=bool(i.get("InvoiceIsGoodsReceiptBased")), plant=_text(i.get("Plant")),
        )
        for i in sorted(_results(po.get("to_PurchaseOrderItem")), key=lambda i: _text(i.get("PurchaseOrderItem")))
        if not i.get("PurchasingDocumentDeletionCode")
    )
    return PurchaseOrder(number=number, supplier=_text(po.get("Supplier")), company_code=_text(po.get("CompanyCode")),
                         currency=_text(po.get("DocumentCurrency")), payment_terms=_text(po.get("PaymentTerms")),
                         items=items)


def goods_receipt_from_wire(item: dict[str, Any]) -> GoodsReceipt:
    """A material document item; a 102 (reversal) counts against the receipt, so it comes negative."""
    movement = _text(item.get("GoodsMovementType"))
    quantity = _dec(item.get("QuantityInEntryUnit")) or ZERO
    reversal = movement == "102" or item.get("DebitCreditCode") == "H"
    return GoodsReceipt(
        material_document=_text(item.get("MaterialDocument")), year=_text(item.get("MaterialDocumentYear")),
        document_item=_text(item.get("MaterialDocumentItem")), purchase_order=_text(item.get("PurchaseOrder")),
        purchase_order_item=_item(item.get("PurchaseOrderItem")), material=_text(item.get("Material")),
        quantity=-abs(quantity) if reversal else abs(quantity), unit=_text(item.get("EntryUnit")),
        movement_type=movement, posted_on=_day(item.get("PostingDate")) or date.min,
    )


def supplier_invoice_from_wire(invoice: dict[str, Any]) -> SupplierInvoice:
    return SupplierInvoice(
        number=_text(invoice.get("SupplierInvoice")), fiscal_year=_text(invoice.get("FiscalYear")),
        supplier=_text(invoice.get("InvoicingParty")), reference=_text(invoice.get("SupplierInvoiceIDByInvcgParty")),
        invoice_date=_day(invoice.get("DocumentDate")) or date.min,
        gross_amount=_dec(invoice.get("InvoiceGrossAmount")) or ZERO, currency=_text(invoice.get("DocumentCurrency")),
        payment_block=_text(invoice.get("PaymentBlockingReason")), status=_text(invoice.get("SupplierInvoiceStatus")),
        header_text=_text(invoice.get("DocumentHeaderText")),
    )


def header_text(idempotency_key: str, text: str) -> str:
    """DocumentHeaderText: the hub's key first (so the invoice can be found by it), then the note."""
    if len(idempotency_key) >= HEADER_TEXT_LENGTH:
        raise ValueError(f"idempotency key {idempotency_key!r} leaves no room in DocumentHeaderText")
    return f"{idempotency_key} {text}".strip()[:HEADER_TEXT_LENGTH]


def carries_key(text: str, idempotency_key: str) -> bool:
    """Whether a header text starts with the key as a whole word ("VI-4" is not "VI-42")."""
    return text == idempotency_key or text.startswith(idempotency_key + " ")


def supplier_invoice_payload(request: SupplierInvoiceRequest, *, idempotency_key: str) -> dict[str, Any]:
    """The deep insert of A_SupplierInvoice with one PO-referenced item per invoice item."""
    payload: dict[str, Any] = {
        "CompanyCode": request.company_code, "DocumentDate": request.invoice_date,
        "SupplierInvoiceIDByInvcgParty": request.reference, "InvoicingParty": request.supplier,
        "DocumentCurrency": request.currency, "InvoiceGrossAmount": request.gross_amount,
        "DocumentHeaderText": header_text(idempotency_key, request.header_text),
        "PaymentBlockingReason": request.payment_block,
        "to_SuplrInvcItemPurOrdRef": [
            {"SupplierInvoiceItem": str(index + 1), "PurchaseOrder": item.purchase_order,
             "PurchaseOrderItem": item.purchase_order_item.zfill(5), "DocumentCurrency": request.currency,
             "SupplierInvoiceItemAmount": item.amount, "PurchaseOrderQuantityUnit": item.unit,
             "QuantityInPurchaseOrderUnit": item.quantity}
            for index, item in enumerate(request.items)
        ],
    }
    if request.payment_terms:
        payload["PaymentTerms"] = request.payment_terms
    return payload


class S4HanaErp:
    """`ErpPort` and `PayablesPort` over one S/4HANA tenant."""

    target = "s4hana"

    def __init__(self, client: SapClient) -> None:
        self.client = client
        self.default_sales_area = SalesArea(settings.SAP_SALES_ORGANIZATION, settings.SAP_DISTRIBUTION_CHANNEL,
                                            settings.SAP_DIVISION)

    # -- master data -------------------------------------------------------------------------------
    def customers_by_tax_number(self, number: str) -> list[CustomerCandidate]:
        return [CustomerCandidate(str(hit["BusinessPartner"]), partner_name(hit), str(hit.get("matched_by") or ""))
                for hit in self.client.search_business_partners(tax_number=number) if not supplier_only(hit)]

    def customers_by_name(self, name: str, *, top: int = 20) -> list[CustomerCandidate]:
        return [CustomerCandidate(str(hit["BusinessPartner"]), partner_name(hit), str(hit.get("matched_by") or ""))
                for hit in self.client.search_business_partners(name=name, top=top) if not supplier_only(hit)]

    def customer_get(self, number: str) -> ErpCustomer:
        bp = self.client.get_business_partner(number)
        areas = partner_sales_areas(bp)
        d = self.default_sales_area
        preferred = next(
            (a for a in areas if (a.sales_organization, a.distribution_channel, a.division)
             == (d.sales_organization, d.distribution_channel, d.division)),
            areas[0] if areas else None,
        )
        return ErpCustomer(
            number=str(bp.get("BusinessPartner") or number), name=partner_name(bp),
            addresses=[partner_address(a) for a in _results(bp.get("to_BusinessPartnerAddress"))],
            sales_areas=areas, blocked=bool(bp.get("BusinessPartnerIsBlocked")), preferred_sales_area=preferred,
        )

    def material_exists(self, material: str) -> bool:
        return self.client.get_product(material) is not None

    def materials_list(self) -> dict[str, str]:
        return {str(r["Product"]): str(r.get("ProductDescription") or "") for r in self.client.list_product_descriptions()}

    def customers_list(self) -> list[CustomerSummary]:
        found = []
        for row in self.client.list_organizations():
            if supplier_only(row):
                continue
            addresses = _results(row.get("to_BusinessPartnerAddress"))
            found.append(CustomerSummary(
                number=str(row["BusinessPartner"]), name=partner_name(row),
                tax_numbers=tuple(str(t.get("BPTaxNumber") or "") for t in _results(row.get("to_BusinessPartnerTax"))),
                address=partner_address(addresses[0]) if addresses else None,
            ))
        return found

    def payment_terms_keys(self) -> set[str]:
        # The tenant's T052 keys are configuration, not an API: the hub is told them.
        return {str(k).upper() for k in settings.HUB_SAP_PAYMENT_TERMS_KEYS}

    # -- a draft order -----------------------------------------------------------------------------
    def draft_check(self, deal: CanonicalDeal, *, credit: bool = True) -> DraftCheck:
        # Terms stay out of the simulation: a rejected terms key is healed at create time, not here.
        header = {k: v for k, v in sales_order_header(deal).items() if k != "CustomerPaymentTerms"}
        simulation = self.client.simulate_sales_order({**header, "to_Item": sales_order_items(deal)})
        by_number = {str(item.get("item", "")).lstrip("0"): item for item in simulation["items"]}
        priced = []
        number = 10
        for line in deal.lines:
            for material in line.materials:
                item = by_number.get(str(number)) or {}
                priced.append(PricedItem(
                    item=str(number), line_id=line.crm_line_id, material=material.material,
                    quantity=_dec(item.get("quantity")), net_amount=_dec(item.get("net_amount")) or Decimal("0"),
                    conditions=[PriceCondition(str(c.get("ConditionType") or ""), c.get("ConditionRateValue"),
                                               c.get("ConditionAmount"))
                                for c in _results(item.get("pricing_elements"))],
                ))
                number += 10
        verdict = str(simulation.get("credit_status") or "")
        check = DraftCheck(items=priced, total_net=_dec(simulation.get("total_net_amount")),
                           currency=str(simulation.get("currency") or ""),
                           erp_credit_ok=_CREDIT_VERDICT.get(verdict))
        if credit:
            check.credit = self.credit_get(deal.organization.sap_business_partner)
        return check

    def credit_get(self, customer: str) -> CreditStanding | None:
        account = self.client.get_credit_account(customer)
        if not account:
            return None
        return CreditStanding(limit=_dec(account.get("credit_limit")) or Decimal("0"),
                              currency=str(account.get("currency") or ""), blocked=bool(account.get("blocked")),
                              block_reason=str(account.get("block_reason") or ""),
                              open_items=self.open_items(customer))

    def open_items(self, customer: str) -> list[OpenItem]:
        return [
            OpenItem(amount=_dec(i.get("AmountInTransactionCurrency") or i.get("AmountInCompanyCodeCurrency"))
                     or Decimal("0"), due_date=_day(i.get("NetDueDate")),
                     document=str(i.get("AccountingDocument") or ""))
            for i in self.client.get_open_items(customer) if not i.get("ClearingAccountingDocument")
        ]

    def rejection(self, error: HubError, deal: CanonicalDeal) -> Rejection | None:
        text = error.full_text()
        materials = {m.material for line in deal.lines for m in line.materials}
        for match in _MATERIAL_IN_ERROR.finditer(text):
            if match.group(1) in materials:
                return Rejection("material", match.group(1))
        if any(term in text.lower() for term in _TERMS_IN_ERROR):
            return Rejection("payment_terms", deal.payment_terms)
        if any(term in text.lower() for term in _CUSTOMER_IN_ERROR):
            return Rejection("customer", deal.organization.sap_business_partner)
        return None

    # -- orders ------------------------------------------------------------------------------------
    def order_create(self, deal: CanonicalDeal, *, delivery_block: str = "") -> ErpOrder:
        return order_from_wire(self.client.create_sales_order(sales_order_payload(deal, delivery_block=delivery_block)))

    def orders_find(self, deal_key: str) -> list[ErpOrder]:
        return [order_from_wire(o) for o in self.client.find_sales_orders(deal_key)]

    def orders_for_keys(self, deal_keys: list[str]) -> dict[str, list[ErpOrder]]:
        found: dict[str, list[ErpOrder]] = defaultdict(list)
        for order in self.client.find_sales_orders_any(deal_keys) if deal_keys else []:
            found[str(order.get("PurchaseOrderByCustomer") or "")].append(order_from_wire(order))
        return dict(found)

    def orders_created_between(self, *, start: date, end: date, skip: int = 0, top: int = 200) -> list[ErpOrder]:
        return [order_from_wire(o) for o in self.client.sales_orders_created(start, end, skip=skip, top=top)]

    def order_get(self, number: str) -> ErpOrder:
        return order_from_wire(self.client.get_sales_order(number, expand=False))

    def customer_orders(self, customer: str, *, top: int = 10) -> list[ErpOrder]:
        return [order_from_wire(o) for o in self.client.customer_sales_orders(customer, top=top)]

    def order_change(self, number: str, *, etag: str | None, delivery_block: str) -> str | None:
        return self.client.update_sales_order(number, {"DeliveryBlockReason": delivery_block}, etag)

    def order_cancel(self, number: str, *, etag: str | None) -> None:
        self.client.delete_sales_order(number, etag)

    # -- after the order ---------------------------------------------------------------------------
    def orders_changed(self, *, since: datetime, limit: int = 500) -> list[ErpOrderStatus]:
        return self._statuses(self.client.sales_orders_changed(since, top=limit))

    def order_statuses(self, numbers: list[str]) -> list[ErpOrderStatus]:
        return self._statuses(self.client.sales_orders_by_number(numbers)) if numbers else []

    def _statuses(self, orders: list[dict[str, Any]]) -> list[ErpOrderStatus]:
        """Three reads for any number of orders: their billing items, those documents, their receivables."""
        numbers = [str(o.get("SalesOrder") or "") for o in orders]
        if not numbers:
            return []
        items, headers = self.client.billing_documents_for_orders(numbers)
        receivables = self.client.receivables_for_orders(numbers) if headers else []
        header_by_number = {str(h.get("BillingDocument") or ""): h for h in headers}
        headers_of: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for item in items:
            number = str(item.get("BillingDocument") or "")
            if number in header_by_number:
                headers_of[str(item.get("SalesDocument") or "")][number] = header_by_number[number]
        receivables_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in receivables:
            receivables_of[str(row.get("SalesDocument") or "")].append(row)
        today = timezone.now().astimezone(UTC).date()
        statuses = []
        for order in orders:
            number = str(order.get("SalesOrder") or "")
            invoice, invoice_status, invoiced, paid = invoice_state(
                list(headers_of[number].values()), receivables_of[number], today)
            statuses.append(ErpOrderStatus(
                number=number, deal_key=str(order.get("PurchaseOrderByCustomer") or ""),
                customer=str(order.get("SoldToParty") or ""), order_status=order_status_label(order),
                delivery_status=delivery_status_label(order), invoice_number=invoice, invoice_status=invoice_status,
                amount_invoiced=invoiced, amount_paid=paid, currency=str(order.get("TransactionCurrency") or ""),
                changed_at=_moment(order.get("LastChangeDateTime")),
            ))
        return statuses

    def customer_standing(self, customer: str) -> CustomerStanding:
        account = self.client.get_credit_account(customer)
        items = self.open_items(customer)
        today = timezone.now().astimezone(UTC).date()
        overdue = [i.due_date for i in items if i.due_date is not None and i.due_date < today and i.amount > 0]
        return CustomerStanding(
            customer=customer, credit_blocked=bool(account and account.get("blocked")),
            open_ar=sum((i.amount for i in items), ZERO),
            days_past_due=(today - min(overdue)).days if overdue else 0,
            currency=str((account or {}).get("currency") or ""),
        )

    def order_documents(self, number: str) -> list[ErpDocument]:
        _, deliveries = self.client.deliveries_for_orders([number])
        _, headers = self.client.billing_documents_for_orders([number])
        receivables = self.client.receivables_for_orders([number]) if headers else []
        entries = {str(h.get("AccountingDocument") or "") for h in headers} - {""}
        documents = [*(delivery_document(h, number) for h in deliveries),
                     *(billing_document(h, number) for h in headers),
                     *payment_documents(receivables, number, entries)]
        return sorted(documents, key=document_sort_key)

    def document_find(self, number: str) -> ErpDocument | None:
        delivery = self.client.get_delivery(number)
        if delivery is not None:
            items = _results(delivery.get("to_DeliveryDocumentItem"))
            return delivery_document(delivery, str(items[0].get("ReferenceSDDocument") or "") if items else "")
        billing = self.client.get_billing_document(number)
        if billing is not None:
            items = _results(billing.get("to_Item"))
            return billing_document(billing, str(items[0].get("SalesDocument") or "") if items else "")
        return None

    # -- payables ----------------------------------------------------------------------------------
    def purchase_order_get(self, number: str) -> PurchaseOrder:
        return purchase_order_from_wire(self.client.get_purchase_order(number))

    def goods_receipts_for(self, purchase_order: str) -> list[GoodsReceipt]:
        return [goods_receipt_from_wire(item) for item in self.client.material_document_items(purchase_order)
                if item.get("GoodsMovementType") in ("101", "102") and not item.get("GoodsMovementIsCancelled")]

    def goods_receipt_post(self, purchase_order: str, item: str, quantity: Decimal, *,
                           posted_on: date | None = None, delivery_note: str = "") -> list[GoodsReceipt]:
        """Post a goods receipt (101) for a PO item, in the item's order unit; returns the material
        document's items. Not part of `PayablesPort`: the demo and tests use it to make receipts
        appear (a receipt SAP refuses, e.g. beyond the PO quantity, raises ValidationFailed)."""
        po = self.purchase_order_get(purchase_order)
        po_item = po.item(item)
        if po_item is None:
            raise ValidationFailed(f"Purchase order {purchase_order} has no item {item}", system="sap")
        day = posted_on or timezone.now().date()
        created = self.client.create_material_document({
            "GoodsMovementCode": "01", "PostingDate": day, "DocumentDate": day, "ReferenceDocument": delivery_note,
            "to_MaterialDocumentItem": [{
                "GoodsMovementType": "101", "PurchaseOrder": purchase_order,
                "PurchaseOrderItem": po_item.item.zfill(5), "QuantityInEntryUnit": quantity,
                "EntryUnit": po_item.unit, "GoodsMovementRefDocType": "B",
            }],
        })
        return [goods_receipt_from_wire(i) for i in _results(created.get("to_MaterialDocumentItem"))]

    def supplier_exists(self, supplier: str) -> bool:
        return bool(supplier) and self.client.get_supplier(supplier) is not None

    def supplier_invoices_find(self, *, supplier: str, reference: str) -> list[SupplierInvoice]:
        """SAP's filter compares references exactly, so the supplier's invoices are read and their
        references compared by `invoice_reference_key` here ("INV-00123" finds "inv 123")."""
        wanted = invoice_reference_key(reference)
        if not wanted:
            return []
        return [supplier_invoice_from_wire(i) for i in self.client.supplier_invoices(supplier)
                if invoice_reference_key(_text(i.get("SupplierInvoiceIDByInvcgParty"))) == wanted]

    def supplier_invoice_by_key(self, idempotency_key: str) -> SupplierInvoice | None:
        found = [i for i in self.client.supplier_invoices_by_header_text(idempotency_key)
                 if carries_key(_text(i.get("DocumentHeaderText")), idempotency_key)]
        standing = [i for i in found if not i.get("ReverseDocument")]
        return supplier_invoice_from_wire((standing or found)[0]) if found else None

    def supplier_invoice_post(self, request: SupplierInvoiceRequest, *, idempotency_key: str) -> SupplierInvoice:
        """Create (deep insert) and post, once per key: an invoice already carrying the key is
        posted if it is still parked and returned as it is otherwise; a create or post whose answer
        was lost is looked up by the key before anything is sent again."""
        existing = self.supplier_invoice_by_key(idempotency_key)
        if existing is None:
            payload = supplier_invoice_payload(request, idempotency_key=idempotency_key)
            try:
                created = self.client.create_supplier_invoice(payload)
            except AmbiguousOutcome:
                existing = self.supplier_invoice_by_key(idempotency_key)
                if existing is None:
                    raise
            else:
                existing = supplier_invoice_from_wire(created)
        if existing.status != POSTED:
            try:
                self.client.post_supplier_invoice(existing.number, existing.fiscal_year)
            except AmbiguousOutcome:
                logger.info("post of %s %s unanswered; reading it back", existing.number, existing.fiscal_year)
            except ValidationFailed as exc:
                if "already posted" not in str(exc):  # posted by a concurrent attempt: read back below
                    raise
        invoice = supplier_invoice_from_wire(self.client.get_supplier_invoice(existing.number, existing.fiscal_year))
        if invoice.status != POSTED:
            raise AmbiguousOutcome(f"SAP supplier invoice {invoice.number} {invoice.fiscal_year} was created but is "
                                   "not posted yet; post it again by the same key", system="sap")
        return invoice

    def supplier_invoice_release(self, number: str, fiscal_year: str) -> None:
        try:
            self.client.release_supplier_invoice(number, fiscal_year)
        except ValidationFailed as exc:
            if "not blocked for payment" in str(exc):
                return  # released already: nothing is left to do
            raise

    def close(self) -> None:
        self.client.close()
