"""The Salesforce sandbox over HTTP, through simple-salesforce and the hub's connector."""

from __future__ import annotations

import pytest
import requests

from integration_hub import errors


def _catalogue(sf):
    """An account, a price book with two products, and an opportunity with both as lines."""
    account = sf.create("Account", {"Name": "Acme Corp", "Tax_ID__c": "12-3456789", "BillingCity": "Austin"})
    book = sf.create("Pricebook2", {"Name": "Standard", "IsActive": True})
    widget = sf.create("Product2", {"Name": "Widget", "ProductCode": "W-1", "Family": "Hardware"})
    gadget = sf.create("Product2", {"Name": "Gadget", "ProductCode": "G-2"})
    widget_price = sf.create("PricebookEntry", {"Pricebook2Id": book, "Product2Id": widget, "UnitPrice": 100.0})
    gadget_price = sf.create("PricebookEntry", {"Pricebook2Id": book, "Product2Id": gadget, "UnitPrice": 40.0})
    opp = sf.create("Opportunity", {"Name": "Acme - widgets", "AccountId": account, "StageName": "Prospecting",
                                    "CloseDate": "2026-12-31", "Pricebook2Id": book})
    sf.create("OpportunityLineItem", {"OpportunityId": opp, "PricebookEntryId": widget_price, "Quantity": 5,
                                      "UnitPrice": 90.0, "Discount": 10})
    sf.create("OpportunityLineItem", {"OpportunityId": opp, "PricebookEntryId": gadget_price, "Quantity": 2,
                                      "TotalPrice": 70.0})
    return account, opp


def test_it_creates_a_deal_and_queries_it_back_with_relationships(sf):
    account, opp = _catalogue(sf)

    result = sf.query(
        "SELECT Id, Name, Amount, IsWon, HasOpportunityLineItem, Account.Name, Account.Tax_ID__c, "
        "(SELECT Quantity, UnitPrice, Discount, TotalPrice, ListPrice, PricebookEntry.Product2.ProductCode, "
        "Product2.Name FROM OpportunityLineItems ORDER BY TotalPrice DESC) "
        f"FROM Opportunity WHERE Id = '{opp[:15]}' AND StageName != 'Closed Won'"
    )

    assert result["totalSize"] == 1
    record = result["records"][0]
    assert record["attributes"] == {"type": "Opportunity", "url": f"/services/data/v59.0/sobjects/Opportunity/{opp}"}
    assert record["Account"]["Name"] == "Acme Corp"
    assert record["Account"]["Tax_ID__c"] == "12-3456789"
    assert record["Account"]["attributes"]["type"] == "Account"
    assert record["IsWon"] is False and record["HasOpportunityLineItem"] is True
    lines = record["OpportunityLineItems"]
    assert lines["totalSize"] == 2 and lines["done"] is True
    first, second = lines["records"]
    # 5 × 90 × (1 − 10 %) = 405; a TotalPrice of 70 for 2 means a UnitPrice of 35.
    assert (first["TotalPrice"], first["ListPrice"]) == (405.0, 100.0)
    assert first["PricebookEntry"]["Product2"]["ProductCode"] == "W-1"
    assert first["Product2"]["Name"] == "Widget"
    assert (second["UnitPrice"], second["TotalPrice"]) == (35.0, 70.0)
    assert record["Amount"] == 475.0


def test_it_filters_sorts_and_limits(sf):
    for name, revenue in [("Beta", 300), ("alpha", 100), ("Gamma", None), ("Delta", 200)]:
        sf.create("Account", {"Name": name, "AnnualRevenue": revenue, "Industry": "Retail"})

    result = sf.query("select name, annualrevenue from account where Industry = 'retail' "
                      "and (AnnualRevenue >= 150 or AnnualRevenue = null) order by AnnualRevenue desc nulls last "
                      "limit 3")
    assert [(r["Name"], r["AnnualRevenue"]) for r in result["records"]] == [
        ("Beta", 300.0), ("Delta", 200.0), ("Gamma", None)]
    assert list(result["records"][0]) == ["attributes", "Name", "AnnualRevenue"]  # declared casing

    like = sf.query_all("SELECT Name FROM Account WHERE Name LIKE 'a%' OR Name IN ('Gamma') ORDER BY Name")
    assert [r["Name"] for r in like] == ["alpha", "Gamma"]
    assert sf.query("SELECT COUNT() FROM Account WHERE NOT Name LIKE '%a'")["totalSize"] == 0
    assert sf.query("SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1")["records"][0]["Name"] == "Beta"


