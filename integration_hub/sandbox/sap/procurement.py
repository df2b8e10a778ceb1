"""Procurement in the SAP sandbox: purchase orders, goods receipts and supplier invoices
(WIRE-ERP 4.5-4.7, 4.9), with the checks SAP makes on create.

- `A_PurchaseOrder` deep insert with `to_PurchaseOrderItem`: supplier, company code, materials
  and prices checked; item numbers 00010, 00020, ...; the price is per `NetPriceQuantity` units.
- `A_MaterialDocumentHeader` deep insert with `to_MaterialDocumentItem`: movement types 101 (goods
  receipt for a PO) and 102 (its reversal); a receipt beyond the PO quantity (plus the item's
  over-delivery tolerance) and a reversal beyond what was received are refused.
- `A_SupplierInvoice` deep insert with `to_SuplrInvcItemPurOrdRef` creates the invoice parked
  (status "A"); the `Post` function import posts it (status "5") once it balances (the sandbox
  books no tax lines: gross must equal the sum of the items), `Release` removes the payment block.
- SAP's duplicate-invoice check (OMRDC standard attributes, WIRE-ERP 4.9): another invoice that
  stands with the same invoicing party, company code, currency, gross amount, reference and
  document date refuses the create, when the supplier's company data has the check on and a
  reference is given. SAP stores the reference (XBLNR) in upper case and compares it as stored,
  so "inv-00123" matches "INV-00123" but "inv 123" does not: catching that is the hub's job
  (`integration_hub.erp.base.invoice_reference_key`).

Message classes follow SAP's (ME purchasing, M7 inventory, M8 invoice verification); the numbers
M7/022 (PO quantity exceeded) and M8/108 (check if invoice already entered) are SAP's as far as
we know them — WIRE-ERP gives no message numbers — and the others are the sandbox's own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from integration_hub.sandbox.sap import sales, store
from integration_hub.sandbox.sap.entities import (
    MATERIAL_DOCUMENT_SRV,
    PURCHASE_ORDER_SRV,
    SUPPLIER_INVOICE_SRV,
    FunctionImport,
    entity_type,
)
from integration_hub.sandbox.sap.models import SapEntity
from integration_hub.sandbox.sap.odata_query import dt_internal, key_string, parse_datetime
from integration_hub.sandbox.sap.payload import SapBusinessError, parse

Row = dict[str, Any]

BP = sales.BP
PO = PURCHASE_ORDER_SRV.name
MATDOC = MATERIAL_DOCUMENT_SRV.name
INVOICE = SUPPLIER_INVOICE_SRV.name
PURCHASE_ORDER_START = 4500000011  # the seed uses 4500000001-4500000010
MATERIAL_DOCUMENT_START = 5000000101  # the seed uses 5000000001-...
SUPPLIER_INVOICE_START = 5105600002  # the seed posts 5105600001
COMPANY_CODES = {"1710": ("USD", "1710"), "1010": ("EUR", "1010"), "2910": ("GBP", "2910")}  # currency, plant
POSTED, PARKED = "5", "A"
MOVEMENTS = {"101": "S", "102": "H"}  # movement type -> debit/credit
ZERO = Decimal(0)


def item_number(value: Any, width: int) -> str:
    """SAP's NUMC item number: "10" -> "00010" (width 5), "1" -> "000001" (width 6)."""
    text = str(value or "").strip()
    if not text.isdigit() or len(text) > width:
        raise SapBusinessError("/IWBEP/CM_MGW_RT/022", f"Item number '{text}' is not a number of up to {width} digits")
    return text.zfill(width)


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        return ZERO


def _day(value: Any) -> date | None:
    return parse_datetime(value).date() if value else None


def _missing(name: str, label: str, path: str = "") -> SapBusinessError:
    return SapBusinessError("/IWBEP/CM_MGW_RT/022", f"Enter a value for {label} ({name})", target=f"{path}{name}",
                            propertyref=name)


def supplier_company(supplier: str, company_code: str) -> Row | None:
    found = store.rows(BP, "A_SupplierCompany", Supplier=supplier, CompanyCode=company_code)
    return found[0] if found else None


