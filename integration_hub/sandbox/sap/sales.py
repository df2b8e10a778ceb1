"""Sales orders in the SAP sandbox: validation, pricing, credit check, deep insert, simulation.

Pricing follows a cut-down S/4HANA procedure: PPR0 price from condition records (customer-specific
before general) × quantity, K007 customer discount (condition record or manual header element),
DCM2 manual discount from the payload, then output tax on the net (statistical for the total).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from integration_hub.sandbox.catalog import FX_FROM_USD, PAYMENT_TERMS, SALES_AREAS
from integration_hub.sandbox.sap import store
from integration_hub.sandbox.sap.entities import SALES_ORDER_SRV, Service, entity_type
from integration_hub.sandbox.sap.odata_query import dt_internal, parse_datetime
from integration_hub.sandbox.sap.payload import Parsed, SapBusinessError, parse

Row = dict[str, Any]

SO = "API_SALES_ORDER_SRV"
BP = "API_BUSINESS_PARTNER"
PRODUCT = "API_PRODUCT_SRV"
PRICING = "API_SLSPRICINGCONDITIONRECORD_SRV"
CREDIT = "API_CRDTMBUSINESSPARTNER"
AR = "API_OPLACCTGDOCITEMCUBE_SRV"

SALES_ORDER_START = 5000000
CENT = Decimal("0.01")

# External (English logon) partner function codes and their internal (German) codes.
PARTNER_FUNCTIONS = {"SP": "AG", "SH": "WE", "BP": "RE", "PY": "RG", "CP": "AP", "ER": "VE"}
_INTERNAL_TO_EXTERNAL = {internal: external for external, internal in PARTNER_FUNCTIONS.items()}
TAX_BY_COUNTRY = {"US": ("JR1", Decimal("4"), "O1"), "DE": ("TTX1", Decimal("19"), "A1"), "GB": ("TTX1", Decimal("20"), "A1")}
_MANDATORY = {
    "SalesOrderType": "Sales document type",
    "SalesOrganization": "Sales organization",
    "DistributionChannel": "Distribution channel",
    "OrganizationDivision": "Division",
    "SoldToParty": "Sold-to party",
}


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def convert(amount: Decimal, source: str, target: str) -> Decimal:
    if source == target or source not in FX_FROM_USD or target not in FX_FROM_USD:
        return amount
    return amount / FX_FROM_USD[source] * FX_FROM_USD[target]


def today() -> date:
    return timezone.now().astimezone(UTC).date()


def midnight(day: date) -> str:
    return dt_internal(datetime(day.year, day.month, day.day, tzinfo=UTC))


def error_missing(name: str, label: str, path: str = "") -> SapBusinessError:
    return SapBusinessError("V1/384", f"Enter a value for {label} ({name})", target=f"{path}{name}", propertyref=name)


@dataclass
class Draft:
    """A validated, priced order, not yet saved (simulation stops here)."""

    header: Row
    items: list[Row]
    item_elements: dict[str, list[Row]]
    partners: list[Row]
    header_elements: list[Row]
    schedule: dict[str, Row] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# -- master data lookups ---------------------------------------------------------------------------
def customer_sales_area(customer: str, org: str, channel: str, division: str) -> Row | None:
    found = store.rows(BP, "A_CustomerSalesArea", Customer=customer, SalesOrganization=org,
                       DistributionChannel=channel, Division=division)
    return found[0] if found else None


def valid_payment_terms() -> set[str]:
    return set(PAYMENT_TERMS)


def _valid_on(validity: Row, day: date) -> bool:
    start = validity.get("ConditionValidityStartDate")
    end = validity.get("ConditionValidityEndDate")
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if start and parse_datetime(start) > moment:
        return False
    return not (end and parse_datetime(end) < moment)


def condition_records(condition_type: str, org: str, channel: str, day: date, **keys: Any) -> list[tuple[Row, Row]]:
    """(validity, record) pairs of a condition type valid on `day`, matching `keys`."""
    validities = [
        validity
        for validity in store.rows(PRICING, "A_SlsPrcgCndnRecdValidity", ConditionType=condition_type,
                                   SalesOrganization=org, DistributionChannel=channel, **keys)
        if _valid_on(validity, day)
    ]
    if not validities:
        return []
    records = {
        record["ConditionRecord"]: record
        for record in store.rows(PRICING, "A_SlsPrcgConditionRecord",
                                 ConditionRecord=sorted({v["ConditionRecord"] for v in validities}))
        if not record.get("ConditionIsDeleted")
    }
    return [(v, records[v["ConditionRecord"]]) for v in validities if v["ConditionRecord"] in records]


def prices(materials: list[str], org: str, channel: str, customer: str, day: date) -> dict[str, Row]:
    """The PPR0 record per material; a customer-specific record beats the general one."""
    chosen: dict[str, tuple[int, Row]] = {}
    for validity, record in condition_records("PPR0", org, channel, day, Material=materials):
        rank = 2 if validity.get("Customer") == customer and customer else 1 if not validity.get("Customer") else 0
        if rank and rank >= chosen.get(validity["Material"], (0, {}))[0]:
            chosen[validity["Material"]] = (rank, record)
    return {material: record for material, (_, record) in chosen.items()}


def customer_discount(customer: str, org: str, channel: str, day: date) -> Row | None:
    found = condition_records("K007", org, channel, day, Customer=customer)
    return found[0][1] if found else None


def credit_exposure(customer: str, *, exclude_order: str = "") -> tuple[Row | None, Decimal]:
    """The customer's credit account and its exposure (open AR + open orders) in segment currency."""
    accounts = store.rows(CREDIT, "CreditManagementAccount", BusinessPartner=customer)
    if not accounts:
        return None, Decimal(0)
    account = accounts[0]
    currency: str = account.get("CreditSegmentCurrency") or "USD"
    exposure = Decimal(0)
    for item in store.rows(AR, "A_OperationalAcctgDocItemCube", Customer=customer, ClearingAccountingDocument=""):
        exposure += convert(Decimal(item["AmountInTransactionCurrency"]), item.get("TransactionCurrency", currency),
                            currency)
    for order in store.rows(SO, "A_SalesOrder", SoldToParty=customer):
        if order.get("OverallSDProcessStatus") == "C" or order["SalesOrder"] == exclude_order:
            continue
        exposure += convert(Decimal(order.get("TotalNetAmount") or 0), order.get("TransactionCurrency", currency),
                            currency)
    return account, exposure


