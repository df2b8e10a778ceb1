"""The Salesforce adapter of the CRM port, over `connectors/salesforce.py` (simple-salesforce).

Every SOQL query, sObject and field name of the engine lives here: the extract of a deal (one
round trip: Opportunity, Account, line items, contact roles) and its mapping to the canonical
deal, the deal owner, the poll by SystemModstamp and the write-back fields
(`SAP_Sales_Order__c` and `ERP_Order_Number__c`, `ERP_Sync_Status__c`, `ERP_Hold_Reason__c`; the
deal's `ERP_Target__c` is read with it), and the ERP back-flow
fields written in batches through sObject Collections (Opportunity `ERP_Order_Status__c` …
`ERP_Last_Synced__c`, Account `ERP_Credit_Status__c`, `ERP_Open_AR__c`, `ERP_Days_Past_Due__c`).
An expired session is re-authenticated once and the call sent again, noted on the attempt it
followed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.utils.dateparse import parse_datetime

from integration_hub.canonical import CanonicalDeal, Derivation, LineItem, Location, Organization, Person
from integration_hub.connectors.salesforce import SalesforceClient
from integration_hub.crm.base import (
    ChangedDeal,
    CrmDeal,
    DealOwner,
    DealSummary,
    DealSyncStatus,
    StatusUpdate,
    WriteOutcome,
)
from integration_hub.errors import SessionExpired
from integration_hub.recording import heal

T = TypeVar("T")

OPPORTUNITY_FIELDS = (
    "Id", "Name", "StageName", "IsWon", "Amount", "CloseDate", "Payment_Terms__c", "Contract_Reference__c",
    "SystemModstamp", "OwnerId", "Owner.Email", "Owner.Name", "AccountId", "Account.Name", "Account.Tax_ID__c", "Account.DUNS__c",
    "Account.Payment_Terms__c", "Account.ShippingStreet", "Account.ShippingCity", "Account.ShippingState",
    "Account.ShippingPostalCode", "Account.ShippingCountry", "Account.BillingStreet", "Account.BillingCity",
    "Account.BillingState", "Account.BillingPostalCode", "Account.BillingCountry", "ERP_Target__c",
)
LINE_FIELDS = (
    "Id", "Quantity", "UnitPrice", "ListPrice", "Discount", "TotalPrice", "Product2Id",
    "Product2.ProductCode", "Product2.Name", "Product2.QuantityUnitOfMeasure",
)
CONTACT_ROLE_FIELDS = ("ContactId", "IsPrimary", "Role", "Contact.FirstName", "Contact.LastName", "Contact.Email")


def _soql_id(value: str) -> str:
    if not value.isalnum() or len(value) not in (15, 18):
        raise ValueError(f"not a Salesforce id: {value!r}")
    return value


def extract_soql(opportunity_id: str) -> str:
    """One round trip: the Opportunity, its Account, its line items and contact roles."""
    return (
        f"SELECT {', '.join(OPPORTUNITY_FIELDS)}, "
        f"(SELECT {', '.join(LINE_FIELDS)} FROM OpportunityLineItems), "
        f"(SELECT {', '.join(CONTACT_ROLE_FIELDS)} FROM OpportunityContactRoles) "
        f"FROM Opportunity WHERE Id = '{_soql_id(opportunity_id)}'"
    )


def _decimal(value: Any, default: str = "0") -> Decimal:
    if value is None or value == "":
        return Decimal(default)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(default)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _children(record: dict[str, Any], name: str) -> list[dict[str, Any]]:
    child = record.get(name)
    if not child:
        return []
    return list(child.get("records") or [])


def _address(account: dict[str, Any], kind: str) -> Location:
    """The account's `Shipping*` or `Billing*` compound address."""
    return Location(street=_text(account.get(f"{kind}Street")), city=_text(account.get(f"{kind}City")),
                    region=_text(account.get(f"{kind}State")), postal_code=_text(account.get(f"{kind}PostalCode")),
                    country=_text(account.get(f"{kind}Country")))