def _check_supplier(supplier: str, company_code: str, field: str) -> Row:
    if not supplier:
        raise _missing(field, "Supplier")
    if not store.exists(BP, "A_Supplier", Supplier=supplier):
        raise SapBusinessError("ME/045", f"Supplier {supplier} does not exist", propertyref=field, target=field)
    company = supplier_company(supplier, company_code)
    if company is None:
        raise SapBusinessError("ME/046", f"Supplier {supplier} is not created in company code {company_code}",
                               propertyref=field, target=field)
    return company


def _check_company_code(code: str) -> tuple[str, str]:
    if not code:
        raise _missing("CompanyCode", "Company code")
    if code not in COMPANY_CODES:
        raise SapBusinessError("F5/165", f"Company code {code} does not exist", propertyref="CompanyCode",
                               target="CompanyCode")
    return COMPANY_CODES[code]


# -- purchase orders -------------------------------------------------------------------------------
@transaction.atomic
def purchase_order_create(payload: Any, *, user: str, number: str = "") -> Row:
    """Deep insert A_PurchaseOrder with its items, all or nothing."""
    parsed = parse(PURCHASE_ORDER_SRV, entity_type(PO, "A_PurchaseOrder"), payload)
    header = dict(parsed.data)
    currency, plant = _check_company_code(header.get("CompanyCode") or "")
    company = _check_supplier(header.get("Supplier") or "", header["CompanyCode"], "Supplier")
    terms = header.get("PaymentTerms") or company.get("PaymentTerms") or ""
    if terms and terms not in sales.valid_payment_terms():
        raise SapBusinessError("ME/083", f"Terms of payment {terms} are not defined", propertyref="PaymentTerms",
                               target="PaymentTerms")
    number = number or header.get("PurchaseOrder") or ""
    if number:
        if store.exists(PO, "A_PurchaseOrder", PurchaseOrder=number):
            raise SapBusinessError("ME/010", f"Purchase order {number} already exists", propertyref="PurchaseOrder")
    else:
        number = str(store.next_number("purchase_order", PURCHASE_ORDER_START))
    today = sales.midnight(sales.today())
    header.update(
        PurchaseOrder=number, PaymentTerms=terms, DocumentCurrency=header.get("DocumentCurrency") or currency,
        PurchaseOrderType=header.get("PurchaseOrderType") or "NB",
        PurchasingOrganization=header.get("PurchasingOrganization") or header["CompanyCode"],
        PurchasingGroup=header.get("PurchasingGroup") or "001",
        PurchaseOrderDate=header.get("PurchaseOrderDate") or today, PurchasingProcessingStatus="05",
        PurchasingDocumentDeletionCode="", ReleaseIsNotCompleted=False, PurchasingCompletenessStatus=False,
        CreatedByUser=user.upper(), CreationDate=today, LastChangeDateTime=dt_internal(timezone.now()),
    )
    entries = parsed.items("to_PurchaseOrderItem")
    if not entries:
        raise _missing("to_PurchaseOrderItem", "Purchase order item")
    items: list[Row] = []
    for index, entry in enumerate(entries):
        path = f"to_PurchaseOrderItem({index + 1})/"
        row = dict(entry.data)
        row["PurchaseOrderItem"] = item_number(row.get("PurchaseOrderItem") or (index + 1) * 10, 5)
        if any(i["PurchaseOrderItem"] == row["PurchaseOrderItem"] for i in items):
            raise SapBusinessError("ME/011", f"Item {row['PurchaseOrderItem']} appears twice", target=f"{path}PurchaseOrderItem")
        material = row.get("Material") or ""
        if not material:
            raise _missing("Material", "Material", path)
        product = store.get(sales.PRODUCT, entity_type(sales.PRODUCT, "A_Product"), {"Product": material})
        if product is None:
            raise SapBusinessError("M3/305", f"Material {material} does not exist", target=f"{path}Material",
                                   propertyref="Material")
        quantity = _dec(row.get("OrderQuantity"))
        if quantity <= 0:
            raise SapBusinessError("ME/100", "Enter a purchase order quantity greater than zero",
                                   target=f"{path}OrderQuantity", propertyref="OrderQuantity")
        if row.get("NetPriceAmount") in (None, "") or _dec(row.get("NetPriceAmount")) < 0:
            raise SapBusinessError("ME/102", "Enter a net price (zero or more)", target=f"{path}NetPriceAmount",
                                   propertyref="NetPriceAmount")
        price_quantity = _dec(row.get("NetPriceQuantity") or 1)
        if price_quantity <= 0:
            raise SapBusinessError("ME/103", "The price unit must be greater than zero",
                                   target=f"{path}NetPriceQuantity", propertyref="NetPriceQuantity")
        unit = row.get("PurchaseOrderQuantityUnit") or product.get("BaseUnit") or ""
        row.update(
            PurchaseOrder=number, Material=material, PurchaseOrderQuantityUnit=unit,
            OrderPriceUnit=row.get("OrderPriceUnit") or unit, DocumentCurrency=header["DocumentCurrency"],
            NetPriceQuantity=str(price_quantity), Plant=row.get("Plant") or plant,
            PurchaseOrderItemText=row.get("PurchaseOrderItemText") or product.get("_Description", "")[:40],
            GoodsReceiptIsExpected=row.get("GoodsReceiptIsExpected", True) is not False,
            InvoiceIsExpected=row.get("InvoiceIsExpected", True) is not False,
            InvoiceIsGoodsReceiptBased=bool(row.get("InvoiceIsGoodsReceiptBased")),
            EvaldRcptSettlmtIsAllowed=bool(row.get("EvaldRcptSettlmtIsAllowed")),
            OverdelivTolrtdLmtRatioInPct=row.get("OverdelivTolrtdLmtRatioInPct") or "0",
            UnderdelivTolrtdLmtRatioInPct=row.get("UnderdelivTolrtdLmtRatioInPct") or "0",
            IsCompletelyDelivered=False, IsFinallyInvoiced=False, PurchasingDocumentDeletionCode="",
        )
        items.append(row)
    store.insert(PO, "A_PurchaseOrder", [header])
    store.insert(PO, "A_PurchaseOrderItem", items)
    return dict(header, to_PurchaseOrderItem=items)


