"""Writes of the SAP sandbox other than sales orders: business partners, condition records,
generic creates, updates (with SAP's ETag rules) and deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from integration_hub.sandbox.catalog import SALES_AREAS
from integration_hub.sandbox.sap import sales, store
from integration_hub.sandbox.sap.entities import (
    BUSINESS_PARTNER,
    PRICING_SRV,
    EntityType,
    Service,
    entity_type,
)
from integration_hub.sandbox.sap.models import SapEntity
from integration_hub.sandbox.sap.odata_query import dt_internal, etag_for, key_string, parse_datetime
from integration_hub.sandbox.sap.payload import Parsed, SapBusinessError, parse

Row = dict[str, Any]

BP_START = 17400001
CONDITION_RECORD_START = 1
END_OF_TIME = dt_internal(datetime(9999, 12, 31, tzinfo=UTC))
SALES_ORDER_CHILD_SETS = {"A_SalesOrderItem", "A_SalesOrderHeaderPartner", "A_SalesOrderHeaderPrElement",
                          "A_SalesOrderItemPrElement"}


def _now() -> str:
    return dt_internal(timezone.now())


def _bp_etag() -> str:
    return timezone.now().strftime("%Y%m%d%H%M%S")


# -- business partners -----------------------------------------------------------------------------
@transaction.atomic
def business_partner_create(payload: Any, *, user: str) -> Row:
    """Deep create A_BusinessPartner with addresses, roles, tax numbers and customer sales areas."""
    parsed = parse(BUSINESS_PARTNER, entity_type(sales.BP, "A_BusinessPartner"), payload)
    data = dict(parsed.data)
    category = data.get("BusinessPartnerCategory") or ""
    if category not in ("1", "2"):
        raise SapBusinessError("R11/401", "Enter a valid business partner category (1 person, 2 organization)",
                               propertyref="BusinessPartnerCategory")
    if category == "2":
        if not data.get("OrganizationBPName1"):
            raise sales.error_missing("OrganizationBPName1", "Name 1")
        name = " ".join(data.get(f"OrganizationBPName{i}", "") for i in range(1, 5)).strip()
    else:
        if not data.get("LastName"):
            raise sales.error_missing("LastName", "Last name")
        name = f"{data.get('FirstName', '')} {data['LastName']}".strip()
    number = data.get("BusinessPartner") or ""
    if number:
        if store.exists(sales.BP, "A_BusinessPartner", BusinessPartner=number):
            raise SapBusinessError("R11/124", f"Business partner {number} already exists", propertyref="BusinessPartner")
    else:
        number = str(store.next_number("business_partner", BP_START))
    today = sales.midnight(sales.today())
    data.update(
        BusinessPartner=number,
        BusinessPartnerFullName=name[:81],
        BusinessPartnerName=name[:81],
        SearchTerm1=(data.get("SearchTerm1") or name.split(" ")[0]).upper()[:20],
        SearchTerm2=(data.get("SearchTerm2") or "").upper(),
        CreatedByUser=user.upper(),
        CreationDate=today,
        Language=data.get("Language") or "EN",
        ETag=_bp_etag(),
    )
    addresses = []
    for index, address in enumerate(parsed.items("to_BusinessPartnerAddress")):
        row = dict(address.data)
        if not row.get("Country"):
            raise sales.error_missing("Country", "Country", f"to_BusinessPartnerAddress({index + 1})/")
        row.update(BusinessPartner=number, AddressID=row.get("AddressID") or str(index + 1),
                   ValidityStartDate=row.get("ValidityStartDate") or _now(),
                   ValidityEndDate=row.get("ValidityEndDate") or END_OF_TIME, FullName=name[:80])
        addresses.append(row)
    roles = []
    for index, role in enumerate(parsed.items("to_BusinessPartnerRole")):
        row = dict(role.data)
        if not row.get("BusinessPartnerRole"):
            raise sales.error_missing("BusinessPartnerRole", "BP role", f"to_BusinessPartnerRole({index + 1})/")
        row.update(BusinessPartner=number, ValidFrom=row.get("ValidFrom") or _now(),
                   ValidTo=row.get("ValidTo") or END_OF_TIME)
        roles.append(row)
    taxes = []
    for index, tax in enumerate(parsed.items("to_BusinessPartnerTax")):
        row = dict(tax.data)
        if not row.get("BPTaxType"):
            raise sales.error_missing("BPTaxType", "Tax number category", f"to_BusinessPartnerTax({index + 1})/")
        row["BusinessPartner"] = number
        taxes.append(row)
    customer_payload = parsed.single.get("to_Customer")
    wants_customer = customer_payload is not None or any(r["BusinessPartnerRole"].startswith("FLCU") for r in roles)
    customer_rows: list[Row] = []
    area_rows: list[Row] = []
    if wants_customer:
        customer = dict(customer_payload.data) if customer_payload else {}
        customer.update(Customer=number, CustomerName=name[:80], CustomerFullName=name[:220],
                        CreatedByUser=user.upper(), CreationDate=today,
                        CustomerAccountGroup=customer.get("CustomerAccountGroup") or "CUST",
                        TaxNumber1=taxes[0].get("BPTaxNumber", "")[:16] if taxes else "")
        customer_rows.append(customer)
        data["Customer"] = number
        for index, area in enumerate(customer_payload.items("to_CustomerSalesArea") if customer_payload else []):
            area_rows.append(_sales_area(number, area, index))
    store.insert(sales.BP, "A_BusinessPartner", [data])
    store.insert(sales.BP, "A_BusinessPartnerAddress", addresses)
    store.insert(sales.BP, "A_BusinessPartnerRole", roles)
    store.insert(sales.BP, "A_BusinessPartnerTaxNumber", taxes)
    store.insert(sales.BP, "A_Customer", customer_rows)
    store.insert(sales.BP, "A_CustomerSalesArea", area_rows)
    result = dict(data, to_BusinessPartnerAddress=addresses, to_BusinessPartnerRole=roles,
                  to_BusinessPartnerTax=taxes)
    if customer_rows:
        result["to_Customer"] = dict(customer_rows[0], to_CustomerSalesArea=area_rows)
    return result


def _sales_area(customer: str, area: Parsed, index: int) -> Row:
    row = dict(area.data)
    path = f"to_Customer/to_CustomerSalesArea({index + 1})/"
    for name in ("SalesOrganization", "DistributionChannel", "Division"):
        if not row.get(name):
            raise sales.error_missing(name, name, path)
    known = next((a for a in SALES_AREAS if (a.sales_organization, a.distribution_channel, a.division)
                  == (row["SalesOrganization"], row["DistributionChannel"], row["Division"])), None)
    if known is None:
        raise SapBusinessError(
            "V1/301",
            f"Sales area {row['SalesOrganization']} {row['DistributionChannel']} {row['Division']} is not defined",
            target=f"{path}SalesOrganization", propertyref="SalesOrganization",
        )
    terms = row.get("CustomerPaymentTerms") or "0001"
    if terms not in sales.valid_payment_terms():
        raise SapBusinessError("V1/055", f"Terms of payment {terms} are not defined",
                               target=f"{path}CustomerPaymentTerms", propertyref="CustomerPaymentTerms")
    row.update(Customer=customer, CustomerPaymentTerms=terms, Currency=row.get("Currency") or known.currency,
               CreditControlArea=row.get("CreditControlArea") or "A000", CustomerPricingProcedure="01",
               ShippingCondition=row.get("ShippingCondition") or "01")
    return row


# -- pricing condition records ---------------------------------------------------------------------
@transaction.atomic
def condition_record_create(payload: Any, *, user: str) -> Row:
    """Deep create A_SlsPrcgConditionRecord with its validities (the validity set is not creatable)."""
    record_type = entity_type(sales.PRICING, "A_SlsPrcgConditionRecord")
    parsed = parse(PRICING_SRV, record_type, payload)
    data = dict(parsed.data)
    for name, label in (("ConditionType", "Condition type"), ("ConditionRateValue", "Amount")):
        if data.get(name) in (None, ""):
            raise sales.error_missing(name, label)
    validities = parsed.items("to_SlsPrcgCndnRecdValidity")
    if not validities:
        raise sales.error_missing("to_SlsPrcgCndnRecdValidity", "Validity (condition key)")
    number = f"{store.next_number('condition_record', CONDITION_RECORD_START):010d}"
    rows = []
    for index, validity in enumerate(validities):
        row = dict(validity.data)
        path = f"to_SlsPrcgCndnRecdValidity({index + 1})/"
        material = row.get("Material")
        if material and not store.exists(sales.PRODUCT, "A_Product", Product=material):
            raise SapBusinessError("M3/305", f"Material {material} does not exist", target=f"{path}Material",
                                   propertyref="Material")
        row.update(ConditionRecord=number, ConditionType=data["ConditionType"],
                   ConditionApplication=data.get("ConditionApplication") or "V",
                   ConditionValidityStartDate=row.get("ConditionValidityStartDate") or sales.midnight(sales.today()),
                   ConditionValidityEndDate=row.get("ConditionValidityEndDate") or END_OF_TIME)
        rows.append(row)
    now = _now()
    percent = data.get("ConditionRateValueUnit") == "%"
    data.update(
        ConditionRecord=number,
        ConditionApplication=data.get("ConditionApplication") or "V",
        ConditionTable=data.get("ConditionTable") or ("305" if rows[0].get("Customer") else "304"),
        ConditionValidityStartDate=rows[0]["ConditionValidityStartDate"],
        ConditionValidityEndDate=rows[0]["ConditionValidityEndDate"],
        ConditionCalculationType=data.get("ConditionCalculationType") or ("A" if percent else "C"),
        ConditionQuantity=data.get("ConditionQuantity") or ("0" if percent else "1"),
        CreatedByUser=user.upper(),
        CreationDate=sales.midnight(sales.today()),
        LastChangeDateTime=now,
        ETag=now[:26],
        ConditionIsDeleted=bool(data.get("ConditionIsDeleted")),
    )
    store.insert(sales.PRICING, "A_SlsPrcgConditionRecord", [data])
    store.insert(sales.PRICING, "A_SlsPrcgCndnRecdValidity", rows)
    return dict(data, to_SlsPrcgCndnRecdValidity=rows)


# -- generic create / update / delete --------------------------------------------------------------
@transaction.atomic
def generic_create(service: Service, etype: EntityType, payload: Any) -> Row:
    parsed = parse(service, etype, payload)
    data = dict(parsed.data)
    for key in etype.keys:
        if not data.get(key):
            raise sales.error_missing(key, key)
    if store.get(service.name, etype, data) is not None:
        raise SapBusinessError("/IWBEP/CM_MGW_RT/025", f"Entity {etype.set_name}({key_string(etype, data)}) already exists",
                               status=400)
    store.insert(service.name, etype.set_name, [data])
    return data


class PreconditionError(SapBusinessError):
    pass


def check_if_match(etype: EntityType, current: Row, if_match: str | None) -> None:
    """SAP's optimistic locking: 428 without If-Match, 412 when it no longer matches."""
    if not etype.etag:
        return
    if not if_match:
        raise PreconditionError("/IWBEP/CM_MGW_RT/028", "Precondition required: send the entity's ETag in If-Match",
                                status=428)
    if if_match.strip() == "*":
        return
    current_etag = etag_for(current[etype.etag])
    if if_match.strip() != current_etag:
        raise PreconditionError("/IWBEP/CM_MGW_RT/019",
                                "Precondition failed: the entity was changed by another user", status=412)


