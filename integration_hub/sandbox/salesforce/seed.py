"""Seed the Salesforce sandbox from the shared catalogue (integration_hub.sandbox.catalog).

Bulk inserts, one transaction, idempotent: a second run finds the standard price book and
creates nothing. On an empty database the ids are the same on every run.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from integration_hub.sandbox import catalog
from integration_hub.sandbox.salesforce import schema
from integration_hub.sandbox.salesforce.models import (
    SfApiUsage,
    SfIdSequence,
    SfOutboundMessage,
    SfQueryCursor,
    SfRecord,
)
from integration_hub.sandbox.salesforce.store import INTEGRATION_USER_ID, allocate_ids

OPEN_STAGES = ["Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Proposal/Price Quote",
               "Negotiation/Review"]
OPPORTUNITY_COUNT = 60
_USERS = [
    ("Integration", "User", "Integration"),
    ("Sofia", "Ramirez", "Account Executive"),
    ("Marcus", "Lee", "Account Executive"),
    ("Priya", "Shah", "Sales Manager"),
    ("Tom", "Becker", "Sales Operations"),
]
_ROLES = ["Decision Maker", "Economic Buyer", "Evaluator", "Technical Buyer"]
SEEDED_TYPES = ["User", "Pricebook2", "Product2", "PricebookEntry", "Account", "Contact", "Opportunity",
                "OpportunityLineItem", "OpportunityContactRole"]


class _Batch:
    """Rows waiting for one bulk_create, with the system fields Salesforce would set."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.stamp = schema.format_datetime(now)
        self.rows: list[SfRecord] = []

    def add(self, sobject: str, record_id: str, values: dict[str, Any]) -> dict[str, Any]:
        obj = schema.SOBJECTS[sobject]
        fields: dict[str, Any] = {name: None for name in obj.fields}
        fields.update(values)
        fields.update({
            "Id": record_id, "IsDeleted": False, "CreatedDate": self.stamp, "LastModifiedDate": self.stamp,
            "SystemModstamp": self.stamp, "CreatedById": INTEGRATION_USER_ID,
            "LastModifiedById": INTEGRATION_USER_ID,
        })
        if "OwnerId" in obj.fields and not fields.get("OwnerId"):
            fields["OwnerId"] = INTEGRATION_USER_ID
        self.rows.append(SfRecord(sobject=sobject, record_id=record_id, fields=fields,
                                  created_date=self.now, system_modstamp=self.now))
        return fields


def reset_all() -> None:
    """Forget every record, id, cursor and queued message of the Salesforce sandbox."""
    for model in (SfRecord, SfIdSequence, SfQueryCursor, SfOutboundMessage, SfApiUsage):
        model.objects.all().delete()


def _counts() -> dict[str, int]:
    return {name: SfRecord.objects.filter(sobject=name, is_deleted=False).count() for name in SEEDED_TYPES}