def _po_item(purchase_order: str, item: str) -> Row | None:
    return store.get(PO, entity_type(PO, "A_PurchaseOrderItem"), {"PurchaseOrder": purchase_order,
                                                                  "PurchaseOrderItem": item})


def received_quantities(purchase_order: str) -> dict[str, Decimal]:
    """Net received quantity per PO item ("00010": 101 receipts minus 102 reversals)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in store.rows(MATDOC, "A_MaterialDocumentItem", PurchaseOrder=purchase_order):
        sign = -1 if row.get("GoodsMovementType") == "102" else 1
        totals[row["PurchaseOrderItem"]] += sign * _dec(row.get("QuantityInEntryUnit"))
    return totals


# -- goods receipts --------------------------------------------------------------------------------
@transaction.atomic
def material_document_create(payload: Any, *, user: str, number: str = "") -> Row:
    """Deep insert A_MaterialDocumentHeader with 101/102 items against purchase order items."""
    parsed = parse(MATERIAL_DOCUMENT_SRV, entity_type(MATDOC, "A_MaterialDocumentHeader"), payload)
    header = dict(parsed.data)
    if header.get("GoodsMovementCode") != "01":
        raise SapBusinessError("M7/001", "The sandbox posts goods movements for purchase orders only: "
                               "GoodsMovementCode must be 01", propertyref="GoodsMovementCode",
                               target="GoodsMovementCode")
    today = sales.midnight(sales.today())
    posting = header.get("PostingDate") or today
    year = str(parse_datetime(posting).year)
    entries = parsed.items("to_MaterialDocumentItem")
    if not entries:
        raise _missing("to_MaterialDocumentItem", "Material document item")
    number = number or str(store.next_number("material_document", MATERIAL_DOCUMENT_START))
    header.update(MaterialDocumentYear=year, MaterialDocument=number, PostingDate=posting,
                  DocumentDate=header.get("DocumentDate") or posting, InventoryTransactionType="WE",
                  CreatedByUser=user.upper(), CreationDate=today)
    received: dict[tuple[str, str], Decimal] = {}
    items: list[Row] = []
    for index, entry in enumerate(entries):
        path = f"to_MaterialDocumentItem({index + 1})/"
        row = dict(entry.data)
        movement = row.get("GoodsMovementType") or ""
        if movement not in MOVEMENTS:
            raise SapBusinessError("M7/002", f"Movement type {movement or '(none)'} is not supported: use 101 or 102",
                                   target=f"{path}GoodsMovementType", propertyref="GoodsMovementType")
        purchase_order = row.get("PurchaseOrder") or ""
        if not purchase_order:
            raise _missing("PurchaseOrder", "Purchase order", path)
        po_item_no = item_number(row.get("PurchaseOrderItem") or "", 5)
        po_item = _po_item(purchase_order, po_item_no)
        if po_item is None:
            raise SapBusinessError("M7/003", f"Purchase order item {purchase_order} {po_item_no} does not exist",
                                   target=f"{path}PurchaseOrderItem", propertyref="PurchaseOrderItem")
        po = store.get(PO, entity_type(PO, "A_PurchaseOrder"), {"PurchaseOrder": purchase_order}) or {}
        material = row.get("Material") or po_item["Material"]
        if material != po_item["Material"]:
            raise SapBusinessError("M7/004", f"Material {material} is not the material {po_item['Material']} of "
                                   f"purchase order item {purchase_order} {po_item_no}", target=f"{path}Material",
                                   propertyref="Material")
        unit = row.get("EntryUnit") or po_item["PurchaseOrderQuantityUnit"]
        if unit != po_item["PurchaseOrderQuantityUnit"]:
            raise SapBusinessError("M7/005", f"Unit {unit} cannot be converted to the order unit "
                                   f"{po_item['PurchaseOrderQuantityUnit']}", target=f"{path}EntryUnit",
                                   propertyref="EntryUnit")
        quantity = _dec(row.get("QuantityInEntryUnit"))
        if quantity <= 0:
            raise SapBusinessError("M7/006", "Enter a quantity greater than zero", target=f"{path}QuantityInEntryUnit",
                                   propertyref="QuantityInEntryUnit")
        key = (purchase_order, po_item_no)
        if key not in received:
            received[key] = received_quantities(purchase_order).get(po_item_no, ZERO)
        ordered = _dec(po_item["OrderQuantity"])
        if movement == "101":
            allowed = ordered * (1 + _dec(po_item.get("OverdelivTolrtdLmtRatioInPct")) / 100)
            if received[key] + quantity > allowed:
                excess = received[key] + quantity - ordered
                raise SapBusinessError("M7/022", f"PO quantity exceeded by {excess.normalize():f} {unit}: "
                                       f"{material} {purchase_order} {po_item_no}",
                                       target=f"{path}QuantityInEntryUnit", propertyref="QuantityInEntryUnit")
            received[key] += quantity
        else:
            if quantity > received[key]:
                raise SapBusinessError("M7/021", f"Only {received[key].normalize():f} {unit} received for "
                                       f"{purchase_order} {po_item_no}: cannot reverse {quantity.normalize():f}",
                                       target=f"{path}QuantityInEntryUnit", propertyref="QuantityInEntryUnit")
            received[key] -= quantity
        row.update(
            MaterialDocumentYear=year, MaterialDocument=number, MaterialDocumentItem=str(index + 1),
            GoodsMovementType=movement, PurchaseOrder=purchase_order, PurchaseOrderItem=po_item_no,
            Material=material, Plant=row.get("Plant") or po_item["Plant"], EntryUnit=unit,
            StorageLocation=row.get("StorageLocation") or "101A", GoodsMovementRefDocType="B",
            QuantityInEntryUnit=str(quantity), QuantityInBaseUnit=str(quantity), MaterialBaseUnit=unit,
            Supplier=po.get("Supplier", ""), CompanyCodeCurrency=po.get("DocumentCurrency", ""),
            DebitCreditCode=MOVEMENTS[movement], PostingDate=posting, GoodsMovementIsCancelled=False,
            InventoryStockType=row.get("InventoryStockType") or "01",
            IsCompletelyDelivered=received[key] >= ordered,
        )
        items.append(row)
    store.insert(MATDOC, "A_MaterialDocumentHeader", [header])
    store.insert(MATDOC, "A_MaterialDocumentItem", items)
    item_type = entity_type(PO, "A_PurchaseOrderItem")
    for (purchase_order, po_item_no), total in received.items():
        po_item = _po_item(purchase_order, po_item_no)
        if po_item is not None:
            po_item["IsCompletelyDelivered"] = total >= _dec(po_item["OrderQuantity"])
            store.save(PO, item_type, po_item)
    return dict(header, to_MaterialDocumentItem=items)


# -- supplier invoices -----------------------------------------------------------------------------
def _reference(value: Any) -> str:
    """XBLNR as SAP stores and compares it: trimmed, upper case."""
    return str(value or "").strip().upper()


def _stands(invoice: Row) -> bool:
    return invoice.get("SupplierInvoiceStatus") != "2" and not invoice.get("ReverseDocument")


def duplicate_of(invoice: Row) -> Row | None:
    """An earlier invoice SAP's duplicate check (OMRDC standard attributes) finds for `invoice`."""
    if not invoice.get("SupplierInvoiceIDByInvcgParty") or invoice.get("IsInvoice") is False:
        return None
    company = supplier_company(invoice["InvoicingParty"], invoice["CompanyCode"])
    if company is None or company.get("IsToBeCheckedForDuplicates") is False:
        return None
    reference = _reference(invoice["SupplierInvoiceIDByInvcgParty"])
    for other in store.rows(INVOICE, "A_SupplierInvoice", InvoicingParty=invoice["InvoicingParty"],
                            CompanyCode=invoice["CompanyCode"], DocumentCurrency=invoice["DocumentCurrency"]):
        if (_stands(other) and other.get("IsInvoice") is not False
                and _reference(other.get("SupplierInvoiceIDByInvcgParty")) == reference
                and _dec(other.get("InvoiceGrossAmount")) == _dec(invoice.get("InvoiceGrossAmount"))
                and _day(other.get("DocumentDate")) == _day(invoice.get("DocumentDate"))):
            return other
    return None


