"""sObject Collections update and the ERP write-back fields, over real HTTP (WIRE-ERP.md §5.2)."""

from __future__ import annotations

import pytest
import requests

from integration_hub import errors
from integration_hub.sandbox.faults import fault_add

AUTH = {"Authorization": "Bearer sandbox"}
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


def _patch(sf_sandbox, body):
    return requests.patch(f"{sf_sandbox.url}/services/data/v59.0/composite/sobjects", json=body, headers=AUTH,
                          timeout=10)


def _deals(sf, count=3):
    account = sf.create("Account", {"Name": "Acme Corp"})
    opps = [sf.create("Opportunity", {"Name": f"Acme deal {n}", "AccountId": account, "StageName": "Closed Won",
                                      "CloseDate": "2026-06-30"}) for n in range(count)]
    return account, opps


def _opp(record_id, **fields):
    return {"attributes": {"type": "Opportunity"}, "id": record_id, **fields}


def _usage(response):
    used, _, limit = response.headers["Sforce-Limit-Info"].removeprefix("api-usage=").partition("/")
    return int(used), int(limit)


def test_it_updates_opportunities_and_an_account_in_one_call(sf, sf_sandbox):
    account, (first, second, third) = _deals(sf)

    response = _patch(sf_sandbox, {"allOrNone": False, "records": [
        _opp(first, ERP_Order_Status__c="In Process", ERP_Delivery_Status__c="Partially Delivered",
             ERP_Last_Synced__c="2026-07-01T09:30:00Z"),
        {"attributes": {"type": "Account"}, "id": account, "ERP_Credit_Status__c": "Blocked",
         "ERP_Open_AR__c": 12500.5, "ERP_Days_Past_Due__c": 42},
        _opp(second[:15], ERP_Invoice_Number__c="90000123", ERP_Invoice_Status__c="Partially Paid",
             ERP_Amount_Invoiced__c=3800, ERP_Amount_Paid__c=1200.25),
        _opp(third, ERP_Order_Status__c="Completed", ERP_Delivery_Status__c="Delivered",
             ERP_Invoice_Status__c="Paid"),
    ]})

    assert response.status_code == 200
    assert response.json() == [
        {"id": first, "success": True, "errors": []},
        {"id": account, "success": True, "errors": []},
        {"id": second, "success": True, "errors": []},  # a 15-character id answers with its 18
        {"id": third, "success": True, "errors": []},
    ]
    rows = {r["Id"]: r for r in sf.query_all(
        "SELECT Id, ERP_Order_Status__c, ERP_Delivery_Status__c, ERP_Invoice_Number__c, ERP_Invoice_Status__c, "
        "ERP_Amount_Invoiced__c, ERP_Amount_Paid__c, ERP_Last_Synced__c, Account.ERP_Credit_Status__c, "
        "Account.ERP_Open_AR__c, Account.ERP_Days_Past_Due__c FROM Opportunity WHERE ERP_Order_Status__c != null "
        "OR ERP_Invoice_Status__c = 'Partially Paid'")}
    assert set(rows) == {first, second, third}
    assert rows[first]["ERP_Last_Synced__c"] == "2026-07-01T09:30:00.000+0000"
    assert (rows[second]["ERP_Invoice_Number__c"], rows[second]["ERP_Amount_Invoiced__c"],
            rows[second]["ERP_Amount_Paid__c"]) == ("90000123", 3800.0, 1200.25)
    assert rows[third]["ERP_Delivery_Status__c"] == "Delivered"
    assert rows[first]["Account"]["ERP_Credit_Status__c"] == "Blocked"
    assert (rows[first]["Account"]["ERP_Open_AR__c"], rows[first]["Account"]["ERP_Days_Past_Due__c"]) == (
        12500.5, 42.0)


