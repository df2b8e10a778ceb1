"""Seed the SAP sandbox from the shared catalogue: partners, customers, products, prices, credit, AR.

`seed()` is idempotent (it does nothing when partners already exist, unless `reset=True`) and
fast: everything goes in with bulk_create, only the few demo orders go through the order service.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from integration_hub.sandbox import catalog
from integration_hub.sandbox.sap import sales, store
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
