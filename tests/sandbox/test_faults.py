from __future__ import annotations

import requests

from integration_hub.sandbox.faults import fault_take

SF_AUTH = {"Authorization": "Bearer sandbox"}


def test_it_arms_lists_and_clears_faults_over_http(sf_sandbox):
    url = f"{sf_sandbox.url}/_sandbox/faults"
    created = requests.post(url, json={"kind": "status", "status": 503, "operation": "query", "times": 2},
                            headers=SF_AUTH, timeout=5)
    assert created.status_code == 201
    assert created.json()["faults"][0]["remaining"] == 2
    listed = requests.get(url, headers=SF_AUTH, timeout=5).json()["faults"]
    assert [f["kind"] for f in listed] == ["status"]
    assert requests.delete(url, headers=SF_AUTH, timeout=5).json() == {"deleted": 1}
    assert requests.get(url, headers=SF_AUTH, timeout=5).json()["faults"] == []


def test_it_rejects_a_malformed_fault_with_a_reason(sf_sandbox):
    url = f"{sf_sandbox.url}/_sandbox/faults"
    response = requests.post(url, json={"kind": "status", "status": 200}, headers=SF_AUTH, timeout=5)
    assert response.status_code == 400
    assert "status between 400 and 599" in response.json()["error"]
    assert requests.post(url, json={"kind": "nonsense"}, headers=SF_AUTH, timeout=5).status_code == 400


def test_it_refuses_the_control_plane_without_credentials(sf_sandbox):
    response = requests.post(f"{sf_sandbox.url}/_sandbox/faults", json={"kind": "drop"}, timeout=5)
    assert response.status_code == 401


def test_it_fires_a_fault_only_the_given_number_of_times(transactional_db):
    from integration_hub.sandbox.faults import fault_add

    fault_add(system="sap", kind="status", status=500, operation="API_SALES_ORDER_SRV/*", times=2)
    op = "API_SALES_ORDER_SRV/A_SalesOrder:POST"
    fired = [fault_take(system="sap", operation=op) for _ in range(3)]
    assert [f.status if f else None for f in fired] == [500, 500, None]
    assert fault_take(system="sap", operation="API_PRODUCT_SRV/A_Product:GET") is None
    assert fault_take(system="salesforce", operation=op) is None