@transaction.atomic
def supplier_invoice_create(payload: Any, *, user: str, number: str = "") -> Row:
    """Deep insert A_SupplierInvoice with PO-referenced items; the invoice is parked until `Post`."""
    parsed = parse(SUPPLIER_INVOICE_SRV, entity_type(INVOICE, "A_SupplierInvoice"), payload)
    header = dict(parsed.data)
    _check_company_code(header.get("CompanyCode") or "")
    company = _check_supplier(header.get("InvoicingParty") or "", header["CompanyCode"], "InvoicingParty")
    if not header.get("DocumentDate"):
        raise _missing("DocumentDate", "Invoice date")
    if not header.get("DocumentCurrency"):
        raise _missing("DocumentCurrency", "Currency")
    if header.get("InvoiceGrossAmount") in (None, ""):
        raise _missing("InvoiceGrossAmount", "Gross invoice amount")
    if _dec(header["InvoiceGrossAmount"]) < 0:
        raise SapBusinessError("M8/301", "Enter a gross amount of zero or more", propertyref="InvoiceGrossAmount",
                               target="InvoiceGrossAmount")
    terms = header.get("PaymentTerms") or company.get("PaymentTerms") or ""
    if terms and terms not in sales.valid_payment_terms():
        raise SapBusinessError("M8/083", f"Terms of payment {terms} are not defined", propertyref="PaymentTerms",
                               target="PaymentTerms")
    block = header.get("PaymentBlockingReason") or ""
    if block not in ("", "A", "B", "R", "V"):
        raise SapBusinessError("M8/084", f"Payment block key {block} is not defined",
                               propertyref="PaymentBlockingReason", target="PaymentBlockingReason")
    today = sales.midnight(sales.today())
    posting = header.get("PostingDate") or today
    year = str(parse_datetime(posting).year)
    header.update(PaymentTerms=terms, PaymentBlockingReason=block, PostingDate=posting, CreationDate=today,
                  IsInvoice=header.get("IsInvoice", True) is not False, SupplierInvoiceStatus=PARKED,
                  AccountingDocumentType=header.get("AccountingDocumentType") or "RE", SupplierInvoiceOrigin="",
                  DueCalculationBaseDate=header.get("DueCalculationBaseDate") or header["DocumentDate"],
                  ReverseDocument="", ReverseDocumentFiscalYear="", _CreatedBy=user.upper())
    entries = parsed.items("to_SuplrInvcItemPurOrdRef")
    if not entries:
        raise _missing("to_SuplrInvcItemPurOrdRef", "Item with purchase order reference")
    items: list[Row] = []
    for index, entry in enumerate(entries):
        path = f"to_SuplrInvcItemPurOrdRef({index + 1})/"
        row = dict(entry.data)
        row["SupplierInvoiceItem"] = item_number(row.get("SupplierInvoiceItem") or index + 1, 6)
        purchase_order = row.get("PurchaseOrder") or ""
        if not purchase_order:
            raise _missing("PurchaseOrder", "Purchase order", path)
        po_item_no = item_number(row.get("PurchaseOrderItem") or "", 5)
        po_item = _po_item(purchase_order, po_item_no)
        po = store.get(PO, entity_type(PO, "A_PurchaseOrder"), {"PurchaseOrder": purchase_order})
        if po is None or po_item is None:
            raise SapBusinessError("M8/050", f"Purchase order item {purchase_order} {po_item_no} does not exist",
                                   target=f"{path}PurchaseOrderItem", propertyref="PurchaseOrderItem")
        if po["CompanyCode"] != header["CompanyCode"]:
            raise SapBusinessError("M8/051", f"Purchase order {purchase_order} belongs to company code "
                                   f"{po['CompanyCode']}, not {header['CompanyCode']}",
                                   target=f"{path}PurchaseOrder", propertyref="PurchaseOrder")
        if po["DocumentCurrency"] != header["DocumentCurrency"]:
            raise SapBusinessError("M8/052", f"Purchase order {purchase_order} is in {po['DocumentCurrency']}, the "
                                   f"invoice in {header['DocumentCurrency']}", target=f"{path}PurchaseOrder",
                                   propertyref="PurchaseOrder")
        quantity = _dec(row.get("QuantityInPurchaseOrderUnit"))
        if quantity <= 0:
            raise SapBusinessError("M8/053", "Enter a quantity greater than zero",
                                   target=f"{path}QuantityInPurchaseOrderUnit", propertyref="QuantityInPurchaseOrderUnit")
        if row.get("SupplierInvoiceItemAmount") in (None, ""):
            raise _missing("SupplierInvoiceItemAmount", "Amount", path)
        if po_item.get("InvoiceIsGoodsReceiptBased") and received_quantities(purchase_order).get(po_item_no, ZERO) <= 0:
            raise SapBusinessError("M8/054", f"No goods receipt posted for purchase order item {purchase_order} "
                                   f"{po_item_no} (goods-receipt-based invoice verification)",
                                   target=f"{path}PurchaseOrderItem", propertyref="PurchaseOrderItem")
        unit = row.get("PurchaseOrderQuantityUnit") or po_item["PurchaseOrderQuantityUnit"]
        row.update(PurchaseOrder=purchase_order, PurchaseOrderItem=po_item_no, Plant=row.get("Plant") or po_item["Plant"],
                   DocumentCurrency=header["DocumentCurrency"], PurchaseOrderQuantityUnit=unit,
                   PurchaseOrderPriceUnit=row.get("PurchaseOrderPriceUnit") or po_item.get("OrderPriceUnit") or unit,
                   QtyInPurchaseOrderPriceUnit=row.get("QtyInPurchaseOrderPriceUnit") or str(quantity),
                   QuantityInPurchaseOrderUnit=str(quantity), IsSubsequentDebitCredit=row.get("IsSubsequentDebitCredit") or "")
        items.append(row)
    duplicate = duplicate_of(header)
    if duplicate is not None:
        raise SapBusinessError("M8/108", "Check if invoice already entered under accounting doc. no. "
                               f"{duplicate['SupplierInvoice']} {duplicate['FiscalYear']}",
                               propertyref="SupplierInvoiceIDByInvcgParty", target="SupplierInvoiceIDByInvcgParty")
    number = number or str(store.next_number("supplier_invoice", SUPPLIER_INVOICE_START))
    header.update(SupplierInvoice=number, FiscalYear=year)
    for row in items:
        row.update(SupplierInvoice=number, FiscalYear=year)
    store.insert(INVOICE, "A_SupplierInvoice", [header])
    store.insert(INVOICE, "A_SuplrInvcItemPurOrdRef", items)
    return dict(header, to_SuplrInvcItemPurOrdRef=items)