@transaction.atomic
def entity_update(service: Service, etype: EntityType, key: Row, payload: Any, *, if_match: str | None,
                  replace: bool = False) -> Row:
    """PATCH/MERGE/PUT: merge the updatable properties, refresh the concurrency token."""
    row = SapEntity.objects.select_for_update().filter(
        service=service.name, entity_set=etype.set_name, key=key_string(etype, key)
    ).first()
    if row is None:
        raise SapBusinessError("/IWBEP/CM_MGW_RT/020", f"Resource not found for segment '{etype.set_name}'", status=404)
    current = row.data
    check_if_match(etype, current, if_match)
    parsed = parse(service, etype, payload, for_update=True)
    changes = {name: value for name, value in parsed.data.items() if name not in etype.keys}
    if etype.set_name == "A_SalesOrder":
        sales.validate_order_update(current, changes)
        changes["LastChangeDate"] = sales.midnight(sales.today())
    if etype.set_name == "CreditManagementAccount" and "CreditLimitAmount" in changes:
        changes["CreditLimitLastChangeDate"] = sales.midnight(sales.today())
    if replace:
        for prop in etype.props:
            if prop.updatable and prop.name not in changes and prop.name not in etype.keys:
                changes[prop.name] = None if prop.type not in ("Edm.String",) else ""
    updated = dict(current, **changes)
    if etype.etag:
        moment = timezone.now()
        previous = current.get(etype.etag)
        if previous and moment <= parse_datetime(previous):  # two writes within one clock tick
            moment = parse_datetime(previous) + timedelta(microseconds=1)
        updated[etype.etag] = dt_internal(moment)
    row.data = updated
    row.save(update_fields=["data", "updated_at"])
    return updated


@transaction.atomic
def entity_delete(service: Service, etype: EntityType, key: Row, *, if_match: str | None) -> None:
    current = store.get(service.name, etype, key)
    if current is None:
        raise SapBusinessError("/IWBEP/CM_MGW_RT/020", f"Resource not found for segment '{etype.set_name}'", status=404)
    check_if_match(etype, current, if_match)
    store.delete(service.name, etype.set_name, **key)
    if etype.set_name == "A_SalesOrder":
        for child in SALES_ORDER_CHILD_SETS:
            store.delete(service.name, child, SalesOrder=key["SalesOrder"])