def deal_from_salesforce(record: dict[str, Any], *, org_id: str, currency: str) -> tuple[CanonicalDeal, list[Derivation]]:
    """Map one Opportunity query record to the canonical deal, logging each derivation."""
    log: list[Derivation] = []
    account = record.get("Account") or {}

    def note(path: str, source: Any, result: Any, rule: str, confidence: float = 1.0) -> None:
        log.append(Derivation(path, _text(source), _text(result), rule, confidence))

    organization = Organization(
        name=_text(account.get("Name")),
        crm_account_id=_text(record.get("AccountId")),
        tax_id=_text(account.get("Tax_ID__c")),
        duns=_text(account.get("DUNS__c")),
        billing_country=_text(account.get("BillingCountry")),
    )
    note("entity.organization.name", account.get("Name"), organization.name, "Account.Name copied")

    # Ship-to: the shipping address; the billing address stands in only when shipping is empty.
    ship_to = _address(account, "Shipping")
    rule = "Account.Shipping* copied"
    if not ship_to.is_complete and account.get("BillingStreet"):
        ship_to = _address(account, "Billing")
        rule = "shipping address empty: Account.Billing* used"
    note(
        "entity.location.ship_to",
        account.get("ShippingStreet") or account.get("BillingStreet"),
        ", ".join(p for p in (ship_to.street, ship_to.postal_code, ship_to.city, ship_to.country) if p),
        rule,
        1.0 if rule.startswith("Account.Shipping") else 0.8,
    )

    contact = Person()
    roles = _children(record, "OpportunityContactRoles")
    primary = next((r for r in roles if r.get("IsPrimary")), roles[0] if roles else None)
    if primary:
        c = primary.get("Contact") or {}
        contact = Person(
            crm_contact_id=_text(primary.get("ContactId")),
            name=" ".join(p for p in (_text(c.get("FirstName")), _text(c.get("LastName"))) if p),
            email=_text(c.get("Email")),
        )
        note("entity.person.primary_contact", primary.get("ContactId"), contact.email or contact.name,
             "primary contact role" if primary.get("IsPrimary") else "first contact role (none primary)",
             1.0 if primary.get("IsPrimary") else 0.8)

    terms_source = "Opportunity.Payment_Terms__c"
    terms = _text(record.get("Payment_Terms__c"))
    if not terms:
        terms = _text(account.get("Payment_Terms__c"))
        terms_source = "Account.Payment_Terms__c (opportunity had none)"
    if terms:
        note("transaction.payment.terms", terms, terms, terms_source)

    lines: list[LineItem] = []
    for item in _children(record, "OpportunityLineItems"):
        product = item.get("Product2") or {}
        quantity = _decimal(item.get("Quantity"))
        unit_price = _decimal(item.get("UnitPrice"))
        discount = _decimal(item.get("Discount"))
        total = item.get("TotalPrice")
        total_price = _decimal(total) if total is not None else (quantity * unit_price * (1 - discount / 100))
        line = LineItem(
            crm_line_id=_text(item.get("Id")),
            product_code=_text(product.get("ProductCode")),
            description=_text(product.get("Name")),
            quantity=quantity,
            unit_price=unit_price,
            discount_percent=discount,
            total_price=total_price.quantize(Decimal("0.01")),
            crm_unit=_text(product.get("QuantityUnitOfMeasure")),
        )
        lines.append(line)
        note(f"transaction.line_item[{line.crm_line_id}].description", product.get("Name"), line.description,
             "Product2.Name copied")

    closed = record.get("CloseDate")
    deal = CanonicalDeal(
        org_id=org_id,
        opportunity_id=_text(record.get("Id")),
        name=_text(record.get("Name")),
        stage=_text(record.get("StageName")),
        amount=_decimal(record.get("Amount")) if record.get("Amount") is not None else None,
        currency=currency,
        closed_date=date.fromisoformat(closed) if closed else None,
        organization=organization,
        ship_to=ship_to,
        primary_contact=contact,
        lines=lines,
        payment_terms_crm=terms,
        contract_reference=_text(record.get("Contract_Reference__c")),
        owner_email=_text((record.get("Owner") or {}).get("Email")),
        owner_name=_text((record.get("Owner") or {}).get("Name")),
        erp_target_requested=_text(record.get("ERP_Target__c")).lower(),
    )
    if deal.closed_date:
        note("transaction.dates.closed", closed, deal.closed_date, "CloseDate copied")
    for entry in log:
        deal.confidence[entry.field] = entry.confidence
    return deal, log