def _locked_invoice(params: Row) -> SapEntity:
    number, year = str(params.get("SupplierInvoice") or ""), str(params.get("FiscalYear") or "")
    if not number or not year:
        raise SapBusinessError("/IWBEP/CM_MGW_RT/003", "Parameters SupplierInvoice and FiscalYear are required")
    etype = entity_type(INVOICE, "A_SupplierInvoice")
    row = SapEntity.objects.select_for_update().filter(
        service=INVOICE, entity_set="A_SupplierInvoice",
        key=key_string(etype, {"SupplierInvoice": number, "FiscalYear": year}),
    ).first()
    if row is None:
        raise SapBusinessError("M8/025", f"Invoice document {number} {year} does not exist", status=404)
    return row


@transaction.atomic
def supplier_invoice_post(params: Row) -> Row:
    """`Post(SupplierInvoice, FiscalYear)`: post a parked invoice that balances."""
    row = _locked_invoice(params)
    invoice: Row = row.data
    if invoice.get("SupplierInvoiceStatus") == POSTED:
        raise SapBusinessError("M8/026", f"Invoice document {invoice['SupplierInvoice']} {invoice['FiscalYear']} "
                               "is already posted")
    items = store.rows(INVOICE, "A_SuplrInvcItemPurOrdRef", SupplierInvoice=invoice["SupplierInvoice"],
                       FiscalYear=invoice["FiscalYear"])
    balance = _dec(invoice.get("InvoiceGrossAmount")) - sum((_dec(i.get("SupplierInvoiceItemAmount")) for i in items),
                                                            ZERO)
    if abs(balance) > sales.CENT / 2:
        raise SapBusinessError("M8/534", f"Balance not zero: {sales.money(balance)} {invoice['DocumentCurrency']} "
                               "(the sandbox books no tax: the gross amount must equal the sum of the items)")
    invoice["SupplierInvoiceStatus"] = POSTED
    row.data = invoice
    row.save(update_fields=["data", "updated_at"])
    return {"Success": True}