def credit_status(customer: str, amount: Decimal, currency: str, *, exclude_order: str = "") -> str:
    """'A' when limit covers open AR + open orders + this order, 'B' (blocked) otherwise.

    `exclude_order` leaves an existing order out of the exposure when it is checked again.
    """
    account, exposure = credit_exposure(customer, exclude_order=exclude_order)
    if account is None:
        return "A"
    if account.get("CreditAccountIsBlocked"):
        return "B"
    segment_currency = account.get("CreditSegmentCurrency") or currency
    total = exposure + convert(amount, currency, segment_currency)
    return "B" if total > Decimal(account.get("CreditLimitAmount") or 0) else "A"


# -- drafting --------------------------------------------------------------------------------------
def _element(step: str, condition_type: str, **values: Any) -> Row:
    row = {
        "PricingProcedureStep": step,
        "PricingProcedureCounter": "001",
        "ConditionType": condition_type,
        "ConditionIsForStatistics": False,
        "ConditionIsManuallyChanged": False,
        "ConditionInactiveReason": "",
        "ConditionOrigin": "A",
    }
    row.update(values)
    return row


def _manual(elements: list[Parsed], condition_type: str) -> Decimal | None:
    for element in elements:
        if element.data.get("ConditionType") == condition_type and element.data.get("ConditionRateValue") is not None:
            return Decimal(element.data["ConditionRateValue"])
    return None