def test_it_fails_a_deleted_record_and_lands_the_rest(sf, sf_sandbox):
    _, (kept, gone, also_kept) = _deals(sf)
    sf.delete("Opportunity", gone)

    response = _patch(sf_sandbox, {"records": [_opp(r, ERP_Order_Status__c="Open") for r in (kept, gone, also_kept)]})

    assert response.status_code == 200
    assert response.json() == [
        {"id": kept, "success": True, "errors": []},
        {"id": gone, "success": False,
         "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}]},
        {"id": also_kept, "success": True, "errors": []},
    ]
    landed = sf.query_all("SELECT Id FROM Opportunity WHERE ERP_Order_Status__c = 'Open'")
    assert {r["Id"] for r in landed} == {kept, also_kept}


def test_it_refuses_a_bad_picklist_value_for_that_record_only(sf, sf_sandbox):
    account, (good, bad, _) = _deals(sf)

    response = _patch(sf_sandbox, {"records": [
        _opp(good, ERP_Invoice_Status__c="Overdue"),
        _opp(bad, ERP_Invoice_Status__c="Posted"),  # an SAP word, not one of the org's values
        {"attributes": {"type": "Account"}, "id": account, "ERP_Credit_Status__c": "blocked"},  # case counts
    ]})

    assert response.json() == [
        {"id": good, "success": True, "errors": []},
        {"id": bad, "success": False, "errors": [{
            "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "message": "ERP Invoice Status: bad value for restricted picklist field: Posted",
            "fields": ["ERP_Invoice_Status__c"]}]},
        {"id": account, "success": False, "errors": [{
            "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "message": "ERP Credit Status: bad value for restricted picklist field: blocked",
            "fields": ["ERP_Credit_Status__c"]}]},
    ]
    assert sf.get("Opportunity", good)["ERP_Invoice_Status__c"] == "Overdue"
    assert sf.get("Opportunity", bad)["ERP_Invoice_Status__c"] is None

    with pytest.raises(errors.ValidationFailed) as single:  # the one-record PATCH keeps the same rule
        sf.update("Opportunity", bad, {"ERP_Order_Status__c": "Shipped"})
    assert single.value.code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert single.value.details == ["ERP_Order_Status__c"]
    sf.update("Opportunity", bad, {"ERP_Order_Status__c": None})  # clearing is allowed


def test_it_rolls_everything_back_when_all_or_none_and_one_fails(sf, sf_sandbox):
    account, (first, second, third) = _deals(sf)
    sf.update("Opportunity", first, {"ERP_Order_Status__c": "Open"})

    response = _patch(sf_sandbox, {"allOrNone": True, "records": [
        _opp(first, ERP_Order_Status__c="Completed"),
        _opp(second, ERP_Order_Status__c="Done"),
        {"attributes": {"type": "Account"}, "id": account, "ERP_Credit_Status__c": "Blocked"},
        _opp(third, ERP_Invoice_Number__c="9" * 256),
    ]})

    assert response.status_code == 200
    body = response.json()
    assert body[0] == {"id": first, "success": False, "errors": [ROLLED_BACK]}
    assert body[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert body[2] == {"id": account, "success": False, "errors": [ROLLED_BACK]}
    assert body[3]["id"] == third and body[3]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert sf.get("Opportunity", first)["ERP_Order_Status__c"] == "Open"
    assert sf.get("Account", account)["ERP_Credit_Status__c"] is None

    again = _patch(sf_sandbox, {"allOrNone": True, "records": [_opp(first, ERP_Order_Status__c="Completed"),
                                                               _opp(second, ERP_Order_Status__c="Cancelled")]})
    assert [r["success"] for r in again.json()] == [True, True]
    assert sf.get("Opportunity", second)["ERP_Order_Status__c"] == "Cancelled"


def test_it_refuses_more_than_200_records_as_a_whole(sf, sf_sandbox):
    _, (opp, *_) = _deals(sf, count=1)

    response = _patch(sf_sandbox, {"records": [_opp(opp, ERP_Order_Status__c="Open")] * 201})

    assert response.status_code == 400
    assert response.json() == [{"message": "record limit reached. cannot submit more than 200 records into this call",
                                "errorCode": "EXCEEDED_ID_LIMIT", "fields": []}]
    assert sf.get("Opportunity", opp)["ERP_Order_Status__c"] is None


def test_it_refuses_malformed_requests_and_ids(sf, sf_sandbox):
    _, (opp, *_) = _deals(sf, count=1)

    no_type = _patch(sf_sandbox, {"records": [{"id": opp, "ERP_Order_Status__c": "Open"}]})
    assert (no_type.status_code, no_type.json()[0]["errorCode"]) == (400, "INVALID_TYPE")
    unknown = _patch(sf_sandbox, {"records": [_opp(opp, ERP_Order_Status__c="Open", ERP_Colour__c="red")]})
    assert (unknown.status_code, unknown.json()[0]["errorCode"]) == (400, "INVALID_FIELD")
    wrong_json = _patch(sf_sandbox, {"records": [_opp(opp, ERP_Amount_Paid__c="lots")]})
    assert (wrong_json.status_code, wrong_json.json()[0]["errorCode"]) == (400, "JSON_PARSER_ERROR")
    assert sf.get("Opportunity", opp)["ERP_Order_Status__c"] is None

    per_record = _patch(sf_sandbox, {"records": [
        _opp("not-an-id", ERP_Order_Status__c="Open"),
        {"attributes": {"type": "Account"}, "id": opp, "ERP_Credit_Status__c": "OK"},  # an Opportunity id
        _opp(None, ERP_Order_Status__c="Open"),
        _opp(opp, ERP_Order_Status__c="Open", IsWon=False),
    ]}).json()
    assert [r["errors"][0]["statusCode"] for r in per_record] == [
        "MALFORMED_ID", "MALFORMED_ID", "MISSING_ARGUMENT", "INVALID_FIELD_FOR_INSERT_UPDATE"]
    assert ["id" in r for r in per_record] == [False, False, False, True]

    get = requests.get(f"{sf_sandbox.url}/services/data/v59.0/composite/sobjects", headers=AUTH, timeout=5)
    assert (get.status_code, get.headers["Allow"]) == (405, "PATCH")


def test_it_makes_one_record_fail_through_a_record_level_fault(sf, sf_sandbox):
    _, (locked, refused, fine) = _deals(sf)
    fault_add(system="salesforce", kind="lock", operation=f"composite:sobjects:Opportunity:{locked}", times=1)
    fault_add(system="salesforce", kind="status", status=400, operation=f"composite:sobjects:Opportunity:{refused}",
              message="Invoice number must match the SAP billing document format", times=1)
    body = {"records": [_opp(r, ERP_Order_Status__c="In Process") for r in (locked, refused, fine)]}

    first = _patch(sf_sandbox, body).json()

    assert first == [
        {"id": locked, "success": False, "errors": [{
            "statusCode": "UNABLE_TO_LOCK_ROW", "fields": [],
            "message": f"unable to obtain exclusive access to this record or 1 records: {locked}"}]},
        {"id": refused, "success": False, "errors": [{
            "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": [],
            "message": "Invoice number must match the SAP billing document format"}]},
        {"id": fine, "success": True, "errors": []},
    ]
    assert sf.get("Opportunity", locked)["ERP_Order_Status__c"] is None
    assert [r["success"] for r in _patch(sf_sandbox, body).json()] == [True, True, True]  # the faults are used up


def test_it_applies_call_level_faults_to_the_whole_collection(sf, sf_sandbox):
    _, (opp, *_) = _deals(sf, count=1)
    fault_add(system="salesforce", kind="status", status=503, operation="composite:sobjects", times=1)

    response = _patch(sf_sandbox, {"records": [_opp(opp, ERP_Order_Status__c="Open")]})

    assert response.status_code == 503
    assert response.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.get("Opportunity", opp)["ERP_Order_Status__c"] is None


def test_it_counts_every_call_in_sforce_limit_info(sf, sf_sandbox):
    base = f"{sf_sandbox.url}/services/data/v59.0"
    answers = [
        requests.get(f"{base}/limits/", headers=AUTH, timeout=5),
        requests.get(f"{base}/sobjects/Account/001000000000000AAA", headers=AUTH, timeout=5),  # 404
        requests.patch(f"{base}/composite/sobjects", json={"records": "none"}, headers=AUTH, timeout=5),  # 400
        requests.get(f"{base}/composite/sobjects", headers=AUTH, timeout=5),  # 405
        requests.get(f"{base}/no/such/resource", headers=AUTH, timeout=5),  # 404 outside the API
        requests.patch(f"{base}/composite/sobjects", json={"records": []}, headers=AUTH, timeout=5),
    ]

    assert [a.status_code for a in answers] == [200, 404, 400, 405, 404, 200]
    used = [_usage(a) for a in answers]
    assert all(limit == 15000 for _, limit in used)
    first = used[0][0]
    assert [n for n, _ in used] == list(range(first, first + len(answers)))
    limits = requests.get(f"{base}/limits/", headers=AUTH, timeout=5)  # call number first + 6
    assert limits.json()["DailyApiRequests"]["Remaining"] == 15000 - (first + 6)

    denied = requests.get(f"{base}/limits/", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert denied.status_code == 401 and "Sforce-Limit-Info" not in denied.headers  # not counted
    assert _usage(requests.get(f"{base}/limits/", headers=AUTH, timeout=5))[0] == first + 7


def test_it_describes_the_erp_fields(sf_sandbox):
    def describe(sobject):
        response = requests.get(f"{sf_sandbox.url}/services/data/v59.0/sobjects/{sobject}/describe/",
                                headers=AUTH, timeout=5)
        return {f["name"]: f for f in response.json()["fields"]}

    opportunity, account = describe("Opportunity"), describe("Account")
    status = opportunity["ERP_Order_Status__c"]
    assert (status["type"], status["label"], status["restrictedPicklist"], status["updateable"]) == (
        "picklist", "ERP Order Status", True, True)
    assert [v["value"] for v in status["picklistValues"]] == [
        "Open", "In Process", "Completed", "Credit Hold", "Delivery Block", "Cancelled"]
    assert [v["value"] for v in opportunity["ERP_Delivery_Status__c"]["picklistValues"]] == [
        "Not Delivered", "Partially Delivered", "Delivered"]
    assert [v["value"] for v in opportunity["ERP_Invoice_Status__c"]["picklistValues"]] == [
        "Not Invoiced", "Open", "Partially Paid", "Paid", "Overdue", "Cancelled"]
    assert {name: opportunity[name]["type"] for name in (
        "ERP_Invoice_Number__c", "ERP_Amount_Invoiced__c", "ERP_Amount_Paid__c", "ERP_Last_Synced__c")} == {
        "ERP_Invoice_Number__c": "string", "ERP_Amount_Invoiced__c": "currency",
        "ERP_Amount_Paid__c": "currency", "ERP_Last_Synced__c": "datetime"}
    assert [v["value"] for v in account["ERP_Credit_Status__c"]["picklistValues"]] == ["OK", "Blocked"]
    assert (account["ERP_Open_AR__c"]["type"], account["ERP_Days_Past_Due__c"]["type"]) == ("currency", "double")
    assert opportunity["StageName"]["restrictedPicklist"] is False  # unrestricted picklists stay open
