"""The public `netsuite` package's REST client (TBA, HMAC-SHA256) reads and creates records in the sandbox."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from netsuite import Config, NetSuite, TokenAuth
from netsuite.exceptions import NetsuiteAPIRequestError
from netsuite.rest_api import NetSuiteRestApi

from integration_hub.sandbox import catalog
from integration_hub.sandbox.netsuite.models import NsRecord

# The library's own dependencies warn about their future (authlib's httpx, oauthlib's signing helper).
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:The httpx module is deprecated")]


class SandboxRestApi(NetSuiteRestApi):
    """The library's client with the account's host swapped for the sandbox's (it has no base-URL option)."""

    def __init__(self, config: Config, base_url: str) -> None:
        super().__init__(config, concurrent_requests=5)
        self.base_url = base_url

    def _make_url(self, subpath: str) -> str:
        return f"{self.base_url}/services/rest{subpath}"


def _client(url: str, **auth: str) -> SandboxRestApi:
    values = {"consumer_key": "sandbox", "consumer_secret": "sandbox", "token_id": "sandbox",
              "token_secret": "sandbox", **auth}
    config = Config(account="SANDBOX", auth=TokenAuth(**values))
    assert NetSuite(config).rest_api is not None  # the library's own entry point builds the same client
    return SandboxRestApi(config, url)


def _run(coro: Any) -> Any:
    # In a thread of its own: a browser test earlier in the same process may have left an event loop
    # running in this one, and asyncio.run refuses to nest.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_the_netsuite_client_reads_records_and_runs_suiteql(ns):
    api = _client(ns.url)
    customer = catalog.netsuite_customers()[0]
    record = _run(api.get(f"/record/v1/customer/{customer.internal_id}", params={"expandSubResources": "true"}))
    assert record["companyName"] == customer.company_name
    page = _run(api.suiteql("SELECT id, itemid FROM item ORDER BY id", limit=5, offset=5))
    assert [row["itemid"] for row in page["items"]] == [i.item_id for i in catalog.netsuite_items()[5:10]]
    assert page["hasMore"] is True


def test_the_netsuite_client_creates_and_upserts_a_sales_order(ns):
    api = _client(ns.url)
    customer = catalog.netsuite_customers()[1]
    body = {"entity": {"id": customer.internal_id}, "otherRefNum": "0061X",
            "item": {"items": [{"item": {"id": "502"}, "quantity": 3}]}}
    assert _run(api.post("/record/v1/salesOrder", json=body)) is None  # 204: nothing but a Location
    assert _run(api.put("/record/v1/salesOrder/eid:0061X", json=body)) is None
    assert _run(api.put("/record/v1/salesOrder/eid:0061X", json=body)) is None
    assert NsRecord.objects.filter(record_type="salesOrder").count() == 2
    order = _run(api.get("/record/v1/salesOrder/eid:0061X"))
    assert order["entity"]["id"] == customer.internal_id
    assert order["tranId"].startswith("SO")


def test_the_netsuite_client_sees_the_sandbox_refuse_wrong_credentials(ns):
    api = _client(ns.url, token_secret="wrong")
    with pytest.raises(NetsuiteAPIRequestError) as refused:
        _run(api.get("/record/v1/customer/1001"))
    assert refused.value.status_code == 401
    assert "INVALID_LOGIN" in refused.value.response_text