@transaction.atomic
def supplier_invoice_release(params: Row) -> Row:
    """`Release(SupplierInvoice, FiscalYear, DiscountDaysHaveToBeShifted)`: remove the payment block."""
    row = _locked_invoice(params)
    invoice: Row = row.data
    if invoice.get("SupplierInvoiceStatus") != POSTED:
        raise SapBusinessError("M8/027", f"Invoice document {invoice['SupplierInvoice']} {invoice['FiscalYear']} "
                               "is not posted: only a posted invoice can be released")
    if not invoice.get("PaymentBlockingReason"):
        raise SapBusinessError("M8/028", f"Invoice document {invoice['SupplierInvoice']} {invoice['FiscalYear']} "
                               "is not blocked for payment")
    invoice["PaymentBlockingReason"] = ""
    if params.get("DiscountDaysHaveToBeShifted"):
        invoice["DueCalculationBaseDate"] = sales.midnight(sales.today())
    row.data = invoice
    row.save(update_fields=["data", "updated_at"])
    return {"Success": True}


FUNCTION_HANDLERS = {
    (INVOICE, "Post"): supplier_invoice_post,
    (INVOICE, "Release"): supplier_invoice_release,
}


def function_params(function: FunctionImport, query: Any) -> Row:
    """The function import's parameters from the query string (OData literals: 'text', true/false)."""
    params: Row = {}
    for prop in function.params:
        raw = query.get(prop.name)
        if raw is None:
            continue
        raw = raw.strip()
        if prop.type == "Edm.Boolean":
            if raw not in ("true", "false"):
                raise SapBusinessError("/IWBEP/CM_MGW_RT/003", f"Parameter {prop.name} expects true or false")
            params[prop.name] = raw == "true"
        else:
            if len(raw) >= 2 and raw[0] == raw[-1] == "'":
                raw = raw[1:-1].replace("''", "'")
            if prop.max_length is not None and len(raw) > prop.max_length:
                raise SapBusinessError("/IWBEP/CM_MGW_RT/003",
                                       f"Value '{raw}' too long for parameter {prop.name} (max {prop.max_length})")
            params[prop.name] = raw
    return params
