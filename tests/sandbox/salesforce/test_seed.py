"""The seeded sandbox org, seen through the connector."""

from __future__ import annotations

from integration_hub.sandbox.salesforce.seed import seed


def test_it_seeds_the_catalogue_once(sf):
    first = seed()
    again = seed()

    assert first["created"] > 0 and again["created"] == 0
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == first["Account"] >= 200
    assert sf.query("SELECT COUNT() FROM Product2")["totalSize"] >= 100
    assert sf.query("SELECT COUNT() FROM PricebookEntry WHERE Pricebook2.IsStandard = true")["totalSize"] == \
        first["Product2"]
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE IsWon = false AND IsClosed = false")["totalSize"] >= 50
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE IsWon = true")["totalSize"] == 0

    deal = sf.query(
        "SELECT Amount, Account.Payment_Terms__c, "
        "(SELECT TotalPrice, PricebookEntry.Product2.ProductCode FROM OpportunityLineItems), "
        "(SELECT Contact.Email FROM OpportunityContactRoles WHERE IsPrimary = true) FROM Opportunity LIMIT 1"
    )["records"][0]
    assert deal["Amount"] == round(sum(line["TotalPrice"] for line in deal["OpportunityLineItems"]["records"]), 2)
    assert deal["OpportunityContactRoles"]["records"][0]["Contact"]["Email"].endswith(".example.com")
    assert deal["Account"]["Payment_Terms__c"] in {"Net 30", "Net 45", "Net 60", "Due on receipt", "2% 14 Net 30"}

    with_tax = sf.query("SELECT COUNT() FROM Account WHERE Tax_ID__c != null")["totalSize"]
    assert 0 < with_tax < first["Account"]  # sales did not capture every tax id


def test_it_reseeds_from_scratch_with_the_same_ids(transactional_db):
    first = seed(reset=True)
    from integration_hub.sandbox.salesforce.models import SfRecord

    ids = set(SfRecord.objects.values_list("record_id", flat=True))
    assert seed(reset=True) == first
    assert set(SfRecord.objects.values_list("record_id", flat=True)) == ids
