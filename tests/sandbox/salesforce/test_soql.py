"""The sandbox's SOQL engine, run directly against the database."""

from __future__ import annotations

import pytest

from integration_hub.sandbox.salesforce import soql
from integration_hub.sandbox.salesforce.store import SfApiError, record_create, record_update


@pytest.fixture
def deals(db):
    acme = record_create(sobject="Account", data={"Name": "Acme Corp", "BillingCountry": "US"}).record_id
    globex = record_create(sobject="Account", data={"Name": "Globex", "BillingCountry": "DE"}).record_id
    rows = {}
    for name, account, stage, close in [
        ("A1", acme, "Prospecting", "2024-04-30"),
        ("A2", acme, "Closed Won", "2024-05-15"),
        ("G1", globex, "Closed Won", "2024-06-01"),
        ("N1", None, "Closed Lost", "2024-05-20"),
    ]:
        data = {"Name": name, "StageName": stage, "CloseDate": close}
        if account:
            data["AccountId"] = account
        rows[name] = record_create(sobject="Opportunity", data=data)
    return rows


def _names(text: str) -> list[str]:
    return [r["Name"] for r in soql.execute(text)["records"]]


def test_it_compares_dates_and_datetimes_as_unquoted_literals(deals):
    assert _names("SELECT Name FROM Opportunity WHERE CloseDate >= 2024-05-15 ORDER BY CloseDate") == [
        "A2", "N1", "G1"]
    assert len(_names("SELECT Name FROM Opportunity WHERE LastModifiedDate > 2000-01-01T00:00:00Z")) == 4
    assert len(_names("SELECT Name FROM Opportunity WHERE CreatedDate < 2000-01-01T00:00:00.000+0000")) == 0
    with pytest.raises(SfApiError) as quoted:
        soql.execute("SELECT Name FROM Opportunity WHERE CloseDate > '2024-05-01'")
    assert "should not be enclosed in quotes" in quoted.value.errors[0]["message"]


def test_it_filters_on_parent_fields_and_nulls(deals):
    assert _names("SELECT Name FROM Opportunity WHERE Account.BillingCountry = 'us' ORDER BY Name") == ["A1", "A2"]
    assert _names("SELECT Name FROM Opportunity WHERE AccountId = null") == ["N1"]
    assert _names("SELECT Name FROM Opportunity WHERE IsWon = true AND NOT (Account.Name LIKE 'glob%')") == ["A2"]
    assert _names("SELECT Name FROM Opportunity WHERE StageName NOT IN ('Closed Won', 'Closed Lost')") == ["A1"]
    shaped = soql.execute("SELECT Name, Account.Name FROM Opportunity WHERE Name = 'N1'")["records"][0]
    assert shaped["Account"] is None


def test_it_returns_child_relationships_or_null(deals):
    acme = deals["A1"].fields["AccountId"]
    result = soql.execute("SELECT Name, (SELECT Name FROM Opportunities WHERE IsClosed = false), "
                          f"(SELECT LastName FROM Contacts) FROM Account WHERE Id = '{acme}'")
    record = result["records"][0]
    assert [o["Name"] for o in record["Opportunities"]["records"]] == ["A1"]
    assert record["Contacts"] is None


def test_it_derives_won_and_closed_from_the_stage(deals):
    record_update(sobject="Opportunity", record_id=deals["A1"].record_id, data={"StageName": "Closed Lost"})
    rows = soql.execute("SELECT Name, IsWon, IsClosed FROM Opportunity WHERE Name IN ('A1', 'A2') ORDER BY Name")
    assert [(r["IsWon"], r["IsClosed"]) for r in rows["records"]] == [(False, True), (True, True)]


@pytest.mark.parametrize(("text", "code"), [
    ("SELECT FROM Account", "MALFORMED_QUERY"),
    ("SELECT Id Account", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account LIMIT", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY"),
    ("SELECT Nope FROM Account", "INVALID_FIELD"),
    ("SELECT Owner.Nope FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"),
    ("SELECT Id, (SELECT Id FROM Nope) FROM Account", "INVALID_TYPE"),
    ("SELECT Id FROM Nope", "INVALID_TYPE"),
])
def test_it_rejects_bad_soql_with_the_salesforce_error_code(db, text, code):
    with pytest.raises(SfApiError) as error:
        soql.execute(text)
    assert error.value.status == 400
    assert error.value.errors[0]["errorCode"] == code
