"""The sObjects the Salesforce sandbox knows: fields, types, rules, relationships, ids.

Only what the hub touches is declared, but declared the way Salesforce describes it, so the
SOQL engine, the REST views and `describe` all read one source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Field types as `describe` names them.
ID = "id"
STRING = "string"
TEXTAREA = "textarea"
PICKLIST = "picklist"
EMAIL = "email"
PHONE = "phone"
URL = "url"
BOOLEAN = "boolean"
CURRENCY = "currency"
DOUBLE = "double"
PERCENT = "percent"
INT = "int"
DATE = "date"
DATETIME = "datetime"
REFERENCE = "reference"

TEXT_TYPES = frozenset({ID, STRING, TEXTAREA, PICKLIST, EMAIL, PHONE, URL, REFERENCE})
NUMBER_TYPES = frozenset({CURRENCY, DOUBLE, PERCENT, INT})


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool = False  # required on create (REQUIRED_FIELD_MISSING)
    readonly: bool = False  # system or derived: INVALID_FIELD_FOR_INSERT_UPDATE on write
    create_only: bool = False  # writable on create, not on update (e.g. master-detail parent)
    reference_to: str = ""
    relationship_name: str = ""
    length: int = 0
    label: str = ""  # as the org's setup names it; the API name when blank
    # A restricted picklist refuses any other value (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST);
    # an unrestricted one (no values declared here) takes any text.
    picklist_values: tuple[str, ...] = ()

    @property
    def nillable(self) -> bool:
        return not self.required and self.type != BOOLEAN and self.name != "Id"

    @property
    def restricted(self) -> bool:
        return bool(self.picklist_values)

    @property
    def display_label(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class ChildRelationship:
    name: str  # e.g. "OpportunityLineItems"
    child: str  # e.g. "OpportunityLineItem"
    field: str  # e.g. "OpportunityId"


@dataclass
class SObject:
    name: str
    prefix: str
    label: str
    fields: dict[str, Field] = field(default_factory=dict)
    children: dict[str, ChildRelationship] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_lower = {name.lower(): f for name, f in self.fields.items()}
        self._rel_by_lower = {f.relationship_name.lower(): f for f in self.fields.values() if f.relationship_name}
        self._children_by_lower: dict[str, ChildRelationship] = {}

    def add_child(self, rel: ChildRelationship) -> None:
        self.children[rel.name] = rel
        self._children_by_lower[rel.name.lower()] = rel

    def field(self, name: str) -> Field | None:
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> Field | None:
        return self._rel_by_lower.get(name.lower())

    def child(self, name: str) -> ChildRelationship | None:
        return self._children_by_lower.get(name.lower())


def _system_fields() -> list[Field]:
    return [
        Field("Id", ID, readonly=True),
        Field("IsDeleted", BOOLEAN, readonly=True),
        Field("CreatedDate", DATETIME, readonly=True),
        Field("CreatedById", REFERENCE, readonly=True, reference_to="User", relationship_name="CreatedBy"),
        Field("LastModifiedDate", DATETIME, readonly=True),
        Field("LastModifiedById", REFERENCE, readonly=True, reference_to="User", relationship_name="LastModifiedBy"),
        Field("SystemModstamp", DATETIME, readonly=True),
    ]


def _address(prefix: str) -> list[Field]:
    return [
        Field(f"{prefix}Street", TEXTAREA),
        Field(f"{prefix}City", STRING, length=40),
        Field(f"{prefix}State", STRING, length=80),
        Field(f"{prefix}PostalCode", STRING, length=20),
        Field(f"{prefix}Country", STRING, length=80),
    ]


def _owner() -> Field:
    return Field("OwnerId", REFERENCE, reference_to="User", relationship_name="Owner")


def _declare(name: str, prefix: str, label: str, fields: list[Field]) -> SObject:
    all_fields = _system_fields() + fields
    return SObject(name=name, prefix=prefix, label=label, fields={f.name: f for f in all_fields})


SOBJECTS: dict[str, SObject] = {}

# The back-flow's write-back fields (ERP -> CRM status; WIRE-ERP.md §5.1 recommends custom fields
# because Opportunity and Account have no standard invoice, payment or credit fields).
OPPORTUNITY_ERP_FIELDS = (
    Field("ERP_Order_Status__c", PICKLIST, label="ERP Order Status", picklist_values=(
        "Open", "In Process", "Completed", "Credit Hold", "Delivery Block", "Cancelled")),
    Field("ERP_Delivery_Status__c", PICKLIST, label="ERP Delivery Status", picklist_values=(
        "Not Delivered", "Partially Delivered", "Delivered")),
    Field("ERP_Invoice_Number__c", STRING, label="ERP Invoice Number", length=255),
    Field("ERP_Invoice_Status__c", PICKLIST, label="ERP Invoice Status", picklist_values=(
        "Not Invoiced", "Open", "Partially Paid", "Paid", "Overdue", "Cancelled")),
    Field("ERP_Amount_Invoiced__c", CURRENCY, label="ERP Amount Invoiced"),
    Field("ERP_Amount_Paid__c", CURRENCY, label="ERP Amount Paid"),
    Field("ERP_Last_Synced__c", DATETIME, label="ERP Last Synced"),
    # Which ERP the deal's order goes to (blank: the hub's rules decide) and that order's number there.
    Field("ERP_Target__c", PICKLIST, label="ERP Target", picklist_values=("s4hana", "netsuite")),
    Field("ERP_Order_Number__c", STRING, label="ERP Order Number", length=40),
)
ACCOUNT_ERP_FIELDS = (
    Field("ERP_Credit_Status__c", PICKLIST, label="ERP Credit Status", picklist_values=("OK", "Blocked")),
    Field("ERP_Open_AR__c", CURRENCY, label="ERP Open AR"),
    Field("ERP_Days_Past_Due__c", DOUBLE, label="ERP Days Past Due"),
)


def _register(obj: SObject) -> None:
    SOBJECTS[obj.name] = obj


_register(_declare("User", "005", "User", [
    Field("Username", STRING, required=True, length=80),
    Field("FirstName", STRING, length=40),
    Field("LastName", STRING, required=True, length=80),
    Field("Name", STRING, readonly=True),
    Field("Email", EMAIL, required=True),
    Field("Alias", STRING, length=8),
    Field("Title", STRING, length=80),
    Field("IsActive", BOOLEAN),
]))
_register(_declare("Account", "001", "Account", [
    Field("Name", STRING, required=True, length=255),
    Field("AccountNumber", STRING, length=40),
    Field("Type", PICKLIST),
    Field("Industry", PICKLIST),
    Field("Phone", PHONE),
    Field("Website", URL),
    Field("Description", TEXTAREA),
    Field("ParentId", REFERENCE, reference_to="Account", relationship_name="Parent"),
    _owner(),
    *_address("Billing"),
    *_address("Shipping"),
    Field("AnnualRevenue", CURRENCY),
    Field("NumberOfEmployees", INT),
    Field("Tax_ID__c", STRING, length=30),
    Field("DUNS__c", STRING, length=20),
    Field("Payment_Terms__c", PICKLIST),
    *ACCOUNT_ERP_FIELDS,
]))
_register(_declare("Contact", "003", "Contact", [
    Field("FirstName", STRING, length=40),
    Field("LastName", STRING, required=True, length=80),
    Field("Name", STRING, readonly=True),
    Field("AccountId", REFERENCE, reference_to="Account", relationship_name="Account"),
    Field("Email", EMAIL),
    Field("Phone", PHONE),
    Field("MobilePhone", PHONE),
    Field("Title", STRING, length=128),
    *_address("Mailing"),
    _owner(),
]))
_register(_declare("Product2", "01t", "Product", [
    Field("Name", STRING, required=True, length=255),
    Field("ProductCode", STRING, length=255),
    Field("IsActive", BOOLEAN),
    Field("Family", PICKLIST),
    Field("Description", TEXTAREA),
    Field("QuantityUnitOfMeasure", PICKLIST),
    Field("StockKeepingUnit", STRING, length=180),
]))
_register(_declare("Pricebook2", "01s", "Price Book", [
    Field("Name", STRING, required=True, length=255),
    Field("IsActive", BOOLEAN),
    Field("IsStandard", BOOLEAN, readonly=True),
    Field("Description", STRING, length=255),
]))
_register(_declare("PricebookEntry", "01u", "Price Book Entry", [
    Field("Name", STRING, readonly=True),
    Field("Pricebook2Id", REFERENCE, required=True, create_only=True, reference_to="Pricebook2",
          relationship_name="Pricebook2"),
    Field("Product2Id", REFERENCE, required=True, create_only=True, reference_to="Product2",
          relationship_name="Product2"),
    Field("ProductCode", STRING, readonly=True),
    Field("UnitPrice", CURRENCY, required=True),
    Field("IsActive", BOOLEAN),
    Field("UseStandardPrice", BOOLEAN),
]))
_register(_declare("Opportunity", "006", "Opportunity", [
    Field("Name", STRING, required=True, length=120),
    Field("AccountId", REFERENCE, reference_to="Account", relationship_name="Account"),
    Field("StageName", PICKLIST, required=True),
    Field("Amount", CURRENCY),
    Field("CloseDate", DATE, required=True),
    Field("Probability", PERCENT),
    Field("IsWon", BOOLEAN, readonly=True),
    Field("IsClosed", BOOLEAN, readonly=True),
    Field("ForecastCategoryName", PICKLIST),
    Field("Type", PICKLIST),
    Field("LeadSource", PICKLIST),
    Field("Description", TEXTAREA),
    Field("NextStep", STRING, length=255),
    _owner(),
    Field("CurrencyIsoCode", PICKLIST),
    Field("Pricebook2Id", REFERENCE, reference_to="Pricebook2", relationship_name="Pricebook2"),
    Field("ContractId", REFERENCE, reference_to="Contract", relationship_name="Contract"),
    Field("HasOpportunityLineItem", BOOLEAN, readonly=True),
    Field("TotalOpportunityQuantity", DOUBLE, readonly=True),
    Field("Payment_Terms__c", PICKLIST),
    Field("Contract_Reference__c", STRING, length=80),
    Field("SAP_Sales_Order__c", STRING, length=20),
    Field("ERP_Sync_Status__c", PICKLIST),
    Field("ERP_Hold_Reason__c", TEXTAREA),
    *OPPORTUNITY_ERP_FIELDS,
]))
_register(_declare("OpportunityLineItem", "00k", "Opportunity Product", [
    Field("OpportunityId", REFERENCE, required=True, create_only=True, reference_to="Opportunity",
          relationship_name="Opportunity"),
    Field("PricebookEntryId", REFERENCE, create_only=True, reference_to="PricebookEntry",
          relationship_name="PricebookEntry"),
    Field("Product2Id", REFERENCE, create_only=True, reference_to="Product2", relationship_name="Product2"),
    Field("ProductCode", STRING, readonly=True),
    Field("Name", STRING, readonly=True),
    Field("Quantity", DOUBLE, required=True),
    Field("UnitPrice", CURRENCY),
    Field("TotalPrice", CURRENCY),
    Field("ListPrice", CURRENCY, readonly=True),
    Field("Discount", PERCENT),
    Field("ServiceDate", DATE),
    Field("Description", STRING, length=255),
    Field("SortOrder", INT),
]))
_register(_declare("OpportunityContactRole", "00K", "Opportunity Contact Role", [
    Field("OpportunityId", REFERENCE, required=True, create_only=True, reference_to="Opportunity",
          relationship_name="Opportunity"),
    Field("ContactId", REFERENCE, required=True, reference_to="Contact", relationship_name="Contact"),
    Field("Role", PICKLIST),
    Field("IsPrimary", BOOLEAN),
]))

for _parent, _rel in [
    ("Opportunity", ChildRelationship("OpportunityLineItems", "OpportunityLineItem", "OpportunityId")),
    ("Opportunity", ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "OpportunityId")),
    ("Account", ChildRelationship("Contacts", "Contact", "AccountId")),
    ("Account", ChildRelationship("Opportunities", "Opportunity", "AccountId")),
    ("Account", ChildRelationship("ChildAccounts", "Account", "ParentId")),
    ("Product2", ChildRelationship("PricebookEntries", "PricebookEntry", "Product2Id")),
    ("Pricebook2", ChildRelationship("PricebookEntries", "PricebookEntry", "Pricebook2Id")),
    ("PricebookEntry", ChildRelationship("OpportunityLineItems", "OpportunityLineItem", "PricebookEntryId")),
    ("Contact", ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "ContactId")),
]:
    SOBJECTS[_parent].add_child(_rel)

_BY_LOWER = {name.lower(): obj for name, obj in SOBJECTS.items()}
_BY_PREFIX = {obj.prefix: obj for obj in SOBJECTS.values()}

CLOSED_WON = "Closed Won"
CLOSED_STAGES = {"Closed Won": True, "Closed Lost": False}  # stage -> IsWon
STAGE_PROBABILITY = {
    "Prospecting": 10.0, "Qualification": 10.0, "Needs Analysis": 20.0, "Value Proposition": 50.0,
    "Id. Decision Makers": 60.0, "Perception Analysis": 70.0, "Proposal/Price Quote": 75.0,
    "Negotiation/Review": 90.0, "Closed Won": 100.0, "Closed Lost": 0.0,
}


def sobject(name: str) -> SObject | None:
    return _BY_LOWER.get(name.lower())


def sobject_for_id(record_id: str) -> SObject | None:
    return _BY_PREFIX.get(record_id[:3])


# -- ids ---------------------------------------------------------------------------------------
def id_suffix(id15: str) -> str:
    """The 3-character case-insensitivity checksum Salesforce appends to a 15-character id."""
    out = ""
    for i in range(3):
        flags = sum(1 << j for j in range(5) if "A" <= id15[i * 5 + j] <= "Z")
        out += _ALPHABET[flags]
    return out


def to18(id15: str) -> str:
    return id15 + id_suffix(id15)


def make_id(prefix: str, number: int) -> str:
    """A deterministic 18-character id: key prefix, a fixed pod marker, base62 sequence."""
    digits = ""
    while number:
        number, rem = divmod(number, 62)
        digits = _BASE62[rem] + digits
    body = "5g" + digits.rjust(10, "0")
    if len(body) != 12:
        raise ValueError("id sequence exhausted")
    return to18(prefix + body)


def normalize_id(value: object) -> str | None:
    """The canonical 18-character form of a 15- or 18-character id, or None when malformed.

    An 18-character id is case-insensitive: its suffix says which of the first 15 characters
    are upper case, so the original casing is recovered from it.
    """
    if not isinstance(value, str) or len(value) not in (15, 18) or not value.isalnum():
        return None
    if len(value) == 15:
        return to18(value)
    suffix = value[15:].upper()
    if any(ch not in _ALPHABET for ch in suffix):
        return None
    chars = list(value[:15])
    for i, ch in enumerate(suffix):
        flags = _ALPHABET.index(ch)
        for j in range(5):
            pos = i * 5 + j
            chars[pos] = chars[pos].upper() if flags & (1 << j) else chars[pos].lower()
    id15 = "".join(chars)
    if id_suffix(id15) != suffix:
        return None
    return id15 + suffix


# -- wire formats ------------------------------------------------------------------------------
def format_datetime(value: datetime) -> str:
    """`2024-05-31T14:02:11.000+0000`, always in UTC like the REST API."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime | None:
    """Accept the REST format, ISO 8601 with Z or an offset, with or without milliseconds."""
    raw = text.strip()
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    if len(raw) >= 5 and raw[-5] in "+-" and raw[-4:].isdigit() and ":" not in raw[-5:]:
        raw = raw[:-2] + ":" + raw[-2:]
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
    except ValueError:
        return None
