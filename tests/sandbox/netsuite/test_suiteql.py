from __future__ import annotations

import pytest

from integration_hub.sandbox import catalog

UK = [c for c in catalog.netsuite_customers() if c.currency == "GBP"]


def test_it_finds_customers_by_name_tax_number_and_id(ns):
    target = UK[0]
    stem = target.company_name.split()[0].upper()
    by_name = ns.rows(f"SELECT id, companyname FROM customer WHERE UPPER(companyname) LIKE '%{stem}%' ORDER BY id")
    assert {"id": target.internal_id, "companyname": target.company_name} in by_name
    assert all(stem in row["companyname"].upper() for row in by_name)
    by_vat = ns.rows(f"SELECT id FROM customer WHERE vatregnumber = '{target.vat_reg_number}'")
    assert by_vat == [{"id": target.internal_id}]
    by_id = ns.rows(f"SELECT c.entityid, c.creditlimit, BUILTIN.DF(c.terms) AS terms FROM customer c "
                    f"WHERE c.id = {target.internal_id}")
    term = next(t for t in catalog.NETSUITE_TERMS if t.internal_id == target.terms_id)
    assert by_id == [{"entityid": target.entity_id, "creditlimit": str(target.credit_limit), "terms": term.name}]


def test_it_leaves_null_columns_out_and_answers_strings(ns):
    duplicate = next(c for c in catalog.netsuite_customers() if c.duplicate_of)
    rows = ns.rows(f"SELECT id, vatregnumber, isinactive FROM customer WHERE id = '{duplicate.internal_id}'")
    assert rows == [{"id": duplicate.internal_id, "isinactive": "F"}]


def test_it_finds_items_by_itemid_and_their_prices(ns):
    item = catalog.netsuite_items()[6]
    assert ns.rows(f"SELECT id, itemid, itemtype FROM item WHERE itemid IN ('{item.item_id}', 'SKU-NOPE')") == [
        {"id": item.internal_id, "itemid": item.item_id, "itemtype": "InvtPart"}]
    prices = ns.rows(f"SELECT pricelevel, unitprice FROM pricing WHERE item = {item.internal_id} AND currency = 3 "
                     "ORDER BY pricelevel")
    assert prices[0] == {"pricelevel": "1", "unitprice": format(item.price("CAD").normalize(), "f")}
    assert len(prices) == len(catalog.NETSUITE_PRICE_LEVELS)


def test_it_sums_open_balances_per_customer(ns):
    customer = next(c for c in UK if len(c.open_invoices) > 1)
    rows = ns.rows("SELECT entity, COUNT(*) AS n, SUM(foreignamountunpaid) AS open FROM transaction "
                   f"WHERE type = 'CustInvc' AND status = 'A' AND entity = {customer.internal_id} GROUP BY entity")
    expected = sum(amount for amount, _ in customer.open_invoices)
    assert rows == [{"entity": customer.internal_id, "n": str(len(customer.open_invoices)),
                     "open": format(expected.normalize(), "f")}]


def test_it_pages_with_limit_and_offset(ns):
    query = "SELECT id FROM customer ORDER BY id"
    first = ns.suiteql(query, limit=10, offset=0).json()
    assert (first["count"], first["hasMore"], first["offset"]) == (10, True, 0)
    assert first["totalResults"] == len(catalog.netsuite_customers())
    assert {link["rel"] for link in first["links"]} >= {"self", "next"}
    seen = []
    offset = 0
    while True:
        page = ns.suiteql(query, limit=10, offset=offset).json()
        seen += [item["id"] for item in page["items"]]
        if not page["hasMore"]:
            break
        offset += 10
    assert seen == sorted((c.internal_id for c in catalog.netsuite_customers()), key=int)
    assert ns.suiteql(query, limit=1001).status_code == 400