@transaction.atomic
def seed(*, reset: bool = False, today: date | None = None) -> dict[str, int]:
    """Load the catalogue into the sandbox; returns record counts per sObject (plus `created`)."""
    if reset:
        reset_all()
    already = SfRecord.objects.filter(sobject="Pricebook2", fields__IsStandard=True).exists()
    if already:
        return {**_counts(), "created": 0}
    now = timezone.now()
    today = today or now.date()
    batch = _Batch(now)
    rng = random.Random(catalog.SEED + 7)

    # Users: the integration user keeps its well-known id, whatever the sequence says.
    SfIdSequence.objects.get_or_create(prefix="005")
    SfIdSequence.objects.filter(prefix="005", last__lt=1).update(last=1)
    user_ids = [INTEGRATION_USER_ID] if not SfRecord.objects.filter(record_id=INTEGRATION_USER_ID).exists() else []
    user_ids += allocate_ids("005", len(_USERS) - len(user_ids))
    for user_id, (first, last, title) in zip(user_ids, _USERS[-len(user_ids):], strict=True):
        alias = (first[0] + last)[:8].lower()
        batch.add("User", user_id, {
            "Username": f"{alias}@sandbox.example.com", "FirstName": first, "LastName": last,
            "Name": f"{first} {last}", "Email": f"{alias}@sandbox.example.com", "Alias": alias,
            "Title": title, "IsActive": True,
        })
    reps = user_ids[1:] or [INTEGRATION_USER_ID]

    book_id, = allocate_ids("01s")
    batch.add("Pricebook2", book_id, {"Name": "Standard Price Book", "IsActive": True, "IsStandard": True,
                                      "Description": "Standard prices"})

    products = catalog.products()
    product_ids = allocate_ids("01t", len(products))
    entry_ids = allocate_ids("01u", len(products))
    entries: list[dict[str, Any]] = []
    for product, product_id, entry_id in zip(products, product_ids, entry_ids, strict=True):
        batch.add("Product2", product_id, {
            "Name": product.name, "ProductCode": product.code, "IsActive": True, "Family": product.family,
            "QuantityUnitOfMeasure": product.unit, "Description": f"{product.family}: {product.name}",
        })
        entries.append(batch.add("PricebookEntry", entry_id, {
            "Name": product.name, "Pricebook2Id": book_id, "Product2Id": product_id,
            "ProductCode": product.code, "UnitPrice": float(product.list_price), "IsActive": True,
            "UseStandardPrice": False,
        }))

    companies = catalog.companies()
    account_ids = allocate_ids("001", len(companies))
    contact_ids = allocate_ids("003", sum(len(c.contacts) for c in companies))
    contacts_by_account: dict[str, list[str]] = {}
    terms_by_account: dict[str, str] = {}
    contact_iter = iter(contact_ids)
    for index, (company, account_id) in enumerate(zip(companies, account_ids, strict=True)):
        address = {"Street": company.crm_street, "City": company.city, "State": company.region or None,
                   "PostalCode": company.crm_postal_code, "Country": company.country}
        terms = catalog.PAYMENT_TERMS[company.payment_terms]
        terms_by_account[account_id] = terms
        values: dict[str, Any] = {
            "Name": company.crm_name, "Industry": company.industry, "Phone": company.phone,
            "Website": company.website, "Type": "Customer" if company.in_sap else "Prospect",
            "Payment_Terms__c": terms, "OwnerId": reps[index % len(reps)],
            **{f"Billing{k}": v for k, v in address.items()},
            **{f"Shipping{k}": v for k, v in address.items()},
        }
        if company.crm_has_tax_id:
            values["Tax_ID__c"] = company.tax_id
            values["DUNS__c"] = company.duns
        batch.add("Account", account_id, values)
        for contact in company.contacts:
            contact_id = next(contact_iter)
            contacts_by_account.setdefault(account_id, []).append(contact_id)
            batch.add("Contact", contact_id, {
                "FirstName": contact.first_name, "LastName": contact.last_name,
                "Name": f"{contact.first_name} {contact.last_name}", "AccountId": account_id,
                "Email": contact.email, "Phone": contact.phone, "Title": contact.title,
                "MailingStreet": company.crm_street, "MailingCity": company.city,
                "MailingPostalCode": company.crm_postal_code, "MailingCountry": company.country,
            })

    # Open deals only: the demo closes them, which is what starts a handoff.
    opp_ids = allocate_ids("006", OPPORTUNITY_COUNT)
    plans = []
    for n, opp_id in enumerate(opp_ids):
        account_index = (n * 7) % len(companies)
        lines = [(rng.choice(entries), rng.choice([1, 1, 2, 3, 5, 10, 25]),
                  rng.choice([0, 0, 0, 5, 10, 15])) for _ in range(rng.randint(1, 4))]
        plans.append((opp_id, account_index, lines))
    line_ids = iter(allocate_ids("00k", sum(len(p[2]) for p in plans)))
    role_ids = iter(allocate_ids("00K", len(plans)))
    for n, (opp_id, account_index, lines) in enumerate(plans):
        company = companies[account_index]
        account_id = account_ids[account_index]
        stage = OPEN_STAGES[n % len(OPEN_STAGES)]
        line_fields = []
        for sort_order, (entry, quantity, discount) in enumerate(lines, start=1):
            unit = float(entry["UnitPrice"])
            total = round(quantity * unit * (1 - discount / 100), 2)
            line_fields.append(("OpportunityLineItem", next(line_ids), {
                "OpportunityId": opp_id, "PricebookEntryId": entry["Id"], "Product2Id": entry["Product2Id"],
                "ProductCode": entry["ProductCode"], "Name": entry["Name"], "Quantity": float(quantity),
                "UnitPrice": unit, "ListPrice": unit, "Discount": float(discount) or None, "TotalPrice": total,
                "SortOrder": sort_order,
            }))
        batch.add("Opportunity", opp_id, {
            "Name": f"{company.crm_name} - {lines[0][0]['Name']}"[:120], "AccountId": account_id,
            "StageName": stage, "CloseDate": (today + timedelta(days=7 + 3 * n)).isoformat(),
            "Probability": schema.STAGE_PROBABILITY[stage], "IsWon": False, "IsClosed": False,
            "ForecastCategoryName": "Pipeline", "Type": "New Business" if n % 3 else "Existing Business",
            "LeadSource": ["Web", "Partner Referral", "Trade Show", "Phone Inquiry"][n % 4],
            "OwnerId": reps[n % len(reps)], "Pricebook2Id": book_id, "CurrencyIsoCode": "USD",
            "HasOpportunityLineItem": True,
            "Amount": round(sum(f[2]["TotalPrice"] for f in line_fields), 2),
            "TotalOpportunityQuantity": sum(f[2]["Quantity"] for f in line_fields),
            "Payment_Terms__c": terms_by_account[account_id],
            "Contract_Reference__c": f"MSA-{2024 + n % 3}-{1000 + n}" if n % 4 == 0 else None,
            "ERP_Sync_Status__c": "Not Synced",
        })
        for sobject, line_id, values in line_fields:
            batch.add(sobject, line_id, values)
        contact_id = contacts_by_account[account_id][0]
        batch.add("OpportunityContactRole", next(role_ids), {
            "OpportunityId": opp_id, "ContactId": contact_id, "Role": _ROLES[n % len(_ROLES)], "IsPrimary": True,
        })

    SfRecord.objects.bulk_create(batch.rows, batch_size=500)
    return {**_counts(), "created": len(batch.rows)}
