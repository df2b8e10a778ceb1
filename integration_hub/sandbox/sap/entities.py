"""The SAP sandbox's entity model: the single source for `$metadata`, JSON and create validation.

Names, types and lengths follow the S/4HANA Cloud EDMX of each API (WIRE A1-A6), trimmed to the
fields the hub and its tests use. Every entity set here is backed by `SapEntity` rows except the
simulation types, which only shape the simulation response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache


@dataclass(frozen=True)
class Prop:
    name: str
    type: str = "Edm.String"
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = True
    creatable: bool = True
    updatable: bool = True
    label: str = ""


@dataclass(frozen=True)
class Nav:
    name: str
    target: str  # entity set name in the same service
    many: bool
    on: tuple[tuple[str, str], ...]  # (source property, target property) pairs
    required: bool = False  # multiplicity "1" rather than "0..1" for single navigations


@dataclass(frozen=True)
class EntityType:
    name: str
    set_name: str
    keys: tuple[str, ...]
    props: tuple[Prop, ...]
    navs: tuple[Nav, ...] = ()
    etag: str | None = None  # property with ConcurrencyMode="Fixed"
    creatable: bool = True
    updatable: bool = True
    deletable: bool = False
    stored: bool = True

    @property
    def prop_map(self) -> dict[str, Prop]:
        return _prop_map(self)

    @property
    def nav_map(self) -> dict[str, Nav]:
        return {nav.name: nav for nav in self.navs}


@cache
def _prop_map(etype: EntityType) -> dict[str, Prop]:
    return {prop.name: prop for prop in etype.props}


@dataclass(frozen=True)
class ComplexType:
    name: str
    props: tuple[Prop, ...]


@dataclass(frozen=True)
class FunctionImport:
    """A function import (`POST <service>/<name>?Param='value'`): parameters in the query string."""

    name: str
    return_type: str  # a ComplexType of the same service
    params: tuple[Prop, ...]
    http_method: str = "POST"


@dataclass(frozen=True)
class Service:
    name: str
    types: tuple[EntityType, ...] = field(default_factory=tuple)
    complex_types: tuple[ComplexType, ...] = ()
    functions: tuple[FunctionImport, ...] = ()

    def function(self, name: str) -> FunctionImport | None:
        return next((f for f in self.functions if f.name == name), None)

    def entity_set(self, set_name: str) -> EntityType | None:
        for etype in self.types:
            if etype.set_name == set_name:
                return etype
        return None


# -- property shorthands ---------------------------------------------------------------------------
def S(name: str, length: int, **kw: object) -> Prop:  # noqa: N802 - reads like the EDMX
    return Prop(name, "Edm.String", max_length=length, **kw)  # type: ignore[arg-type]


def K(name: str, length: int) -> Prop:  # noqa: N802
    return Prop(name, "Edm.String", max_length=length, nullable=False, updatable=False)


def D(name: str, precision: int = 16, scale: int = 3, **kw: object) -> Prop:  # noqa: N802
    return Prop(name, "Edm.Decimal", precision=precision, scale=scale, **kw)  # type: ignore[arg-type]


def DT(name: str, **kw: object) -> Prop:  # noqa: N802
    return Prop(name, "Edm.DateTime", precision=0, **kw)  # type: ignore[arg-type]


def DTO(name: str, **kw: object) -> Prop:  # noqa: N802
    return Prop(name, "Edm.DateTimeOffset", precision=7, **kw)  # type: ignore[arg-type]


def B(name: str, **kw: object) -> Prop:  # noqa: N802
    return Prop(name, "Edm.Boolean", **kw)  # type: ignore[arg-type]


RO = {"creatable": False, "updatable": False}


# -- API_SALES_ORDER_SRV ---------------------------------------------------------------------------
_SO_HEADER_FIELDS = (
    S("SalesOrderType", 4),
    S("SalesOrganization", 4),
    S("DistributionChannel", 2),
    S("OrganizationDivision", 2),
    S("SalesGroup", 3),
    S("SalesOffice", 4),
    S("SalesDistrict", 6),
    S("SoldToParty", 10),
    DT("CreationDate", **RO),
    S("CreatedByUser", 12, **RO),
    DT("LastChangeDate", **RO),
    DTO("LastChangeDateTime", **RO),
    S("PurchaseOrderByCustomer", 35),
    S("CustomerPurchaseOrderType", 4),
    DT("CustomerPurchaseOrderDate"),
    DT("SalesOrderDate"),
    D("TotalNetAmount", 16, 3, **RO),
    S("TransactionCurrency", 5),
    S("SDDocumentReason", 3),
    DT("PricingDate"),
    DT("RequestedDeliveryDate"),
    S("ShippingCondition", 2),
    B("CompleteDeliveryIsDefined"),
    S("ShippingType", 2),
    S("HeaderBillingBlockReason", 2),
    S("DeliveryBlockReason", 2),
    S("IncotermsClassification", 3),
    S("IncotermsTransferLocation", 28),
    S("IncotermsLocation1", 70),
    S("IncotermsVersion", 4),
    S("CustomerPaymentTerms", 4),
    S("PaymentMethod", 1),
    S("AssignmentReference", 18),
    S("ReferenceSDDocument", 10),
    S("ReferenceSDDocumentCategory", 4),
    S("CustomerGroup", 2),
    S("CustomerPriceGroup", 2),
    S("PriceListType", 2),
    S("CustomerTaxClassification1", 1),
    S("TaxDepartureCountry", 3),
    S("VATRegistrationCountry", 3),
    S("SalesOrderApprovalReason", 4),
    S("SalesDocApprovalStatus", 1, **RO),
    S("OverallSDProcessStatus", 1, **RO),
    S("TotalCreditCheckStatus", 1, **RO),
    S("OverallTotalDeliveryStatus", 1, **RO),
    S("OverallDeliveryStatus", 1, **RO),
    S("OverallOrdReltdBillgStatus", 1, **RO),
    S("OverallSDDocumentRejectionSts", 1, **RO),
    S("TotalBlockStatus", 1, **RO),
)

_SO_ITEM_FIELDS = (
    S("HigherLevelItem", 6),
    S("SalesOrderItemCategory", 4),
    S("SalesOrderItemText", 40),
    S("PurchaseOrderByCustomer", 35),
    S("Material", 40),
    S("MaterialByCustomer", 35),
    DT("PricingDate"),
    D("RequestedQuantity", 15, 3),
    S("RequestedQuantityUnit", 3),
    S("RequestedQuantitySAPUnit", 3, **RO),
    S("RequestedQuantityISOUnit", 3),
    S("MaterialGroup", 9, **RO),
    D("NetAmount", 16, 3, **RO),
    D("TaxAmount", 13, 3, **RO),
    D("CostAmount", 13, 3, **RO),
    D("Subtotal1Amount", 13, 3, **RO),
    S("TransactionCurrency", 5, **RO),
    S("ProductionPlant", 4),
    S("ShippingPoint", 4),
    S("DeliveryPriority", 2),
    S("CustomerPaymentTerms", 4),
    S("ItemBillingBlockReason", 2),
    S("SalesDocumentRjcnReason", 2),
    S("ProductTaxClassification1", 1),
    D("ConfdDelivQtyInOrderQtyUnit", 15, 3, **RO),
    S("SDProcessStatus", 1, **RO),
    S("DeliveryStatus", 1, **RO),
    S("OrderRelatedBillingStatus", 1, **RO),
)

_PR_ELEMENT_FIELDS = (
    S("ConditionType", 4),
    S("PricingDateTime", 14, **RO),
    S("ConditionCalculationType", 3, **RO),
    D("ConditionBaseValue", 24, 9, **RO),
    D("ConditionRateValue", 24, 9),
    S("ConditionCurrency", 5),
    D("ConditionQuantity", 5, 0),
    S("ConditionQuantityUnit", 3),
    S("ConditionCategory", 1, **RO),
    B("ConditionIsForStatistics", **RO),
    S("ConditionOrigin", 1, **RO),
    S("ConditionRecord", 10, **RO),
    S("TaxCode", 2, **RO),
    D("ConditionAmount", 16, 3, **RO),
    S("TransactionCurrency", 5, **RO),
    S("ConditionClass", 1, **RO),
    S("ConditionInactiveReason", 1, **RO),
    B("ConditionIsManuallyChanged", **RO),
)

_PARTNER_FIELDS = (
    S("Customer", 10),
    S("Supplier", 10),
    S("Personnel", 8),
    S("ContactPerson", 10),
    S("AddressID", 10),
    S("VATRegistration", 20),
    S("PartnerFunctionInternalCode", 2, **RO),
    S("ReferenceBusinessPartner", 10, **RO),
)

_SO = ("SalesOrder", "SalesOrder")
_SO_ITEM = (_SO, ("SalesOrderItem", "SalesOrderItem"))

SALES_ORDER_SRV = Service(
    "API_SALES_ORDER_SRV",
    (
        EntityType(
            "A_SalesOrderType",
            "A_SalesOrder",
            ("SalesOrder",),
            (Prop("SalesOrder", max_length=10, nullable=False, updatable=False), *_SO_HEADER_FIELDS),
            (
                Nav("to_Item", "A_SalesOrderItem", True, (_SO,)),
                Nav("to_Partner", "A_SalesOrderHeaderPartner", True, (_SO,)),
                Nav("to_PricingElement", "A_SalesOrderHeaderPrElement", True, (_SO,)),
            ),
            etag="LastChangeDateTime",
            deletable=True,
        ),
        EntityType(
            "A_SalesOrderItemType",
            "A_SalesOrderItem",
            ("SalesOrder", "SalesOrderItem"),
            (K("SalesOrder", 10), K("SalesOrderItem", 6), *_SO_ITEM_FIELDS),
            (
                Nav("to_SalesOrder", "A_SalesOrder", False, (_SO,), required=True),
                Nav("to_PricingElement", "A_SalesOrderItemPrElement", True, _SO_ITEM),
            ),
        ),
        EntityType(
            "A_SalesOrderHeaderPartnerType",
            "A_SalesOrderHeaderPartner",
            ("SalesOrder", "PartnerFunction"),
            (K("SalesOrder", 10), K("PartnerFunction", 2), *_PARTNER_FIELDS),
            (Nav("to_SalesOrder", "A_SalesOrder", False, (_SO,), required=True),),
        ),
        EntityType(
            "A_SalesOrderHeaderPrElementType",
            "A_SalesOrderHeaderPrElement",
            ("SalesOrder", "PricingProcedureStep", "PricingProcedureCounter"),
            (K("SalesOrder", 10), K("PricingProcedureStep", 3), K("PricingProcedureCounter", 3), *_PR_ELEMENT_FIELDS),
            (Nav("to_SalesOrder", "A_SalesOrder", False, (_SO,), required=True),),
        ),
        EntityType(
            "A_SalesOrderItemPrElementType",
            "A_SalesOrderItemPrElement",
            ("SalesOrder", "SalesOrderItem", "PricingProcedureStep", "PricingProcedureCounter"),
            (
                K("SalesOrder", 10),
                K("SalesOrderItem", 6),
                K("PricingProcedureStep", 3),
                K("PricingProcedureCounter", 3),
                *_PR_ELEMENT_FIELDS,
            ),
            (
                Nav("to_SalesOrder", "A_SalesOrder", False, (_SO,), required=True),
                Nav("to_SalesOrderItem", "A_SalesOrderItem", False, _SO_ITEM, required=True),
            ),
        ),
    ),
)

# -- API_SALES_ORDER_SIMULATION_SRV ----------------------------------------------------------------
_SIM_HEADER_FIELDS = tuple(p for p in _SO_HEADER_FIELDS if p.name not in {"TotalNetAmount", "TotalCreditCheckStatus"})

SALES_ORDER_SIMULATION_SRV = Service(
    "API_SALES_ORDER_SIMULATION_SRV",
    (
        EntityType(
            "A_SalesOrderSimulationType",
            "A_SalesOrderSimulation",
            ("SalesOrder",),
            (Prop("SalesOrder", max_length=10, nullable=False), *_SIM_HEADER_FIELDS),
            (
                Nav("to_Item", "A_SalesOrderItemSimulation", True, (_SO,)),
                Nav("to_Partner", "A_SalesOrderPartnerSimulation", True, (_SO,)),
                Nav("to_PricingElement", "A_SalesOrderPrcgElmntSimln", True, (_SO,)),
                Nav("to_Pricing", "A_SalesOrderPricingSimulation", False, (_SO,)),
                Nav("to_Credit", "A_SalesOrderCreditSimulation", False, (_SO,)),
            ),
            updatable=False,
            stored=False,
        ),
        EntityType(
            "A_SalesOrderItemSimulationType",
            "A_SalesOrderItemSimulation",
            ("SalesOrder", "SalesOrderItem"),
            (Prop("SalesOrder", max_length=10, nullable=False), K("SalesOrderItem", 6), *_SO_ITEM_FIELDS),
            (
                Nav("to_PricingElement", "A_SalesOrderItmPrcgElmntSimln", True, _SO_ITEM),
                Nav("to_ScheduleLine", "A_SalesOrderScheduleLineSimln", True, _SO_ITEM),
            ),
            updatable=False,
            stored=False,
        ),
        EntityType(
            "A_SalesOrderPartnerSimulationType",
            "A_SalesOrderPartnerSimulation",
            ("SalesOrder", "PartnerFunction"),
            (Prop("SalesOrder", max_length=10, nullable=False), K("PartnerFunction", 2), *_PARTNER_FIELDS),
            updatable=False,
            stored=False,
        ),
        EntityType(
            "A_SalesOrderPrcgElmntSimlnType",
            "A_SalesOrderPrcgElmntSimln",
            ("SalesOrder", "PricingProcedureStep", "PricingProcedureCounter"),
            (
                Prop("SalesOrder", max_length=10, nullable=False),
                Prop("PricingProcedureStep", max_length=3, nullable=False),
                Prop("PricingProcedureCounter", max_length=3, nullable=False),
                *_PR_ELEMENT_FIELDS,
            ),
            updatable=False,
            stored=False,
        ),
        EntityType(
            "A_SalesOrderItmPrcgElmntSimlnType",
            "A_SalesOrderItmPrcgElmntSimln",
            ("SalesOrder", "SalesOrderItem", "PricingProcedureStep", "PricingProcedureCounter"),
            (
                Prop("SalesOrder", max_length=10, nullable=False),
                Prop("SalesOrderItem", max_length=6, nullable=False),
                Prop("PricingProcedureStep", max_length=3, nullable=False),
                Prop("PricingProcedureCounter", max_length=3, nullable=False),
                *_PR_ELEMENT_FIELDS,
            ),
            updatable=False,
            stored=False,
        ),
        EntityType(
            "A_SalesOrderScheduleLineSimlnType",
            "A_SalesOrderScheduleLineSimln",
            ("SalesOrder", "SalesOrderItem", "ScheduleLine"),
            (
                Prop("SalesOrder", max_length=10, nullable=False),
                Prop("SalesOrderItem", max_length=6, nullable=False),
                Prop("ScheduleLine", max_length=4, nullable=False),
                DT("RequestedDeliveryDate"),
                DT("ConfirmedDeliveryDate", **RO),
                D("ScheduleLineOrderQuantity", 13, 3),
                D("ConfdOrderQtyByMatlAvailCheck", 13, 3, **RO),
                D("OpenConfdDelivQtyInOrdQtyUnit", 13, 3, **RO),
                S("OrderQuantityUnit", 3),
            ),
            updatable=False,
            stored=False,
        ),
        EntityType(
            "A_SalesOrderPricingSimulationType",
            "A_SalesOrderPricingSimulation",
            ("SalesOrder",),
            (
                Prop("SalesOrder", max_length=10, nullable=False),
                D("TotalNetAmount", 16, 3, **RO),
                S("TransactionCurrency", 5, **RO),
            ),
            updatable=False,
            stored=False,
        ),
        EntityType(
            "A_SalesOrderCreditSimulationType",
            "A_SalesOrderCreditSimulation",
            ("SalesOrder",),
            (Prop("SalesOrder", max_length=10, nullable=False), S("TotalCreditCheckStatus", 1, **RO)),
            updatable=False,
            stored=False,
        ),
    ),
)

# -- API_BUSINESS_PARTNER --------------------------------------------------------------------------
_BP = ("BusinessPartner", "BusinessPartner")
_CUST = ("Customer", "Customer")
_SUPPLIER = ("Supplier", "Supplier")

BUSINESS_PARTNER = Service(
    "API_BUSINESS_PARTNER",
    (
        EntityType(
            "A_BusinessPartnerType",
            "A_BusinessPartner",
            ("BusinessPartner",),
            (
                Prop("BusinessPartner", max_length=10, nullable=False, updatable=False),
                S("Customer", 10, **RO),
                S("Supplier", 10, **RO),
                S("AcademicTitle", 4),
                S("AuthorizationGroup", 4),
                S("BusinessPartnerCategory", 1),
                S("BusinessPartnerFullName", 81, **RO),
                S("BusinessPartnerGrouping", 4),
                S("BusinessPartnerName", 81, **RO),
                S("CorrespondenceLanguage", 2),
                S("CreatedByUser", 12, **RO),
                DT("CreationDate", **RO),
                S("FirstName", 40),
                S("FormOfAddress", 4),
                S("Industry", 10),
                B("IsMarkedForArchiving"),
                S("LastName", 40),
                S("OrganizationBPName1", 40),
                S("OrganizationBPName2", 40),
                S("OrganizationBPName3", 40),
                S("OrganizationBPName4", 40),
                DT("OrganizationFoundationDate"),
                S("SearchTerm1", 20),
                S("SearchTerm2", 20),
                B("BusinessPartnerIsBlocked"),
                S("Language", 2),
                DT("LastChangeDate", **RO),
                S("ETag", 26, **RO),
            ),
            (
                Nav("to_BusinessPartnerAddress", "A_BusinessPartnerAddress", True, (_BP,)),
                Nav("to_BusinessPartnerRole", "A_BusinessPartnerRole", True, (_BP,)),
                Nav("to_BusinessPartnerTax", "A_BusinessPartnerTaxNumber", True, (_BP,)),
                Nav("to_Customer", "A_Customer", False, (_CUST,)),
            ),
        ),
        EntityType(
            "A_BusinessPartnerAddressType",
            "A_BusinessPartnerAddress",
            ("BusinessPartner", "AddressID"),
            (
                K("BusinessPartner", 10),
                K("AddressID", 10),
                DTO("ValidityStartDate"),
                DTO("ValidityEndDate"),
                S("AdditionalStreetPrefixName", 40),
                S("CityName", 40),
                S("Country", 3),
                S("District", 40),
                S("FullName", 80),
                S("HouseNumber", 10),
                S("Language", 2),
                S("POBox", 10),
                S("PostalCode", 10),
                S("Region", 3),
                S("StreetName", 60),
                S("TaxJurisdiction", 15),
                S("TransportZone", 10),
            ),
        ),
        EntityType(
            "A_BusinessPartnerRoleType",
            "A_BusinessPartnerRole",
            ("BusinessPartner", "BusinessPartnerRole"),
            (K("BusinessPartner", 10), K("BusinessPartnerRole", 6), DTO("ValidFrom"), DTO("ValidTo")),
        ),
        EntityType(
            "A_BusinessPartnerTaxNumberType",
            "A_BusinessPartnerTaxNumber",
            ("BusinessPartner", "BPTaxType"),
            (K("BusinessPartner", 10), K("BPTaxType", 4), S("BPTaxNumber", 20), S("BPTaxLongNumber", 60)),
        ),
        EntityType(
            "A_CustomerType",
            "A_Customer",
            ("Customer",),
            (
                K("Customer", 10),
                S("AuthorizationGroup", 4),
                S("BillingIsBlockedForCustomer", 2),
                S("CreatedByUser", 12, **RO),
                DT("CreationDate", **RO),
                S("CustomerAccountGroup", 4),
                S("CustomerClassification", 2),
                S("CustomerFullName", 220, **RO),
                S("CustomerName", 80, **RO),
                S("DeliveryIsBlocked", 2),
                S("OrderIsBlockedForCustomer", 2),
                B("PostingIsBlocked"),
                S("Supplier", 10),
                S("CustomerCorporateGroup", 10),
                S("Industry", 4),
                S("TaxNumber1", 16, **RO),
                S("VATRegistration", 20),
                B("DeletionIndicator"),
            ),
            (Nav("to_CustomerSalesArea", "A_CustomerSalesArea", True, (_CUST,)),),
        ),
        EntityType(
            "A_CustomerSalesAreaType",
            "A_CustomerSalesArea",
            ("Customer", "SalesOrganization", "DistributionChannel", "Division"),
            (
                K("Customer", 10),
                K("SalesOrganization", 4),
                K("DistributionChannel", 2),
                K("Division", 2),
                S("AccountByCustomer", 12),
                S("BillingIsBlockedForCustomer", 2),
                B("CompleteDeliveryIsDefined"),
                S("Currency", 5),
                S("CustomerABCClassification", 2),
                S("CustomerAccountAssignmentGroup", 2),
                S("CustomerGroup", 2),
                S("CustomerPaymentTerms", 4),
                S("CustomerPriceGroup", 2),
                S("CustomerPricingProcedure", 2),
                S("DeliveryIsBlockedForCustomer", 2),
                S("DeliveryPriority", 2),
                S("IncotermsClassification", 3),
                S("IncotermsLocation1", 70),
                S("IncotermsVersion", 4),
                B("DeletionIndicator"),
                S("SalesGroup", 3),
                S("SalesOffice", 4),
                S("ShippingCondition", 2),
                S("SupplyingPlant", 4),
                S("SalesDistrict", 6),
                S("CreditControlArea", 4),
                S("OrderIsBlockedForCustomer", 2),
            ),
        ),
        EntityType(
            "A_SupplierType",
            "A_Supplier",
            ("Supplier",),
            (
                K("Supplier", 10),
                S("SupplierName", 80, **RO),
                S("SupplierFullName", 220, **RO),
                S("SupplierAccountGroup", 4),
                S("Customer", 10),
                S("CreatedByUser", 12, **RO),
                DT("CreationDate", **RO),
                B("PostingIsBlocked"),
                B("PaymentIsBlockedForSupplier"),
                B("DeletionIndicator"),
                S("VATRegistration", 20),
            ),
            (Nav("to_SupplierCompany", "A_SupplierCompany", True, (_SUPPLIER,)),),
            creatable=False,
        ),
        EntityType(
            "A_SupplierCompanyType",
            "A_SupplierCompany",
            ("Supplier", "CompanyCode"),
            (
                K("Supplier", 10),
                K("CompanyCode", 4),
                S("PaymentTerms", 4),
                S("PaymentBlockingReason", 1),
                S("PaymentMethodsList", 10),
                S("ReconciliationAccount", 10),
                B("IsToBeCheckedForDuplicates"),
                B("SupplierIsBlockedForPosting"),
                B("DeletionIndicator"),
            ),
            (Nav("to_Supplier", "A_Supplier", False, (_SUPPLIER,), required=True),),
            creatable=False,
        ),
    ),
)

# -- API_PRODUCT_SRV -------------------------------------------------------------------------------
_PRODUCT = ("Product", "Product")

PRODUCT_SRV = Service(
    "API_PRODUCT_SRV",
    (
        EntityType(
            "A_ProductType",
            "A_Product",
            ("Product",),
            (
                K("Product", 40),
                S("ProductType", 4),
                S("CrossPlantStatus", 2),
                DT("CrossPlantStatusValidityDate"),
                DT("CreationDate", **RO),
                S("CreatedByUser", 12, **RO),
                DT("LastChangeDate", **RO),
                DTO("LastChangeDateTime", **RO),
                B("IsMarkedForDeletion"),
                S("ProductOldID", 40),
                D("GrossWeight", 13, 3),
                D("NetWeight", 13, 3),
                S("WeightUnit", 3),
                S("ProductGroup", 9),
                S("BaseUnit", 3),
                S("ItemCategoryGroup", 4),
                S("Division", 2),
                S("IndustrySector", 1),
            ),
            (
                Nav("to_Description", "A_ProductDescription", True, (_PRODUCT,)),
                Nav("to_SalesDelivery", "A_ProductSalesDelivery", True, (_PRODUCT,)),
            ),
            creatable=False,
            updatable=False,
        ),
        EntityType(
            "A_ProductDescriptionType",
            "A_ProductDescription",
            ("Product", "Language"),
            (K("Product", 40), K("Language", 2), S("ProductDescription", 40)),
            creatable=False,
            updatable=False,
        ),
        EntityType(
            "A_ProductSalesDeliveryType",
            "A_ProductSalesDelivery",
            ("Product", "ProductSalesOrg", "ProductDistributionChnl"),
            (
                K("Product", 40),
                K("ProductSalesOrg", 4),
                K("ProductDistributionChnl", 2),
                D("MinimumOrderQuantity", 13, 3),
                S("SupplyingPlant", 4),
                S("PriceSpecificationProductGroup", 2),
                S("AccountDetnProductGroup", 2),
                S("ItemCategoryGroup", 4),
                S("DeliveryQuantityUnit", 3),
                S("ProductSalesStatus", 2),
                DT("ProductSalesStatusValidityDate"),
                S("SalesMeasureUnit", 3),
                B("IsMarkedForDeletion"),
                S("ProductHierarchy", 18),
            ),
            creatable=False,
            updatable=False,
        ),
    ),
)

# -- API_SLSPRICINGCONDITIONRECORD_SRV -------------------------------------------------------------
_CR = ("ConditionRecord", "ConditionRecord")

PRICING_SRV = Service(
    "API_SLSPRICINGCONDITIONRECORD_SRV",
    (
        EntityType(
            "A_SlsPrcgConditionRecordType",
            "A_SlsPrcgConditionRecord",
            ("ConditionRecord",),
            (
                Prop("ConditionRecord", max_length=10, nullable=False, updatable=False),
                S("ConditionSequentialNumberShort", 2),
                S("ConditionTable", 3),
                S("ConditionApplication", 2),
                S("ConditionType", 4),
                DT("ConditionValidityEndDate"),
                DT("ConditionValidityStartDate"),
                S("CreatedByUser", 12, **RO),
                DT("CreationDate", **RO),
                S("ConditionTextID", 32),
                S("PricingScaleType", 1),
                S("ConditionCalculationType", 3),
                D("ConditionRateValue", 12, 3),
                S("ConditionRateValueUnit", 5),
                D("ConditionQuantity", 5, 0),
                S("ConditionQuantityUnit", 3),
                S("BaseUnit", 3),
                D("ConditionLowerLimit", 12, 3),
                D("ConditionUpperLimit", 12, 3),
                B("ConditionIsDeleted"),
                S("PaymentTerms", 4),
                S("ConditionReleaseStatus", 1),
                DTO("LastChangeDateTime", **RO),
                S("ETag", 26, **RO),
            ),
            (Nav("to_SlsPrcgCndnRecdValidity", "A_SlsPrcgCndnRecdValidity", True, (_CR,)),),
        ),
        EntityType(
            "A_SlsPrcgCndnRecdValidityType",
            "A_SlsPrcgCndnRecdValidity",
            ("ConditionRecord", "ConditionValidityEndDate"),
            (
                K("ConditionRecord", 10),
                Prop("ConditionValidityEndDate", "Edm.DateTime", precision=0, nullable=False, updatable=False),
                DT("ConditionValidityStartDate"),
                S("ConditionApplication", 2),
                S("ConditionType", 4),
                S("ConditionReleaseStatus", 1),
                S("SalesOrganization", 4),
                S("DistributionChannel", 2),
                S("Division", 2),
                S("Customer", 10),
                S("CustomerGroup", 2),
                S("CustomerPriceGroup", 2),
                S("SoldToParty", 10),
                S("Material", 40),
                S("MaterialGroup", 9),
                S("PriceListType", 2),
                S("Plant", 4),
                S("DepartureCountry", 3),
                S("DestinationCountry", 3),
                S("TaxCode", 2),
                S("CustomerTaxClassification1", 1),
                S("ProductTaxClassification1", 1),
                S("PaymentTerms", 4),
            ),
            (Nav("to_SlsPrcgConditionRecord", "A_SlsPrcgConditionRecord", False, (_CR,), required=True),),
            creatable=False,
        ),
    ),
)

# -- API_CRDTMBUSINESSPARTNER ----------------------------------------------------------------------
CREDIT_SRV = Service(
    "API_CRDTMBUSINESSPARTNER",
    (
        EntityType(
            "CreditMgmtBusinessPartnerType",
            "CreditMgmtBusinessPartner",
            ("BusinessPartner",),
            (
                K("BusinessPartner", 10),
                S("CreditRiskClass", 3),
                S("CreditCheckRule", 10),
                S("CreditScoreAndLimitCalcRule", 10),
                S("CreditWorthinessScoreValue", 10),
                S("CrdtMgmtBusinessPartnerGroup", 4),
                S("CalculatedCreditRiskClass", 3, **RO),
                DT("CreditRiskClassLastChangeDate", **RO),
            ),
            (Nav("to_CreditMgmtAccountTP", "CreditManagementAccount", True, (_BP,)),),
            creatable=False,
        ),
        EntityType(
            "CreditManagementAccountType",
            "CreditManagementAccount",
            ("BusinessPartner", "CreditSegment"),
            (
                K("BusinessPartner", 10),
                K("CreditSegment", 10),
                D("CreditLimitAmount", 15, 2),
                S("CreditSegmentCurrency", 5, **RO),
                B("CreditAccountIsBlocked"),
                S("CreditAccountBlockReason", 2),
                B("BusinessPartnerIsCritical"),
                DT("CreditLimitValidityEndDate"),
                D("CreditLimitCalculatedAmount", 15, 2, **RO),
                D("CreditLimitRequestedAmount", 15, 2),
                B("CreditLimitIsZero"),
                DT("CreditAccountResubmissionDate"),
                DT("CreditLimitLastChangeDate", **RO),
            ),
            (Nav("to_CreditMgmtBusinessPartner", "CreditMgmtBusinessPartner", False, (_BP,), required=True),),
            creatable=False,
        ),
    ),
)

# -- API_OPLACCTGDOCITEMCUBE_SRV -------------------------------------------------------------------
# Customer line items of journal entries. An open item has IsCleared false and an empty
# ClearingAccountingDocument (the hub's "uncleared" filter is `ClearingAccountingDocument eq ''`);
# BillingDocument/SalesDocument link an invoice's receivable to SD (WIRE-ERP 4.2).
AR_SRV = Service(
    "API_OPLACCTGDOCITEMCUBE_SRV",
    (
        EntityType(
            "A_OperationalAcctgDocItemCubeType",
            "A_OperationalAcctgDocItemCube",
            ("CompanyCode", "FiscalYear", "AccountingDocument", "AccountingDocumentItem"),
            (
                K("CompanyCode", 4),
                K("FiscalYear", 4),
                K("AccountingDocument", 10),
                K("AccountingDocumentItem", 3),
                S("Customer", 10),
                S("AccountingDocumentType", 2),
                S("FinancialAccountType", 1),
                S("DebitCreditCode", 1),
                DT("PostingDate"),
                DT("DocumentDate"),
                DT("NetDueDate"),
                DT("DueCalculationBaseDate"),
                B("IsCleared"),
                S("ClearingAccountingDocument", 10),
                DT("ClearingDate"),
                DT("ClearingCreationDate"),
                S("ClearingDocFiscalYear", 4),
                B("ClearingIsReversed"),
                D("AmountInTransactionCurrency", 23, 2),
                S("TransactionCurrency", 5),
                D("AmountInCompanyCodeCurrency", 23, 2),
                S("CompanyCodeCurrency", 5),
                S("PaymentTerms", 4),
                S("DocumentReferenceID", 16),
                S("OriginalReferenceDocument", 20),
                S("ReferenceDocumentType", 5),
                S("InvoiceReference", 10),
                S("AssignmentReference", 18),
                S("BillingDocument", 10),
                S("SalesDocument", 10),
                B("IsSalesRelated"),
            ),
            creatable=False,
            updatable=False,
        ),
    ),
)

# -- API_OUTBOUND_DELIVERY_SRV (read-only in the sandbox; deliveries come from /_sandbox/events) --
_DLV = ("DeliveryDocument", "DeliveryDocument")

OUTBOUND_DELIVERY_SRV = Service(
    "API_OUTBOUND_DELIVERY_SRV",
    (
        EntityType(
            "A_OutbDeliveryHeaderType",
            "A_OutbDeliveryHeader",
            ("DeliveryDocument",),
            (
                K("DeliveryDocument", 10),
                S("DeliveryDocumentType", 4),
                S("SalesOrganization", 4),
                S("SoldToParty", 10),
                S("ShipToParty", 10),
                S("ShippingPoint", 4),
                S("ShippingCondition", 2),
                DT("PlannedGoodsIssueDate"),
                DT("ActualGoodsMovementDate"),
                DT("DeliveryDate"),
                S("OverallGoodsMovementStatus", 1),
                S("OverallPickingStatus", 1),
                S("OverallSDProcessStatus", 1),
                S("OverallDelivReltdBillgStatus", 1),
                S("DeliveryBlockReason", 2),
                S("HeaderBillingBlockReason", 2),
                S("TotalBlockStatus", 1),
                S("CreatedByUser", 12),
                DT("CreationDate"),
                DT("LastChangeDate"),
                DTO("LastChangeDateTime"),
            ),
            (Nav("to_DeliveryDocumentItem", "A_OutbDeliveryItem", True, (_DLV,)),),
            creatable=False,
            updatable=False,
        ),
        EntityType(
            "A_OutbDeliveryItemType",
            "A_OutbDeliveryItem",
            ("DeliveryDocument", "DeliveryDocumentItem"),
            (
                K("DeliveryDocument", 10),
                K("DeliveryDocumentItem", 6),
                S("DeliveryDocumentItemCategory", 4),
                S("DeliveryDocumentItemText", 40),
                S("Material", 40),
                S("Plant", 4),
                D("ActualDeliveryQuantity", 13, 3),
                S("DeliveryQuantityUnit", 3),
                S("GoodsMovementStatus", 1),
                S("PickingStatus", 1),
                S("ItemBillingBlockReason", 2),
                S("ReferenceSDDocument", 10),
                S("ReferenceSDDocumentItem", 6),
                S("ReferenceSDDocumentCategory", 4),
                DT("CreationDate"),
            ),
            (Nav("to_DeliveryDocument", "A_OutbDeliveryHeader", False, (_DLV,), required=True),),
            creatable=False,
            updatable=False,
        ),
    ),
)

# -- API_BILLING_DOCUMENT_SRV (read-only; names and types from the S/4HANA EDMX, WIRE-ERP 4.1) -----
# A_BillingDocument's ETag is LastChangeDateTime (ConcurrencyMode="Fixed" in the EDMX). Its tax
# total is `TaxAmount`, not "TotalTaxAmount": the EDMX has no property of that name.
_BD = ("BillingDocument", "BillingDocument")

BILLING_DOCUMENT_SRV = Service(
    "API_BILLING_DOCUMENT_SRV",
    (
        EntityType(
            "A_BillingDocumentType",
            "A_BillingDocument",
            ("BillingDocument",),
            (
                K("BillingDocument", 10),
                S("SDDocumentCategory", 4),
                S("BillingDocumentCategory", 1),
                S("BillingDocumentType", 4),
                DT("CreationDate"),
                DT("LastChangeDate"),
                DTO("LastChangeDateTime"),
                S("SalesOrganization", 4),
                S("DistributionChannel", 2),
                S("Division", 2),
                DT("BillingDocumentDate"),
                B("BillingDocumentIsCancelled"),
                S("CancelledBillingDocument", 10),
                D("TotalNetAmount", 16, 3),
                S("TransactionCurrency", 5),
                D("TaxAmount", 14, 3),
                D("TotalGrossAmount", 17, 3),
                S("PayerParty", 10),
                S("CustomerPaymentTerms", 4),
                S("PaymentMethod", 1),
                S("CompanyCode", 4),
                S("FiscalYear", 4),
                S("AccountingDocument", 10),
                S("DocumentReferenceID", 16),
                S("SoldToParty", 10),
                S("PurchaseOrderByCustomer", 35),
                S("OverallSDProcessStatus", 1),
                S("OverallBillingStatus", 1),
                S("AccountingPostingStatus", 1),
                S("AccountingTransferStatus", 1),
                S("InvoiceClearingStatus", 1),
            ),
            (Nav("to_Item", "A_BillingDocumentItem", True, (_BD,)),),
            etag="LastChangeDateTime",
            creatable=False,
            updatable=False,
        ),
        EntityType(
            "A_BillingDocumentItemType",
            "A_BillingDocumentItem",
            ("BillingDocument", "BillingDocumentItem"),
            (
                K("BillingDocument", 10),
                K("BillingDocumentItem", 6),
                S("SalesDocumentItemCategory", 4),
                DT("CreationDate"),
                S("Material", 40),
                S("Plant", 4),
                S("BillingDocumentItemText", 40),
                D("BillingQuantity", 13, 3),
                S("BillingQuantityUnit", 3),
                D("NetAmount", 16, 3),
                S("TransactionCurrency", 5),
                D("GrossAmount", 16, 3),
                D("TaxAmount", 14, 3),
                S("SalesDocument", 10),
                S("SalesDocumentItem", 6),
                S("ReferenceSDDocument", 10),
                S("ReferenceSDDocumentItem", 6),
                S("ReferenceSDDocumentCategory", 4),
            ),
            (Nav("to_BillingDocument", "A_BillingDocument", False, (_BD,), required=True),),
            creatable=False,
            updatable=False,
        ),
    ),
)

# -- procurement (WIRE-ERP 4.5-4.7): purchase orders, goods receipts, supplier invoices ------------
_PO = ("PurchaseOrder", "PurchaseOrder")
_PO_ITEM = (_PO, ("PurchaseOrderItem", "PurchaseOrderItem"))

PURCHASE_ORDER_SRV = Service(
    "API_PURCHASEORDER_PROCESS_SRV",
    (
        EntityType(
            "A_PurchaseOrderType",
            "A_PurchaseOrder",
            ("PurchaseOrder",),
            (
                Prop("PurchaseOrder", max_length=10, nullable=False, updatable=False),
                S("CompanyCode", 4),
                S("PurchaseOrderType", 4),
                S("Supplier", 10),
                S("PaymentTerms", 4),
                S("PurchasingOrganization", 4),
                S("PurchasingGroup", 3),
                DT("PurchaseOrderDate"),
                S("DocumentCurrency", 5),
                S("PurchasingProcessingStatus", 2, **RO),
                S("PurchasingDocumentDeletionCode", 1),
                B("ReleaseIsNotCompleted", **RO),
                B("PurchasingCompletenessStatus", **RO),
                S("IncotermsClassification", 3),
                S("CreatedByUser", 12, **RO),
                DT("CreationDate", **RO),
                DTO("LastChangeDateTime", **RO),
            ),
            (Nav("to_PurchaseOrderItem", "A_PurchaseOrderItem", True, (_PO,)),),
        ),
        EntityType(
            "A_PurchaseOrderItemType",
            "A_PurchaseOrderItem",
            ("PurchaseOrder", "PurchaseOrderItem"),
            (
                K("PurchaseOrder", 10),
                K("PurchaseOrderItem", 5),
                S("PurchaseOrderItemText", 40),
                S("Material", 40),
                S("Plant", 4),
                S("StorageLocation", 4),
                D("OrderQuantity", 13, 3),
                S("PurchaseOrderQuantityUnit", 3),
                S("OrderPriceUnit", 3),
                S("DocumentCurrency", 5, **RO),
                D("NetPriceAmount", 12, 3),
                D("NetPriceQuantity", 5, 0),
                S("TaxCode", 2),
                D("OverdelivTolrtdLmtRatioInPct", 3, 1),
                D("UnderdelivTolrtdLmtRatioInPct", 3, 1),
                B("GoodsReceiptIsExpected"),
                B("InvoiceIsExpected"),
                B("InvoiceIsGoodsReceiptBased"),
                B("EvaldRcptSettlmtIsAllowed"),
                B("IsCompletelyDelivered"),
                B("IsFinallyInvoiced"),
                S("PurchasingDocumentDeletionCode", 1),
            ),
            (Nav("to_PurchaseOrder", "A_PurchaseOrder", False, (_PO,), required=True),),
        ),
    ),
)

_MATDOC = (("MaterialDocumentYear", "MaterialDocumentYear"), ("MaterialDocument", "MaterialDocument"))

MATERIAL_DOCUMENT_SRV = Service(
    "API_MATERIAL_DOCUMENT_SRV",
    (
        EntityType(
            "A_MaterialDocumentHeaderType",
            "A_MaterialDocumentHeader",
            ("MaterialDocumentYear", "MaterialDocument"),
            (
                K("MaterialDocumentYear", 4),
                K("MaterialDocument", 10),
                DT("DocumentDate"),
                DT("PostingDate"),
                S("MaterialDocumentHeaderText", 25),
                S("ReferenceDocument", 16),
                S("GoodsMovementCode", 2),
                S("InventoryTransactionType", 2, **RO),
                S("CreatedByUser", 12, **RO),
                DT("CreationDate", **RO),
            ),
            (Nav("to_MaterialDocumentItem", "A_MaterialDocumentItem", True, _MATDOC),),
            updatable=False,
        ),
        EntityType(
            "A_MaterialDocumentItemType",
            "A_MaterialDocumentItem",
            ("MaterialDocumentYear", "MaterialDocument", "MaterialDocumentItem"),
            (
                K("MaterialDocumentYear", 4),
                K("MaterialDocument", 10),
                K("MaterialDocumentItem", 4),
                S("Material", 40),
                S("Plant", 4),
                S("StorageLocation", 4),
                S("GoodsMovementType", 3),
                S("InventoryStockType", 2),
                S("Supplier", 10, **RO),
                S("PurchaseOrder", 10),
                S("PurchaseOrderItem", 5),
                S("GoodsMovementRefDocType", 1),
                D("QuantityInEntryUnit", 13, 3),
                S("EntryUnit", 3),
                D("QuantityInBaseUnit", 13, 3, **RO),
                S("MaterialBaseUnit", 3, **RO),
                S("CompanyCodeCurrency", 5, **RO),
                S("DebitCreditCode", 1, **RO),
                DT("PostingDate", **RO),
                B("IsCompletelyDelivered"),
                B("GoodsMovementIsCancelled", **RO),
                S("ReversedMaterialDocumentYear", 4),
                S("ReversedMaterialDocument", 10),
                S("ReversedMaterialDocumentItem", 4),
                S("MaterialDocumentItemText", 50),
            ),
            (Nav("to_MaterialDocumentHeader", "A_MaterialDocumentHeader", False,
                 _MATDOC, required=True),),
            updatable=False,
        ),
    ),
)

_SI = (("SupplierInvoice", "SupplierInvoice"), ("FiscalYear", "FiscalYear"))
_SUCCESS = (Prop("Success", "Edm.Boolean", nullable=False, creatable=False, updatable=False, label="TRUE"),)
_INVOICE_KEY_PARAMS = (S("SupplierInvoice", 10), S("FiscalYear", 4))

SUPPLIER_INVOICE_SRV = Service(
    "API_SUPPLIERINVOICE_PROCESS_SRV",
    (
        EntityType(
            "A_SupplierInvoiceType",
            "A_SupplierInvoice",
            ("SupplierInvoice", "FiscalYear"),
            (
                Prop("SupplierInvoice", max_length=10, nullable=False, creatable=False, updatable=False),
                Prop("FiscalYear", max_length=4, nullable=False, creatable=False, updatable=False),
                S("CompanyCode", 4),
                DT("DocumentDate"),
                DT("PostingDate"),
                DT("CreationDate", **RO),
                S("SupplierInvoiceIDByInvcgParty", 16),
                S("InvoicingParty", 10),
                S("DocumentCurrency", 5),
                D("InvoiceGrossAmount", 14, 3),
                D("UnplannedDeliveryCost", 14, 3),
                S("DocumentHeaderText", 25),
                D("ManualCashDiscount", 14, 3),
                S("PaymentTerms", 4),
                DT("DueCalculationBaseDate"),
                D("CashDiscount1Percent", 5, 3),
                D("CashDiscount1Days", 3, 0),
                D("NetPaymentDays", 3, 0),
                S("PaymentBlockingReason", 1),
                S("AccountingDocumentType", 2),
                S("SupplierInvoiceStatus", 1, **RO),
                B("IsInvoice"),
                S("SupplierInvoiceOrigin", 1, **RO),
                S("ReverseDocument", 10, **RO),
                S("ReverseDocumentFiscalYear", 4, **RO),
            ),
            (Nav("to_SuplrInvcItemPurOrdRef", "A_SuplrInvcItemPurOrdRef", True, _SI),),
            updatable=False,
        ),
        EntityType(
            "A_SuplrInvcItemPurOrdRefType",
            "A_SuplrInvcItemPurOrdRef",
            ("SupplierInvoice", "FiscalYear", "SupplierInvoiceItem"),
            (
                Prop("SupplierInvoice", max_length=10, nullable=False, creatable=False, updatable=False),
                Prop("FiscalYear", max_length=4, nullable=False, creatable=False, updatable=False),
                K("SupplierInvoiceItem", 6),
                S("PurchaseOrder", 10),
                S("PurchaseOrderItem", 5),
                S("Plant", 4),
                S("ReferenceDocument", 10),
                S("ReferenceDocumentFiscalYear", 4),
                S("ReferenceDocumentItem", 4),
                S("IsSubsequentDebitCredit", 1),
                S("TaxCode", 2),
                S("DocumentCurrency", 5),
                D("SupplierInvoiceItemAmount", 14, 3),
                S("PurchaseOrderQuantityUnit", 3),
                D("QuantityInPurchaseOrderUnit", 13, 3),
                S("PurchaseOrderPriceUnit", 3),
                D("QtyInPurchaseOrderPriceUnit", 13, 3),
                S("SupplierInvoiceItemText", 50),
                B("IsFinallyInvoiced"),
            ),
            updatable=False,
        ),
    ),
    complex_types=(
        ComplexType("PostInvoiceExportParameters", _SUCCESS),
        ComplexType("ReleaseInvoiceExportParameters", _SUCCESS),
    ),
    functions=(
        FunctionImport("Post", "PostInvoiceExportParameters", _INVOICE_KEY_PARAMS),
        FunctionImport("Release", "ReleaseInvoiceExportParameters",
                       (*_INVOICE_KEY_PARAMS, B("DiscountDaysHaveToBeShifted", label="Indicator"))),
    ),
)

SERVICES: dict[str, Service] = {
    svc.name: svc
    for svc in (
        SALES_ORDER_SRV,
        SALES_ORDER_SIMULATION_SRV,
        BUSINESS_PARTNER,
        PRODUCT_SRV,
        PRICING_SRV,
        CREDIT_SRV,
        AR_SRV,
        OUTBOUND_DELIVERY_SRV,
        BILLING_DOCUMENT_SRV,
        PURCHASE_ORDER_SRV,
        MATERIAL_DOCUMENT_SRV,
        SUPPLIER_INVOICE_SRV,
    )
}


def entity_type(service: str, set_name: str) -> EntityType:
    etype = SERVICES[service].entity_set(set_name)
    if etype is None:
        raise KeyError(f"{service}/{set_name}")
    return etype