def test_it_pages_across_next_records_url(sf, calls):
    for n in range(7):
        sf.create("Contact", {"LastName": f"Person {n:02d}"})
    calls.clear()

    first = sf.query("SELECT LastName FROM Contact ORDER BY LastName", batch_size=3)
    assert first["done"] is False and first["totalSize"] == 7
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")

    everything = sf.query_all("SELECT LastName FROM Contact ORDER BY LastName", batch_size=3)
    assert [r["LastName"] for r in everything] == [f"Person {n:02d}" for n in range(7)]
    assert list(everything[-1])[0] == "attributes"
    assert len([c for c in calls if c.method == "GET"]) == 1 + 3


def test_it_reads_updates_and_deletes_a_record(sf):
    account = sf.create("Account", {"Name": "Initech"})
    sf.update("Account", account, {"Phone": "+1 555 0100", "Name": "Initech Inc"})

    record = sf.get("Account", account[:15], fields=["Name", "Phone"])
    assert record["Name"] == "Initech Inc" and record["Phone"] == "+1 555 0100"
    assert set(record) == {"attributes", "Name", "Phone"}
    full = sf.get("Account", account)
    assert full["CreatedDate"].endswith("+0000") and len(full["CreatedDate"]) == 28
    assert sf.get("Account", account.upper())["Id"] == account  # 18-character ids ignore case

    sf.delete("Account", account)
    with pytest.raises(errors.NotFound):
        sf.get("Account", account)


def test_it_answers_errors_as_json_arrays_with_real_codes(sf, sf_sandbox):
    auth = {"Authorization": "Bearer sandbox"}
    base = f"{sf_sandbox.url}/services/data/v59.0"

    missing = requests.post(f"{base}/sobjects/Opportunity/", json={"Name": "x"}, headers=auth, timeout=5)
    assert missing.status_code == 400
    assert missing.json() == [{"message": "Required fields are missing: [StageName, CloseDate]",
                               "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["StageName", "CloseDate"]}]
    assert missing.headers["Sforce-Limit-Info"].startswith("api-usage=")

    with pytest.raises(errors.ValidationFailed) as unknown:
        sf.create("Account", {"Name": "x", "Colour__c": "red"})
    assert unknown.value.code == "INVALID_FIELD" and unknown.value.status == 400

    with pytest.raises(errors.ValidationFailed) as readonly:
        sf.create("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-01-01",
                                  "IsWon": True})
    assert readonly.value.code == "INVALID_FIELD_FOR_INSERT_UPDATE" and readonly.value.details == ["IsWon"]

    with pytest.raises(errors.ValidationFailed) as bad_ref:
        sf.create("Contact", {"LastName": "x", "AccountId": "001000000000000AAA"})
    assert bad_ref.value.code == "INVALID_CROSS_REFERENCE_KEY"

    with pytest.raises(errors.NotFound) as gone:
        sf.get("Account", "001000000000000AAA")
    assert gone.value.code == "NOT_FOUND" and gone.value.status == 404

    with pytest.raises(errors.ValidationFailed) as soql:
        sf.query("SELECT Id FROM Account WHERE")
    assert soql.value.code == "MALFORMED_QUERY"
    with pytest.raises(errors.ValidationFailed) as soql_type:
        sf.query("SELECT Id FROM Widget__c")
    assert soql_type.value.code == "INVALID_TYPE"

    denied = requests.get(f"{base}/limits/", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert denied.status_code == 401
    assert denied.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_it_reports_api_usage_and_limits(sf):
    sf.create("Account", {"Name": "Counted"})
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 15000
    usage = sf.sf.api_usage["api-usage"]
    assert usage.total == 15000 and usage.used >= 2


def test_it_describes_an_sobject(sf_sandbox):
    response = requests.get(f"{sf_sandbox.url}/services/data/v59.0/sobjects/Opportunity/describe/",
                            headers={"Authorization": "Bearer sandbox"}, timeout=5)
    fields = {f["name"]: f for f in response.json()["fields"]}
    assert fields["IsWon"]["updateable"] is False
    assert fields["SAP_Sales_Order__c"]["updateable"] is True
    assert fields["StageName"]["nillable"] is False
    assert fields["AccountId"]["referenceTo"] == ["Account"]
