from __future__ import annotations

from decimal import Decimal

import pytest

from integration_hub.canonical import CanonicalDeal
from integration_hub.crm.salesforce import deal_from_salesforce, extract_soql

RECORD = {
    "attributes": {"type": "Opportunity"},
    "Id": "006000000000001AAA", "Name": "Acme – licences", "StageName": "Closed Won", "IsWon": True,
    "Amount": 24000.0, "CloseDate": "2026-11-20", "Payment_Terms__c": None, "Contract_Reference__c": "MSA-7",
    "AccountId": "001000000000001AAA",
    "Account": {"Name": "Acme Corp", "Tax_ID__c": "30-3909064", "DUNS__c": None, "Payment_Terms__c": "Net 30",
                "ShippingStreet": None, "ShippingCity": None, "ShippingState": None, "ShippingPostalCode": None,
                "ShippingCountry": None, "BillingStreet": "9183 Technology Way", "BillingCity": "Phoenix",
                "BillingState": "AZ", "BillingPostalCode": "85093", "BillingCountry": "US"},
    "OpportunityLineItems": {"totalSize": 1, "done": True, "records": [
        {"Id": "00k000000000001AAA", "Quantity": 2.0, "UnitPrice": 12000.0, "Discount": 10.0, "TotalPrice": 21600.0,
         "Product2": {"ProductCode": "EL-001", "Name": "Enterprise License - Annual", "QuantityUnitOfMeasure": "Each"}}]},
    "OpportunityContactRoles": {"totalSize": 1, "done": True, "records": [
        {"ContactId": "003000000000001AAA", "IsPrimary": True,
         "Contact": {"FirstName": "Isla", "LastName": "Garcia", "Email": "isla@acme.example.com"}}]},
}


def test_it_maps_a_salesforce_deal_to_the_canonical_model_with_a_log_line_per_derivation():
    deal, log = deal_from_salesforce(RECORD, org_id="00D000000000001EAA", currency="USD")
    assert deal.organization.name == "Acme Corp"
    assert deal.payment_terms_crm == "Net 30"  # the account's terms stand in for the opportunity's
    assert deal.ship_to.street == "9183 Technology Way"  # billing used: shipping was empty
    assert deal.lines[0].total_price == Decimal("21600.00")
    assert deal.primary_contact.email == "isla@acme.example.com"
    rules = {entry.field: entry.rule for entry in log}
    assert "Account.Payment_Terms__c" in rules["transaction.payment.terms"]
    assert "Billing" in rules["entity.location.ship_to"]
    assert deal.confidence["entity.location.ship_to"] < 1.0


def test_it_round_trips_the_canonical_deal_through_json():
    deal, _ = deal_from_salesforce(RECORD, org_id="00D000000000001EAA", currency="USD")
    again = CanonicalDeal.from_json(deal.to_json())
    assert again == deal


def test_it_refuses_to_build_a_query_from_anything_but_an_id():
    assert "WHERE Id = '006000000000001AAA'" in extract_soql("006000000000001AAA")
    with pytest.raises(ValueError):
        extract_soql("006' OR Name != '")
