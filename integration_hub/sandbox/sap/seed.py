"""Seed the SAP sandbox from the shared catalogue: partners, customers, products, prices, credit, AR.

`seed()` is idempotent (it does nothing when partners already exist, unless `reset=True`) and
fast: everything goes in with bulk_create, only the few demo orders go through the order service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from integration_hub.sandbox import catalog
from integration_hub.sandbox.sap import procurement, sales, store
from integration_hub.sandbox.sap.models import CsrfToken, NumberRange, SapEntity
from integration_hub.sandbox.sap.odata_query import dt_internal
from integration_hub.sandbox.sap.services import END_OF_TIME

Row = dict[str, Any]

BP, PRODUCT, PRICING, CREDIT, AR = sales.BP, sales.PRODUCT, sales.PRICING, sales.CREDIT, sales.AR
TAX_TYPES = {"US": "US2", "DE": "DE0", "GB": "GB0"}
CREDIT_SEGMENT = "1000"
_LEGAL_WORDS = {"corporation", "corp", "corp.", "inc", "inc.", "incorporated", "llc", "ltd", "gmbh", "plc", "co.",
                "holdings", "group", "industries,", "technologies,", "labs,", "systems", "manufacturing", "logistics",
                "foods", "industries", "technologies", "labs"}


def _day(value: date) -> str:
    return dt_internal(datetime(value.year, value.month, value.day, tzinfo=UTC))


def _search_term(name: str) -> str:
    words = [w for w in name.split() if w.lower() not in _LEGAL_WORDS]
    return " ".join(words or name.split()[:1]).upper()[:20]


def _organization(number: str, name: str, industry: str, created: str) -> Row:
    return {
        "BusinessPartner": number, "Customer": number, "Supplier": "", "BusinessPartnerCategory": "2",
        "BusinessPartnerFullName": name, "BusinessPartnerName": name, "BusinessPartnerGrouping": "BP02",
        "OrganizationBPName1": name[:40], "OrganizationBPName2": name[40:80], "SearchTerm1": _search_term(name),
        "Industry": industry[:10].upper(), "Language": "EN", "CorrespondenceLanguage": "EN",
        "CreatedByUser": "CB9980000000", "CreationDate": created, "IsMarkedForArchiving": False,
        "BusinessPartnerIsBlocked": False, "ETag": "20240101120000",
    }


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@transaction.atomic
def seed(*, reset: bool = False) -> dict[str, int]:
    """Load the catalogue into the SAP sandbox; returns the number of rows per entity set."""
    if reset:
        SapEntity.objects.all().delete()
        NumberRange.objects.all().delete()
        CsrfToken.objects.all().delete()
    if not SapEntity.objects.filter(entity_set="A_BusinessPartner").exists():
        _seed_all()
    counts: dict[str, int] = {}
    for entity_set in SapEntity.objects.values_list("entity_set", flat=True):
        counts[entity_set] = counts.get(entity_set, 0) + 1
    return counts


def _seed_all() -> None:
    today = timezone.now().astimezone(UTC).date()
    created = _day(date(2023, 1, 16))
    start = _day(date(2024, 1, 1))
    companies = {c.key: c for c in catalog.companies()}
    partners, addresses, taxes, roles, customers, areas = [], [], [], [], [], []
    credit_partners, credit_accounts, open_items = [], [], []

    def add_company(number: str, company: catalog.Company, name: str, with_tax: bool) -> None:
        partners.append(_organization(number, name, company.industry, created))
        addresses.append({
            "BusinessPartner": number, "AddressID": f"{int(number) % 100000:05d}", "StreetName": company.street,
            "HouseNumber": company.house_number, "PostalCode": company.postal_code, "CityName": company.city,
            "Region": company.region, "Country": company.country, "Language": "EN", "FullName": name[:80],
            "ValidityStartDate": start, "ValidityEndDate": END_OF_TIME,
        })
        if with_tax and company.tax_id:
            taxes.append({"BusinessPartner": number, "BPTaxType": TAX_TYPES[company.country],
                          "BPTaxNumber": company.tax_id, "BPTaxLongNumber": ""})
        for role in ("FLCU00", "FLCU01"):
            roles.append({"BusinessPartner": number, "BusinessPartnerRole": role, "ValidFrom": start,
                          "ValidTo": END_OF_TIME})
        customers.append({
            "Customer": number, "CustomerName": name[:80], "CustomerFullName": name, "CustomerAccountGroup": "CUST",
            "CreatedByUser": "CB9980000000", "CreationDate": created, "OrderIsBlockedForCustomer": "",
            "DeliveryIsBlocked": "", "BillingIsBlockedForCustomer": "", "PostingIsBlocked": False,
            "TaxNumber1": company.tax_id[:16] if with_tax else "", "DeletionIndicator": False,
            "Industry": company.industry[:4].upper(),
        })
        area = company.sales_area
        area_list = [area]
        if area.sales_organization == "1710" and area.distribution_channel == "10":
            area_list.append(catalog.SALES_AREAS[1])  # US customers may also buy through resellers
        for sales_area in area_list:
            areas.append({
                "Customer": number, "SalesOrganization": sales_area.sales_organization,
                "DistributionChannel": sales_area.distribution_channel, "Division": sales_area.division,
                "Currency": sales_area.currency, "CustomerPaymentTerms": company.payment_terms,
                "CreditControlArea": "A000", "CustomerPricingProcedure": "01", "CustomerGroup": "01",
                "ShippingCondition": "01", "IncotermsClassification": "EXW", "IncotermsVersion": "2020",
                "IncotermsLocation1": company.city, "SupplyingPlant": sales_area.sales_organization,
                "OrderIsBlockedForCustomer": "", "DeliveryIsBlockedForCustomer": "", "BillingIsBlockedForCustomer": "",
                "DeletionIndicator": False,
            })
        credit_partners.append({"BusinessPartner": number, "CreditRiskClass": "C", "CreditCheckRule": "01",
                                "CreditScoreAndLimitCalcRule": "STANDARD", "CreditWorthinessScoreValue": "70",
                                "CrdtMgmtBusinessPartnerGroup": "", "CalculatedCreditRiskClass": "C"})
        credit_accounts.append({
            "BusinessPartner": number, "CreditSegment": CREDIT_SEGMENT, "CreditLimitAmount": _money(company.credit_limit),
            "CreditSegmentCurrency": area.currency, "CreditAccountIsBlocked": False, "CreditAccountBlockReason": "",
            "BusinessPartnerIsCritical": False, "CreditLimitValidityEndDate": END_OF_TIME,
            "CreditLimitCalculatedAmount": _money(company.credit_limit), "CreditLimitRequestedAmount": "0",
            "CreditLimitIsZero": False, "CreditLimitLastChangeDate": created,
        })

    document = 1800000001
    for company in companies.values():
        if not company.in_sap:
            continue
        add_company(company.business_partner, company, company.legal_name, with_tax=True)
        area = company.sales_area
        for index, (amount, days_past_due) in enumerate(company.open_items):
            due = today - timedelta(days=days_past_due)
            posted = due - timedelta(days=30)
            open_items.append({
                "CompanyCode": area.sales_organization, "FiscalYear": str(posted.year),
                "AccountingDocument": str(document), "AccountingDocumentItem": "001",
                "Customer": company.business_partner, "AccountingDocumentType": "DR", "FinancialAccountType": "D",
                "DebitCreditCode": "S", "PostingDate": _day(posted), "DocumentDate": _day(posted),
                "NetDueDate": _day(due), "DueCalculationBaseDate": _day(posted), "IsCleared": False,
                "ClearingAccountingDocument": "", "ClearingDate": None, "ClearingCreationDate": None,
                "ClearingDocFiscalYear": "", "ClearingIsReversed": False, "BillingDocument": "", "SalesDocument": "",
                "AmountInTransactionCurrency": _money(amount), "TransactionCurrency": area.currency,
                "AmountInCompanyCodeCurrency": _money(amount), "CompanyCodeCurrency": area.currency,
                "PaymentTerms": company.payment_terms, "DocumentReferenceID": f"INV-{document}-{index}",
            })
            document += 1
        for contact in company.contacts:
            if not contact.sap_contact_person:
                continue
            partners.append({
                "BusinessPartner": contact.sap_contact_person, "Customer": "", "BusinessPartnerCategory": "1",
                "FirstName": contact.first_name, "LastName": contact.last_name,
                "BusinessPartnerFullName": f"{contact.first_name} {contact.last_name}",
                "BusinessPartnerName": f"{contact.first_name} {contact.last_name}", "BusinessPartnerGrouping": "BP03",
                "SearchTerm1": contact.last_name.upper()[:20], "Language": "EN", "CreatedByUser": "CB9980000000",
                "CreationDate": created, "IsMarkedForArchiving": False, "BusinessPartnerIsBlocked": False,
                "ETag": "20240101120000", "_ContactFor": company.business_partner, "_Email": contact.email,
            })
            roles.append({"BusinessPartner": contact.sap_contact_person, "BusinessPartnerRole": "BUP001",
                          "ValidFrom": start, "ValidTo": END_OF_TIME})
    for number, key in catalog.duplicate_partners():
        company = companies[key]
        # a near-duplicate kept by finance: same address, punctuation-free name, no tax number
        name = company.legal_name.replace(",", "").replace(".", "")
        name = f"{name} (old)" if name == company.legal_name else name
        add_company(number, company, name, with_tax=False)

    products, descriptions, deliveries, records, validities = [], [], [], [], []
    condition = 1
    for material in catalog.materials():
        products.append({
            "Product": material.material, "ProductType": material.product_type, "BaseUnit": material.base_unit,
            "ProductGroup": material.product_group, "Division": "00", "IsMarkedForDeletion": False,
            "CrossPlantStatus": "", "GrossWeight": "1.000" if material.product_type in ("HAWA", "FERT") else "0",
            "NetWeight": "0.900" if material.product_type in ("HAWA", "FERT") else "0",
            "WeightUnit": "KG", "ItemCategoryGroup": "NORM" if material.product_type in ("HAWA", "FERT") else "LEIS",
            "IndustrySector": "M", "CreationDate": created, "CreatedByUser": "CB9980000000",
            "LastChangeDateTime": dt_internal(datetime(2024, 1, 2, tzinfo=UTC)),
            "_TaxClassification": material.tax_classification, "_LeadTimeDays": material.lead_time_days,
            "_Description": material.description,
        })
        descriptions.append({"Product": material.material, "Language": "EN", "ProductDescription": material.description})
        for area in catalog.SALES_AREAS:
            deliveries.append({
                "Product": material.material, "ProductSalesOrg": area.sales_organization,
                "ProductDistributionChnl": area.distribution_channel, "MinimumOrderQuantity": "0",
                "SupplyingPlant": area.sales_organization, "ItemCategoryGroup": products[-1]["ItemCategoryGroup"],
                "DeliveryQuantityUnit": material.base_unit, "ProductSalesStatus": "", "SalesMeasureUnit": material.base_unit,
                "IsMarkedForDeletion": False, "AccountDetnProductGroup": "01",
            })
            price = (material.price * catalog.FX_FROM_USD[area.currency]).quantize(Decimal("0.01"))
            number = f"{condition:010d}"
            condition += 1
            records.append(_record(number, "PPR0", "304", str(price), area.currency, material.base_unit, start, created))
            validities.append(_validity(number, "PPR0", area, start, Material=material.material))
    areas_by_bp = {c.business_partner: c.sales_area for c in companies.values() if c.in_sap}
    for customer, percent in catalog.customer_discounts():
        area = areas_by_bp[customer]
        number = f"{condition:010d}"
        condition += 1
        records.append(_record(number, "K007", "007", str(percent), "%", "", start, created))
        validities.append(_validity(number, "K007", area, start, Customer=customer))

    store.insert(BP, "A_BusinessPartner", partners)
    store.insert(BP, "A_BusinessPartnerAddress", addresses)
    store.insert(BP, "A_BusinessPartnerTaxNumber", taxes)
    store.insert(BP, "A_BusinessPartnerRole", roles)
    store.insert(BP, "A_Customer", customers)
    store.insert(BP, "A_CustomerSalesArea", areas)
    store.insert(PRODUCT, "A_Product", products)
    store.insert(PRODUCT, "A_ProductDescription", descriptions)
    store.insert(PRODUCT, "A_ProductSalesDelivery", deliveries)
    store.insert(PRICING, "A_SlsPrcgConditionRecord", records)
    store.insert(PRICING, "A_SlsPrcgCndnRecdValidity", validities)
    store.insert(CREDIT, "CreditMgmtBusinessPartner", credit_partners)
    store.insert(CREDIT, "CreditManagementAccount", credit_accounts)
    store.insert(AR, "A_OperationalAcctgDocItemCube", open_items)
    for name, value in (("condition_record", condition), ("business_partner", 17400001),
                        ("sales_order", sales.SALES_ORDER_START)):
        NumberRange.objects.update_or_create(name=name, defaults={"next_number": value})
    _seed_orders(companies)
    _seed_procurement(created, start)


def _record(number: str, ctype: str, table: str, rate: str, unit: str, base_unit: str, start: str, created: str) -> Row:
    percent = unit == "%"
    return {
        "ConditionRecord": number, "ConditionTable": table, "ConditionApplication": "V", "ConditionType": ctype,
        "ConditionValidityStartDate": start, "ConditionValidityEndDate": END_OF_TIME,
        "ConditionCalculationType": "A" if percent else "C", "ConditionRateValue": rate,
        "ConditionRateValueUnit": unit, "ConditionQuantity": "0" if percent else "1",
        "ConditionQuantityUnit": base_unit, "BaseUnit": base_unit, "ConditionIsDeleted": False,
        "ConditionReleaseStatus": "", "CreatedByUser": "CB9980000000", "CreationDate": created,
        "LastChangeDateTime": dt_internal(datetime(2024, 1, 2, tzinfo=UTC)), "ETag": "20240102000000",
    }


def _validity(number: str, ctype: str, area: catalog.SalesArea, start: str, **keys: str) -> Row:
    row = {
        "ConditionRecord": number, "ConditionValidityEndDate": END_OF_TIME, "ConditionValidityStartDate": start,
        "ConditionApplication": "V", "ConditionType": ctype, "ConditionReleaseStatus": "",
        "SalesOrganization": area.sales_organization, "DistributionChannel": area.distribution_channel,
        "Division": area.division, "Customer": "", "Material": "",
    }
    row.update(keys)
    return row


def _seed_orders(companies: dict[str, catalog.Company]) -> None:
    """A few orders that already exist in SAP (legacy POs), priced by the same service as new ones."""
    materials = catalog.materials()
    for index, company in enumerate([c for c in companies.values() if c.in_sap][1:6]):
        area = company.sales_area
        sales.sales_order_create({
            "SalesOrderType": "OR", "SalesOrganization": area.sales_organization,
            "DistributionChannel": area.distribution_channel, "OrganizationDivision": area.division,
            "SoldToParty": company.business_partner, "PurchaseOrderByCustomer": f"LEGACY-PO-{index + 1:04d}",
            "to_Item": [{"Material": materials[(index * 7) % len(materials)].material, "RequestedQuantity": "2"},
                        {"Material": materials[(index * 7 + 3) % len(materials)].material, "RequestedQuantity": "1"}],
        }, user="CB9980000000")


# -- procurement: suppliers, purchase orders, goods receipts, one posted supplier invoice ------------
@dataclass(frozen=True)
class SeedSupplier:
    """A supplier business partner (roles FLVN00/FLVN01) with its company-code data."""

    number: str
    name: str
    country: str
    city: str
    company_code: str
    currency: str
    payment_terms: str  # the supplier's usual terms (A_SupplierCompany.PaymentTerms)


@dataclass(frozen=True)
class SeedPoItem:
    item: str  # "10"; SAP's key is "00010"
    material: str
    quantity: Decimal  # OrderQuantity
    unit: str
    net_price: Decimal  # NetPriceAmount per `price_quantity` units
    price_quantity: Decimal = Decimal(1)  # NetPriceQuantity
    gr_based: bool = True  # InvoiceIsGoodsReceiptBased
    # Goods movements posted against the item, each its own material document on its own day:
    # a positive quantity is a 101 receipt, a negative one a 102 reversal.
    receipts: tuple[Decimal, ...] = ()


@dataclass(frozen=True)
class SeedPurchaseOrder:
    number: str
    supplier: str
    company_code: str
    currency: str
    payment_terms: str
    items: tuple[SeedPoItem, ...]


@dataclass(frozen=True)
class ApScenario:
    """One seeded AP situation: which PO item to invoice for which route, and what to send."""

    name: str
    purchase_order: str
    item: str
    supplier: str  # the PO's supplier (the invoicing party to send, unless the scenario says otherwise)
    purpose: str


PROCUREMENT_DAY = date(2026, 11, 2)  # every seeded PO's date; receipts follow on the days below
RECEIPT_DAYS = (date(2026, 11, 10), date(2026, 11, 18), date(2026, 11, 25))
PLANTS = {"1710": "1710", "1010": "1010", "2910": "2910"}  # company code -> plant

SUPPLIERS: tuple[SeedSupplier, ...] = (
    SeedSupplier("17500001", "Litware Components Inc.", "US", "Chicago", "1710", "USD", "NT30"),
    SeedSupplier("17500002", "Contoso Electronics LLC", "US", "Austin", "1710", "USD", "NT45"),
    SeedSupplier("17500003", "Fabrikam Industrietechnik GmbH", "DE", "Stuttgart", "1010", "EUR", "0001"),
    SeedSupplier("17500004", "Tailspin Supply Ltd", "GB", "Leeds", "2910", "GBP", "NT60"),
)

PURCHASE_ORDERS: tuple[SeedPurchaseOrder, ...] = (
    SeedPurchaseOrder("4500000001", "17500001", "1710", "USD", "NT30", (
        SeedPoItem("10", "MAT-SK-001", Decimal(100), "PC", Decimal("240.00"), receipts=(Decimal(100),)),
        SeedPoItem("20", "MAT-NS-001", Decimal(10), "PC", Decimal("1500.00"), receipts=(Decimal(10),)),
    )),
    SeedPurchaseOrder("4500000002", "17500001", "1710", "USD", "NT30", (
        SeedPoItem("10", "MAT-EG-001", Decimal(50), "PC", Decimal("900.00"), receipts=(Decimal(30),)),
    )),
    SeedPurchaseOrder("4500000003", "17500002", "1710", "USD", "NT45", (
        SeedPoItem("10", "MAT-RS-001", Decimal(20), "PC", Decimal("6000.00"), receipts=(Decimal(12), Decimal(8))),
        SeedPoItem("20", "MAT-SK-001", Decimal(40), "PC", Decimal("245.00"), receipts=(Decimal(40),)),
    )),
    SeedPurchaseOrder("4500000004", "17500002", "1710", "USD", "NT45", (
        SeedPoItem("10", "MAT-SK-001", Decimal(1000), "PC", Decimal("23500.00"), price_quantity=Decimal(100), receipts=(Decimal(1000),)),
    )),
    SeedPurchaseOrder("4500000005", "17500001", "1710", "USD", "NT30", (
        SeedPoItem("10", "MAT-NS-001", Decimal(5), "PC", Decimal("1500.00")),
    )),
    SeedPurchaseOrder("4500000006", "17500002", "1710", "USD", "NT60", (
        SeedPoItem("10", "MAT-EG-001", Decimal(10), "PC", Decimal("880.00"), receipts=(Decimal(10),)),
    )),
    SeedPurchaseOrder("4500000007", "17500003", "1010", "EUR", "0001", (
        SeedPoItem("10", "MAT-IS-001", Decimal(40), "H", Decimal("180.00"), gr_based=False),
    )),
    SeedPurchaseOrder("4500000008", "17500001", "1710", "USD", "NT30", (
        SeedPoItem("10", "MAT-SK-001", Decimal(10), "PC", Decimal("240.00"), receipts=(Decimal(10),)),
    )),
    SeedPurchaseOrder("4500000009", "17500004", "2910", "GBP", "NT60", (
        SeedPoItem("10", "MAT-SK-001", Decimal(200), "PC", Decimal("190.00"), receipts=(Decimal(200),)),
    )),
    SeedPurchaseOrder("4500000010", "17500002", "1710", "USD", "NT45", (
        SeedPoItem("10", "MAT-NS-001", Decimal(10), "PC", Decimal("1450.00"), receipts=(Decimal(10), Decimal(-2))),
    )),
)

# The supplier invoice already posted in SAP (PO 4500000008/10), for the duplicate routes.
SEEDED_SUPPLIER_INVOICE: dict[str, Any] = {
    "SupplierInvoice": "5105600001", "FiscalYear": "2026", "CompanyCode": "1710", "InvoicingParty": "17500001",
    "SupplierInvoiceIDByInvcgParty": "INV-00123", "DocumentDate": date(2026, 11, 20), "DocumentCurrency": "USD",
    "InvoiceGrossAmount": Decimal("2400.00"), "PaymentTerms": "NT30", "DocumentHeaderText": "SEED-0001",
    "items": [("4500000008", "10", Decimal(10), "PC", Decimal("2400.00"))],
}

# What each seeded PO item is for. Amounts are net (the sandbox books no tax: gross = sum of
# items); "GR" = goods receipt (101), "GR-based" = InvoiceIsGoodsReceiptBased.
AP_SCENARIOS: tuple[ApScenario, ...] = (
    ApScenario("exact", "4500000001", "10", "17500001",
               "Exact 3-way match: 100 PC MAT-SK-001 at 240.00 USD, GR 100. Invoice 100 PC x 240.00 = 24,000.00 "
               "USD, terms NT30 -> posts without a block."),
    ApScenario("exact_second_item", "4500000001", "20", "17500001",
               "Second item of the exact PO: 10 PC MAT-NS-001 at 1,500.00, GR 10 (a two-line invoice: 39,000.00). "
               "Also the target of a price variance: invoice 1,550.00 (+3.3 % > 2 %)."),
    ApScenario("partial_receipt", "4500000002", "10", "17500001",
               "Partial receipt: ordered 50 PC MAT-EG-001 at 900.00, GR 30. Invoice 30 -> matches; invoice 50 -> "
               "quantity variance (received 30)."),
    ApScenario("split_receipts", "4500000003", "10", "17500002",
               "Split shipment: ordered 20 PC MAT-RS-001 at 6,000.00, two GR documents 12 + 8 on different days. "
               "Invoice 20 x 6,000.00 = 120,000.00 -> matches the sum of both receipts."),
    ApScenario("split_receipts_other_item", "4500000003", "20", "17500002",
               "Same PO, item 20: 40 PC MAT-SK-001 at 245.00, GR 40 (multi-item invoice with the split item)."),
    ApScenario("per_100", "4500000004", "10", "17500002",
               "Priced per 100: NetPriceAmount 23,500.00 per NetPriceQuantity 100 (unit price 235.00), 1,000 PC "
               "MAT-SK-001, GR 1,000. Invoice 1,000 x 235.00 = 235,000.00 -> matches (no price variance)."),
    ApScenario("missing_receipt", "4500000005", "10", "17500001",
               "GR-based item with no receipt at all: 5 PC MAT-NS-001 at 1,500.00 -> missing goods receipt. Post a "
               "101 for it (A_MaterialDocumentHeader) and the invoice re-matches."),
    ApScenario("terms_conflict", "4500000006", "10", "17500002",
               "PO terms NT60 differ from the supplier's usual NT45: 10 PC MAT-EG-001 at 880.00, GR 10. Invoice with "
               "NT45 -> terms conflict (posts with a note); invoice with NT60 -> exact."),
    ApScenario("two_way", "4500000007", "10", "17500003",
               "Not GR-based (2-way match, services): 40 H MAT-IS-001 at 180.00 EUR, company code 1010, terms 0001, "
               "no receipt needed. Invoice 40 x 180.00 = 7,200.00 EUR -> matches."),
    ApScenario("duplicate", "4500000008", "10", "17500001",
               "Already invoiced: supplier invoice 5105600001/2026, reference INV-00123, dated 2026-11-20, 2,400.00 "
               "USD (10 PC x 240.00), posted. Re-sending 'inv 123' with that date and amount -> duplicate (SAP's "
               "own check only catches the reference written the same way, e.g. 'inv-00123')."),
    ApScenario("other_supplier", "4500000009", "10", "17500004",
               "A PO of another supplier (Tailspin, GBP, 2910): 200 PC MAT-SK-001 at 190.00, GR 200. An invoice for "
               "this PO from 17500001 -> vendor mismatch; 17500004 on 4500000001 -> vendor mismatch too."),
    ApScenario("reversed_receipt", "4500000010", "10", "17500002",
               "GR 10 then a 102 reversal of 2 (net received 8): 10 PC MAT-NS-001 at 1,450.00. Invoice 8 -> "
               "matches; invoice 10 -> quantity variance."),
    ApScenario("substituted_material", "4500000001", "10", "17500001",
               "An invoice line on 4500000001/10 naming MAT-SK-002 instead of MAT-SK-001 -> substituted material "
               "(flagged, never matched silently)."),
    ApScenario("multi_po", "4500000002", "10", "17500001",
               "One invoice over two POs of the same supplier: 4500000001/10 (100 x 240.00) and 4500000002/10 "
               "(30 x 900.00) = 51,000.00 USD -> matches both."),
)


def _seed_procurement(created: str, start: str) -> None:
    """Suppliers, the POs of `PURCHASE_ORDERS` with their receipts, and `SEEDED_SUPPLIER_INVOICE`,
    all through the sandbox's own procurement services (so the seed passes SAP's checks too)."""
    partners, addresses, roles, suppliers, companies = [], [], [], [], []
    for supplier in SUPPLIERS:
        row = _organization(supplier.number, supplier.name, "Manufacturing", created)
        row.update(Customer="", Supplier=supplier.number, BusinessPartnerGrouping="BP04")
        partners.append(row)
        addresses.append({
            "BusinessPartner": supplier.number, "AddressID": f"{int(supplier.number) % 100000:05d}",
            "StreetName": "Supply Road", "HouseNumber": "1", "PostalCode": "", "CityName": supplier.city,
            "Region": "", "Country": supplier.country, "Language": "EN", "FullName": supplier.name[:80],
            "ValidityStartDate": start, "ValidityEndDate": END_OF_TIME,
        })
        for role in ("FLVN00", "FLVN01"):
            roles.append({"BusinessPartner": supplier.number, "BusinessPartnerRole": role, "ValidFrom": start,
                          "ValidTo": END_OF_TIME})
        suppliers.append({
            "Supplier": supplier.number, "SupplierName": supplier.name[:80], "SupplierFullName": supplier.name,
            "SupplierAccountGroup": "SUPL", "Customer": "", "CreatedByUser": "CB9980000000", "CreationDate": created,
            "PostingIsBlocked": False, "PaymentIsBlockedForSupplier": False, "DeletionIndicator": False,
            "VATRegistration": "",
        })
        companies.append({
            "Supplier": supplier.number, "CompanyCode": supplier.company_code, "PaymentTerms": supplier.payment_terms,
            "PaymentBlockingReason": "", "PaymentMethodsList": "T", "ReconciliationAccount": "21100000",
            "IsToBeCheckedForDuplicates": True, "SupplierIsBlockedForPosting": False, "DeletionIndicator": False,
        })
    store.insert(BP, "A_BusinessPartner", partners)
    store.insert(BP, "A_BusinessPartnerAddress", addresses)
    store.insert(BP, "A_BusinessPartnerRole", roles)
    store.insert(BP, "A_Supplier", suppliers)
    store.insert(BP, "A_SupplierCompany", companies)

    material_document = 5000000001
    for po in PURCHASE_ORDERS:
        procurement.purchase_order_create({
            "CompanyCode": po.company_code, "Supplier": po.supplier, "PaymentTerms": po.payment_terms,
            "DocumentCurrency": po.currency, "PurchaseOrderDate": _day(PROCUREMENT_DAY),
            "to_PurchaseOrderItem": [{
                "PurchaseOrderItem": item.item, "Material": item.material, "OrderQuantity": str(item.quantity),
                "PurchaseOrderQuantityUnit": item.unit, "NetPriceAmount": str(item.net_price),
                "NetPriceQuantity": str(item.price_quantity), "InvoiceIsGoodsReceiptBased": item.gr_based,
                "GoodsReceiptIsExpected": item.gr_based, "Plant": PLANTS[po.company_code],
            } for item in po.items],
        }, user="CB9980000000", number=po.number)
        for item in po.items:
            for day, quantity in zip(RECEIPT_DAYS, item.receipts, strict=False):
                procurement.material_document_create({
                    "GoodsMovementCode": "01", "PostingDate": _day(day), "DocumentDate": _day(day),
                    "ReferenceDocument": f"DN-{po.number[-4:]}-{item.item}-{day:%d}",
                    "to_MaterialDocumentItem": [{
                        "GoodsMovementType": "101" if quantity > 0 else "102", "PurchaseOrder": po.number,
                        "PurchaseOrderItem": item.item, "QuantityInEntryUnit": str(abs(quantity)),
                        "EntryUnit": item.unit,
                    }],
                }, user="CB9980000000", number=str(material_document))
                material_document += 1
    invoice = SEEDED_SUPPLIER_INVOICE
    created_invoice = procurement.supplier_invoice_create({
        "CompanyCode": invoice["CompanyCode"], "InvoicingParty": invoice["InvoicingParty"],
        "SupplierInvoiceIDByInvcgParty": invoice["SupplierInvoiceIDByInvcgParty"],
        "DocumentDate": _day(invoice["DocumentDate"]), "PostingDate": _day(invoice["DocumentDate"]),
        "DocumentCurrency": invoice["DocumentCurrency"], "InvoiceGrossAmount": str(invoice["InvoiceGrossAmount"]),
        "PaymentTerms": invoice["PaymentTerms"], "DocumentHeaderText": invoice["DocumentHeaderText"],
        "to_SuplrInvcItemPurOrdRef": [{
            "PurchaseOrder": po, "PurchaseOrderItem": item, "QuantityInPurchaseOrderUnit": str(quantity),
            "PurchaseOrderQuantityUnit": unit, "SupplierInvoiceItemAmount": str(amount),
        } for po, item, quantity, unit, amount in invoice["items"]],
    }, user="CB9980000000", number=invoice["SupplierInvoice"])
    procurement.supplier_invoice_post({"SupplierInvoice": created_invoice["SupplierInvoice"],
                                       "FiscalYear": created_invoice["FiscalYear"]})
    for name, value in (("purchase_order", procurement.PURCHASE_ORDER_START),
                        ("material_document", procurement.MATERIAL_DOCUMENT_START),
                        ("supplier_invoice", procurement.SUPPLIER_INVOICE_START)):
        NumberRange.objects.update_or_create(name=name, defaults={"next_number": value})