SUMMARY_FIELDS = ("Id", "StageName", "IsWon", "Amount", "CloseDate")
SUMMARY_CHUNK = 200  # ids per query: keeps the SOQL well under its length limit


def _quoted(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)


def deal_summary(record: dict[str, Any]) -> DealSummary:
    closed = record.get("CloseDate")
    return DealSummary(deal_id=_text(record.get("Id")), stage=_text(record.get("StageName")),
                       is_won=bool(record.get("IsWon")),
                       amount=_decimal(record.get("Amount")) if record.get("Amount") is not None else None,
                       close_date=date.fromisoformat(str(closed)[:10]) if closed else None)


def _synced(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z") if moment else None


def sync_fields(sync: DealSyncStatus) -> dict[str, Any]:
    """The Opportunity fields of the hub's outcome for a deal (one write or a batch's record)."""
    fields: dict[str, Any] = {}
    if sync.order_number:
        # SAP_Sales_Order__c predates other ERPs: it stays the S/4 number; every ERP's goes to ERP_Order_Number__c.
        if sync.erp_target == "s4hana":
            fields["SAP_Sales_Order__c"] = sync.order_number
        fields["ERP_Order_Number__c"] = sync.order_number
    fields["ERP_Sync_Status__c"] = sync.status
    fields["ERP_Hold_Reason__c"] = sync.hold_reason[:255] or None
    return fields


def status_record(update: StatusUpdate) -> dict[str, Any]:
    """One sObject Collections record: a deal's hub outcome, its ERP status, or an account's standing."""
    if update.sync is not None:
        return {"attributes": {"type": "Opportunity"}, "id": update.record_id, **sync_fields(update.sync)}
    if update.deal is not None:
        deal = update.deal
        return {
            "attributes": {"type": "Opportunity"}, "id": update.record_id,
            "ERP_Order_Status__c": deal.order_status, "ERP_Delivery_Status__c": deal.delivery_status,
            "ERP_Invoice_Number__c": deal.invoice_number or None, "ERP_Invoice_Status__c": deal.invoice_status,
            "ERP_Amount_Invoiced__c": float(deal.amount_invoiced), "ERP_Amount_Paid__c": float(deal.amount_paid),
            "ERP_Last_Synced__c": _synced(update.synced_at),
        }
    if update.account is not None:
        account = update.account
        return {
            "attributes": {"type": "Account"}, "id": update.record_id,
            "ERP_Credit_Status__c": account.credit_status, "ERP_Open_AR__c": float(account.open_ar),
            "ERP_Days_Past_Due__c": account.days_past_due,
        }
    raise ValueError(f"status update for {update.record_id} carries neither a deal status nor an account standing")


def write_outcome(update: StatusUpdate, result: dict[str, Any]) -> WriteOutcome:
    """A SaveResult read by position: a failed one may lack its id (MALFORMED_ID)."""
    errors = tuple({"code": str(e.get("statusCode") or ""), "message": str(e.get("message") or ""),
                    "fields": list(e.get("fields") or [])} for e in result.get("errors") or [])
    return WriteOutcome(record_id=update.record_id, ok=bool(result.get("success")), errors=errors)


class SalesforceCrm:
    """`CrmPort` over one Salesforce org."""

    system = "salesforce"

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client

    def _call(self, call: Callable[[SalesforceClient], T]) -> T:
        try:
            return call(self.client)
        except SessionExpired:
            heal("Salesforce session expired: authenticated again and resent the request")
            self.client.reauthenticate()
            return call(self.client)

    def deal_read(self, deal_id: str, *, org_id: str, currency: str) -> CrmDeal | None:
        records = self._call(lambda sf: sf.query_all(extract_soql(deal_id)))
        if not records:
            return None
        record = records[0]
        deal, derivations = deal_from_salesforce(record, org_id=org_id, currency=currency)
        return CrmDeal(stage=_text(record.get("StageName")), is_won=bool(record.get("IsWon")), deal=deal,
                       derivations=derivations)

    def deal_owner(self, deal_id: str) -> DealOwner:
        rows = self._call(lambda sf: sf.query_all(
            f"SELECT OwnerId, Owner.Email, Owner.Name FROM Opportunity WHERE Id = '{_soql_id(deal_id)}'"))
        owner = (rows[0].get("Owner") or {}) if rows else {}
        return DealOwner(email=_text(owner.get("Email")), name=_text(owner.get("Name")))

    def deal_status_write(self, deal_id: str, *, status: str, hold_reason: str = "",
                          order_number: str | None = None, erp_target: str = "s4hana") -> None:
        fields = sync_fields(DealSyncStatus(status=status, order_number=order_number or "", hold_reason=hold_reason,
                                            erp_target=erp_target))
        self._call(lambda sf: sf.update("Opportunity", deal_id, fields))

    def deal_statuses_write(self, updates: list[StatusUpdate]) -> list[WriteOutcome]:
        if not updates:
            return []
        records = [status_record(u) for u in updates]
        results = self._call(lambda sf: sf.update_collection(records, all_or_none=False))
        return [write_outcome(u, r) for u, r in zip(updates, results, strict=True)]

    def closed_won_changed(self, *, since: datetime, stages: Iterable[str], limit: int = 2000) -> list[ChangedDeal]:
        quoted = _quoted(stages)
        soql = (
            f"SELECT Id, SystemModstamp FROM Opportunity WHERE StageName IN ({quoted}) "
            f"AND SystemModstamp >= {since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')} "
            f"ORDER BY SystemModstamp ASC LIMIT {int(limit)}"
        )
        records = self._call(lambda sf: sf.query_all(soql))
        return [ChangedDeal(deal_id=str(r["Id"]),
                            changed_at=parse_datetime(str(r.get("SystemModstamp", "")).replace("+0000", "+00:00")))
                for r in records]

    def closed_won_between(self, *, start: date, end: date, stages: Iterable[str], after: str = "",
                           limit: int = 200) -> list[DealSummary]:
        soql = (
            f"SELECT {', '.join(SUMMARY_FIELDS)} FROM Opportunity WHERE StageName IN ({_quoted(stages)}) "
            f"AND CloseDate >= {start.isoformat()} AND CloseDate <= {end.isoformat()}"
            + (f" AND Id > '{_soql_id(after)}'" if after else "")
            + f" ORDER BY Id ASC LIMIT {int(limit)}"
        )
        return [deal_summary(r) for r in self._call(lambda sf: sf.query_all(soql))]

    def _query(self, soql: str) -> list[dict[str, Any]]:
        return list(self._call(lambda sf: sf.query_all(soql)))

    def deals_summary(self, deal_ids: list[str]) -> list[DealSummary]:
        found: list[DealSummary] = []
        ids = sorted({_soql_id(i) for i in deal_ids})
        for start in range(0, len(ids), SUMMARY_CHUNK):
            quoted = ", ".join(f"'{i}'" for i in ids[start:start + SUMMARY_CHUNK])
            soql = f"SELECT {', '.join(SUMMARY_FIELDS)} FROM Opportunity WHERE Id IN ({quoted}) ORDER BY Id ASC"
            found += [deal_summary(r) for r in self._query(soql)]
        return found

    def close(self) -> None:
        self.client.close()