def test_it_reads_an_orders_lines_through_a_join(ns):
    order_id = ns.created_id(ns.request("PUT", "salesOrder/eid:OPP-1", json={
        "entity": {"id": UK[0].internal_id}, "item": {"items": [{"item": {"id": "507"}, "quantity": 4, "rate": 10}]}}))
    rows = ns.rows("SELECT t.tranid, t.status, BUILTIN.DF(t.status) AS statusname, tl.item, tl.quantity, tl.rate "
                   "FROM transaction t JOIN transactionline tl ON tl.transaction = t.id "
                   "WHERE t.externalid = 'OPP-1' AND tl.mainline = 'F'")
    assert len(rows) == 1
    assert rows[0]["quantity"] == "-4"  # NetSuite's sign for sales lines
    assert rows[0]["statusname"] == "Sales Order : Pending Fulfillment"
    header = ns.rows(f"SELECT foreigntotal FROM transaction WHERE id = {order_id} AND type = 'SalesOrd'")
    assert header == [{"foreigntotal": "40"}]


@pytest.mark.parametrize(("query", "message"), [
    ("SELECT nope FROM customer", "Unknown identifier 'nope'"),
    ("SELECT id FROM account", "Invalid search type: account"),
    ("SELECT id FROM customer WHERE id IN (SELECT entity FROM transaction)", "Invalid or unsupported search"),
    ("SELECT id FROM customer FETCH FIRST 5 ROWS ONLY", "Invalid or unsupported search"),
    ("SELECT id FROM customer c UNION SELECT id FROM item", "Invalid or unsupported search"),
    ("SELECT companyname, COUNT(*) FROM customer", "not a GROUP BY expression"),
    ("SELECT id FROM customer WHERE", "Invalid or unsupported search"),
    ("DELETE FROM customer", "Invalid or unsupported search"),
])
def test_it_refuses_what_it_does_not_support_with_netsuites_error(ns, query, message):
    response = ns.suiteql(query)
    assert response.status_code == 400
    detail = response.json()["o:errorDetails"][0]
    assert detail["o:errorCode"] == "INVALID_PARAMETER"
    assert detail["detail"].startswith("Invalid search query. Detailed unprocessed description follows.")
    assert message in detail["detail"]


def test_it_wants_prefer_transient(ns):
    response = ns.session.post(f"{ns.rest}/query/v1/suiteql", json={"q": "SELECT id FROM customer"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorHeader"] == "Prefer"


def test_it_finds_customers_by_address_through_the_address_book(ns):
    target = UK[0]
    address = ns.get(f"customer/{target.internal_id}?expandSubResources=true").json()["addressBook"]["items"][0]
    rows = ns.rows("SELECT c.id, a.city, a.country FROM customer c "
                   "JOIN customeraddressbook ab ON ab.entity = c.id "
                   "JOIN customeraddressbookentityaddress a ON a.nkey = ab.addressbookaddress "
                   f"WHERE a.zip = '{address['addressBookAddress']['zip']}' AND ab.defaultbilling = 'T' ORDER BY c.id")
    assert {"id": target.internal_id, "city": address["addressBookAddress"]["city"], "country": "GB"} in rows


def test_it_compares_dates_and_keeps_unmatched_rows_of_a_left_join(ns):
    customer = next(c for c in UK if any(days > 0 for _, days in c.open_invoices))
    overdue = ns.rows("SELECT SUM(foreignamountunpaid) AS overdue FROM transaction WHERE type = 'CustInvc' "
                      f"AND entity = {customer.internal_id} AND duedate < TO_DATE('2999-01-01', 'YYYY-MM-DD')")
    assert overdue == [{"overdue": format(sum(a for a, _ in customer.open_invoices).normalize(), "f")}]
    without_invoices = ns.rows("SELECT c.id FROM customer c LEFT JOIN transaction t ON t.entity = c.id "
                               "WHERE t.id IS NULL ORDER BY c.id")
    expected = sorted((c.internal_id for c in catalog.netsuite_customers() if not c.open_invoices), key=int)
    assert [row["id"] for row in without_invoices] == expected