def draft_order(service: Service, payload: Any, *, simulate: bool = False) -> tuple[Draft, Parsed]:
    """Validate and price an order payload; raises SapBusinessError with SAP's message on any error."""
    header_type = service.types[0]
    parsed = parse(service, header_type, payload)
    header = dict(parsed.data)
    for name, label in _MANDATORY.items():
        if not header.get(name):
            raise error_missing(name, label)
    sold_to = header["SoldToParty"]
    org, channel, division = header["SalesOrganization"], header["DistributionChannel"], header["OrganizationDivision"]
    area = customer_sales_area(sold_to, org, channel, division)
    if area is None:
        raise SapBusinessError(
            "V1/300" if store.exists(BP, "A_Customer", Customer=sold_to) else "V1/302",
            f"Sold-to party {sold_to} not maintained for sales area {org} {channel} {division}",
            target="SoldToParty", propertyref="SoldToParty",
        )
    customer = store.rows(BP, "A_Customer", Customer=sold_to)
    if customer and customer[0].get("OrderIsBlockedForCustomer"):
        raise SapBusinessError("V1/462", f"Sold-to party {sold_to} is blocked for sales orders", propertyref="SoldToParty")
    terms = header.get("CustomerPaymentTerms") or area.get("CustomerPaymentTerms", "")
    if terms and terms not in valid_payment_terms():
        raise SapBusinessError("V1/055", f"Terms of payment {terms} are not defined",
                               target="CustomerPaymentTerms", propertyref="CustomerPaymentTerms")
    currency = header.get("TransactionCurrency") or area.get("Currency") or "USD"
    now = timezone.now()
    day = parse_datetime(header["PricingDate"]).date() if header.get("PricingDate") else now.astimezone(UTC).date()
    header.update(
        CustomerPaymentTerms=terms,
        TransactionCurrency=currency,
        SalesOrderDate=header.get("SalesOrderDate") or midnight(day),
        PricingDate=header.get("PricingDate") or midnight(day),
    )

    # items
    item_payloads = parsed.items("to_Item")
    materials = []
    for index, item in enumerate(item_payloads):
        material = item.data.get("Material")
        if not material:
            raise error_missing("Material", "Material", f"to_Item({index + 1})/")
        materials.append(material)
    products = {p["Product"]: p for p in store.rows(PRODUCT, "A_Product", Product=materials)} if materials else {}
    deliveries = {
        d["Product"]: d
        for d in store.rows(PRODUCT, "A_ProductSalesDelivery", Product=materials, ProductSalesOrg=org,
                            ProductDistributionChnl=channel)
    } if materials else {}
    price_records = prices(materials, org, channel, sold_to, day) if materials else {}
    header_elements_in = parsed.items("to_PricingElement")
    header_k007 = _manual(header_elements_in, "K007")
    header_dcm2 = _manual(header_elements_in, "DCM2")
    if header_k007 is None:
        record = customer_discount(sold_to, org, channel, day)
        k007_rate, k007_record = (Decimal(record["ConditionRateValue"]), record["ConditionRecord"]) if record else (None, "")
    else:
        k007_rate, k007_record = header_k007, ""
    country = next((a.country for a in SALES_AREAS if a.sales_organization == org), "US")
    tax_type, tax_rate, tax_code = TAX_BY_COUNTRY.get(country, TAX_BY_COUNTRY["US"])

    items: list[Row] = []
    item_elements: dict[str, list[Row]] = {}
    schedule: dict[str, Row] = {}
    seen: set[str] = set()
    warnings: list[str] = []
    for index, item in enumerate(item_payloads):
        path = f"to_Item({index + 1})/"
        data = dict(item.data)
        number = data.get("SalesOrderItem") or str((index + 1) * 10)
        if number in seen:
            raise SapBusinessError("V1/097", f"Item {number} exists more than once", target=f"{path}SalesOrderItem",
                                   propertyref="SalesOrderItem")
        seen.add(number)
        material = data["Material"]
        product = products.get(material)
        if product is None:
            raise SapBusinessError("M3/305", f"Material {material} does not exist", target=f"{path}Material",
                                   propertyref="Material")
        delivery = deliveries.get(material)
        if delivery is None:
            raise SapBusinessError(
                "V1/392",
                f"Material {material} is not defined for sales org.{org}, distr.chan.{channel}, language EN",
                target=f"{path}Material", propertyref="Material",
            )
        if delivery.get("ProductSalesStatus") in ("02", "03"):
            raise SapBusinessError("V1/028", f"Material {material} has status: Discontd w/o Replace",
                                   target=f"{path}Material", propertyref="Material")
        if data.get("RequestedQuantity") is None:
            raise error_missing("RequestedQuantity", "Order quantity", path)
        quantity = Decimal(data["RequestedQuantity"])
        if quantity <= 0:
            raise SapBusinessError("V1/403", f"Enter a quantity greater than zero for item {number}",
                                   target=f"{path}RequestedQuantity", propertyref="RequestedQuantity")
        unit = data.get("RequestedQuantityUnit") or product.get("BaseUnit", "EA")
        item_terms = data.get("CustomerPaymentTerms", "")
        if item_terms and item_terms not in valid_payment_terms():
            raise SapBusinessError("V1/055", f"Terms of payment {item_terms} are not defined",
                                   target=f"{path}CustomerPaymentTerms", propertyref="CustomerPaymentTerms")
        manual_elements = item.items("to_PricingElement")
        elements: list[Row] = []
        manual_price = _manual(manual_elements, "PPR0")
        record = price_records.get(material)
        if manual_price is not None:
            rate, per, record_no, origin = manual_price, Decimal(1), "", True
        elif record is not None:
            rate = Decimal(record["ConditionRateValue"])
            per = Decimal(record.get("ConditionQuantity") or 1) or Decimal(1)
            record_no, origin = record["ConditionRecord"], False
        else:
            rate, per, record_no, origin = Decimal(0), Decimal(1), "", False
            warnings.append(f"No price could be determined for material {material} (item {number})")
        rate = convert(rate, record.get("ConditionRateValueUnit", currency), currency) if record and manual_price is None else rate
        gross = (rate * quantity / per).quantize(CENT, rounding=ROUND_HALF_UP)
        common = {"SalesOrderItem": number, "TransactionCurrency": currency}
        elements.append(_element(
            "020", "PPR0", ConditionCalculationType="C", ConditionClass="B", ConditionBaseValue=str(quantity),
            ConditionRateValue=str(rate), ConditionCurrency=currency, ConditionQuantity=str(per),
            ConditionQuantityUnit=unit, ConditionAmount=money(gross), ConditionRecord=record_no,
            ConditionOrigin="C" if origin else "A", ConditionIsManuallyChanged=origin, **common,
        ))
        net = gross
        if k007_rate is not None:
            amount = (gross * k007_rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            net += amount
            elements.append(_element(
                "110", "K007", ConditionCalculationType="A", ConditionClass="A", ConditionBaseValue=money(gross),
                ConditionRateValue=str(k007_rate), ConditionAmount=money(amount), ConditionRecord=k007_record,
                ConditionOrigin="C" if header_k007 is not None else "A",
                ConditionIsManuallyChanged=header_k007 is not None, **common,
            ))
        dcm2 = _manual(manual_elements, "DCM2")
        dcm2 = dcm2 if dcm2 is not None else header_dcm2
        if dcm2 is not None:
            amount = (gross * dcm2 / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            net += amount
            elements.append(_element(
                "133", "DCM2", ConditionCalculationType="A", ConditionClass="A", ConditionBaseValue=money(gross),
                ConditionRateValue=str(dcm2), ConditionAmount=money(amount), ConditionOrigin="C",
                ConditionIsManuallyChanged=True, **common,
            ))
        taxable = (data.get("ProductTaxClassification1") or product.get("_TaxClassification", "1")) == "1"
        rate_tax = tax_rate if taxable else Decimal(0)
        tax = (net * rate_tax / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        elements.append(_element(
            "851", tax_type, ConditionCalculationType="A", ConditionClass="D", ConditionBaseValue=money(net),
            ConditionRateValue=str(rate_tax), ConditionAmount=money(tax), TaxCode=tax_code if taxable else "O0",
            **common,
        ))
        data.update(
            SalesOrderItem=number,
            Material=material,
            RequestedQuantity=str(quantity),
            RequestedQuantityUnit=unit,
            RequestedQuantitySAPUnit=unit,
            SalesOrderItemCategory=data.get("SalesOrderItemCategory") or ("TAD" if product.get("ProductType") in ("DIEN", "LEIS") else "TAN"),
            SalesOrderItemText=data.get("SalesOrderItemText") or product.get("_Description", ""),
            MaterialGroup=product.get("ProductGroup", ""),
            NetAmount=money(net),
            TaxAmount=money(tax),
            Subtotal1Amount=money(gross),
            TransactionCurrency=currency,
            PricingDate=data.get("PricingDate") or header["PricingDate"],
            CustomerPaymentTerms=item_terms or terms,
            ProductTaxClassification1="1" if taxable else "0",
            ConfdDelivQtyInOrderQtyUnit=str(quantity),
            SDProcessStatus="A",
            DeliveryStatus="A",
            OrderRelatedBillingStatus="A",
        )
        items.append(data)
        item_elements[number] = elements
        if "to_ScheduleLine" in item.present or not simulate:
            requested = header.get("RequestedDeliveryDate") or midnight(day)
            lead = int(product.get("_LeadTimeDays", 0))
            confirmed = max(parse_datetime(requested), datetime.combine(day + timedelta(days=lead), datetime.min.time(), UTC))
            schedule[number] = {
                "SalesOrderItem": number, "ScheduleLine": "1", "RequestedDeliveryDate": requested,
                "ConfirmedDeliveryDate": dt_internal(confirmed), "ScheduleLineOrderQuantity": str(quantity),
                "ConfdOrderQtyByMatlAvailCheck": str(quantity), "OpenConfdDelivQtyInOrdQtyUnit": str(quantity),
                "OrderQuantityUnit": unit,
            }

    partners = _partners(parsed, sold_to)
    header_elements = header_element_totals(item_elements, currency)
    total = sum((Decimal(item["NetAmount"]) for item in items), Decimal(0))
    header.update(TotalNetAmount=money(total))
    if warnings or not items:
        warnings.append("Document is incomplete")
    return Draft(header, items, item_elements, partners, header_elements, schedule, warnings), parsed


def _partners(parsed: Parsed, sold_to: str) -> list[Row]:
    partners: dict[str, Row] = {}
    for index, partner in enumerate(parsed.items("to_Partner")):
        data = dict(partner.data)
        function = (data.get("PartnerFunction") or "").upper()
        external = _INTERNAL_TO_EXTERNAL.get(function, function)
        if external not in PARTNER_FUNCTIONS:
            raise SapBusinessError("VP/103", f"Partner function {function or '(blank)'} is not allowed",
                                   target=f"to_Partner({index + 1})/PartnerFunction", propertyref="PartnerFunction")
        number = data.get("Customer") or data.get("ContactPerson") or data.get("Personnel") or ""
        if not number:
            raise error_missing("Customer", "Partner", f"to_Partner({index + 1})/")
        if (data.get("Customer") or data.get("ContactPerson")) and not store.exists(BP, "A_BusinessPartner", BusinessPartner=number):
            raise SapBusinessError("VP/201", f"Partner {number} does not exist",
                                   target=f"to_Partner({index + 1})", propertyref="Customer")
        data.update(PartnerFunction=external, PartnerFunctionInternalCode=PARTNER_FUNCTIONS[external],
                    ReferenceBusinessPartner=number)
        partners[external] = data
    for external in ("SP", "SH", "BP", "PY"):
        partners.setdefault(external, {"PartnerFunction": external, "Customer": sold_to,
                                       "PartnerFunctionInternalCode": PARTNER_FUNCTIONS[external],
                                       "ReferenceBusinessPartner": sold_to})
    partners["SP"]["Customer"] = sold_to
    return list(partners.values())


def header_element_totals(item_elements: dict[str, list[Row]], currency: str) -> list[Row]:
    totals: dict[tuple[str, str], Row] = {}
    for elements in item_elements.values():
        for element in elements:
            key = (element["PricingProcedureStep"], element["ConditionType"])
            if key not in totals:
                totals[key] = {k: v for k, v in element.items() if k != "SalesOrderItem"}
                totals[key]["ConditionAmount"] = "0"
                totals[key]["ConditionBaseValue"] = "0"
            row = totals[key]
            row["ConditionAmount"] = money(Decimal(row["ConditionAmount"]) + Decimal(element["ConditionAmount"]))
            row["ConditionBaseValue"] = str(Decimal(row["ConditionBaseValue"]) + Decimal(element.get("ConditionBaseValue") or 0))
            row["TransactionCurrency"] = currency
    return sorted(totals.values(), key=lambda row: row["PricingProcedureStep"])


# -- create / simulate / update --------------------------------------------------------------------
@transaction.atomic
def sales_order_create(payload: Any, *, user: str) -> tuple[Row, list[str]]:
    """Deep insert A_SalesOrder: all or nothing. Returns the header with inline children."""
    draft, _ = draft_order(SALES_ORDER_SRV, payload)
    header = draft.header
    number = header.get("SalesOrder") or ""
    etype = entity_type(SO, "A_SalesOrder")
    if number:
        if store.get(SO, etype, {"SalesOrder": number}) is not None:
            raise SapBusinessError("V1/005", f"Sales document {number} already exists", propertyref="SalesOrder")
    else:
        number = str(store.next_number("sales_order", SALES_ORDER_START))
    now = timezone.now()
    status = credit_status(header["SoldToParty"], Decimal(header["TotalNetAmount"]), header["TransactionCurrency"])
    header.update(
        SalesOrder=number,
        CreationDate=midnight(now.astimezone(UTC).date()),
        CreatedByUser=user.upper(),
        LastChangeDate=None,
        LastChangeDateTime=dt_internal(now),
        OverallSDProcessStatus="A",
        OverallTotalDeliveryStatus="A",
        OverallDeliveryStatus="A",
        OverallOrdReltdBillgStatus="A",
        OverallSDDocumentRejectionSts="A",
        TotalCreditCheckStatus=status,
        TotalBlockStatus="B" if status == "B" else "",
        SalesDocApprovalStatus="",
    )
    header.setdefault("DeliveryBlockReason", "")
    header.setdefault("HeaderBillingBlockReason", "")
    for row in draft.items + draft.partners + draft.header_elements:
        row["SalesOrder"] = number
    item_elements = []
    for item in draft.items:
        item["PurchaseOrderByCustomer"] = item.get("PurchaseOrderByCustomer") or header.get("PurchaseOrderByCustomer", "")
        for element in draft.item_elements[item["SalesOrderItem"]]:
            element["SalesOrder"] = number
            item_elements.append(element)
    store.insert(SO, "A_SalesOrder", [header])
    store.insert(SO, "A_SalesOrderItem", draft.items)
    store.insert(SO, "A_SalesOrderItemPrElement", item_elements)
    store.insert(SO, "A_SalesOrderHeaderPartner", draft.partners)
    store.insert(SO, "A_SalesOrderHeaderPrElement", draft.header_elements)
    result = dict(header)
    result["to_Item"] = [dict(item, to_PricingElement=draft.item_elements[item["SalesOrderItem"]]) for item in draft.items]
    result["to_Partner"] = draft.partners
    result["to_PricingElement"] = draft.header_elements
    return result, draft.warnings


def sales_order_simulate(service: Service, payload: Any) -> tuple[Row, list[str]]:
    """Price and credit-check an order without saving anything (API_SALES_ORDER_SIMULATION_SRV)."""
    draft, parsed = draft_order(service, payload, simulate=True)
    header = dict(draft.header, SalesOrder="")
    total = Decimal(header.pop("TotalNetAmount"))
    currency = header["TransactionCurrency"]
    if "to_Pricing" in parsed.present:
        header["to_Pricing"] = {"SalesOrder": "", "TotalNetAmount": money(total), "TransactionCurrency": currency}
    if "to_Credit" in parsed.present:
        header["to_Credit"] = {"SalesOrder": "", "TotalCreditCheckStatus": credit_status(header["SoldToParty"], total, currency)}
    items = []
    for item in draft.items:
        row = dict(item, SalesOrder="")
        row["to_PricingElement"] = [dict(e, SalesOrder="") for e in draft.item_elements[item["SalesOrderItem"]]]
        line = draft.schedule.get(item["SalesOrderItem"])
        row["to_ScheduleLine"] = [dict(line, SalesOrder="")] if line else []
        items.append(row)
    header["to_Item"] = items
    header["to_Partner"] = [dict(p, SalesOrder="") for p in draft.partners]
    header["to_PricingElement"] = [dict(e, SalesOrder="") for e in draft.header_elements]
    warnings = ["The document cannot be saved.", *draft.warnings, "In simulation mode, the document must not be saved."]
    return header, warnings


def validate_order_update(current: Row, changes: Row) -> None:
    terms = changes.get("CustomerPaymentTerms")
    if terms and terms not in valid_payment_terms():
        raise SapBusinessError("V1/055", f"Terms of payment {terms} are not defined",
                               target="CustomerPaymentTerms", propertyref="CustomerPaymentTerms")
    if current.get("OverallSDProcessStatus") == "C":
        raise SapBusinessError("V1/046", f"Sales document {current['SalesOrder']} is completed and cannot be changed")
