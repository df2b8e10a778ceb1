"""Crosswalks per ERP target: a product names NetSuite items beside its SAP materials, and the
ERP-target table routes deals by account or billing country (issue 15 §2)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from crosswalks.models import CrosswalkChange, ErpTargetRule, ProductMapping
from crosswalks.selectors import erp_target_route
from integration_hub import ports
from integration_hub.errors import NotFound
from integration_hub.models import salesforce_id_18
from tests.crosswalks.test_api import client_for
from tests.factories import Cast

pytestmark = pytest.mark.django_db
URL = reverse("api:product-mapping-list")
TARGETS = ("s4hana", "netsuite")


class KnownItems:
    """An ERP port as the crosswalk checks see it: it knows these items and customers only."""

    def __init__(self, target: str, items: set[str], customers: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.target = target
        self.items = items
        self.customers = customers

    def material_exists(self, material: str) -> bool:
        return material in self.items

    def customer_get(self, number: str) -> Any:
        if number not in self.customers:
            raise NotFound(f"no customer {number}")
        return object()

    def payment_terms_keys(self) -> set[str]:
        return {"5", "6"} if self.target == "netsuite" else {"0001", "NT30"}


@pytest.fixture
def erps() -> Iterator[None]:
    with ports.ports_use(erp=KnownItems("s4hana", {"MAT-EL-001", "MAT-AA-001"}, {"10100001"}), target="s4hana"), \
            ports.ports_use(erp=KnownItems("netsuite", {"501", "502"}, {"1001"}), target="netsuite"):
        yield


def test_it_maps_a_product_to_a_netsuite_item_through_the_api(cast: Cast, erps: None) -> None:
    response = client_for(cast.integration_ops).post(URL, {
        "crm_product_code": "EL-NS", "crm_product_name": "Enterprise", "erp_target": "netsuite",
        "components": [{"erp_item": "501", "quantity_factor": 1}],
    }, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["components"] == [
        {"erp_target": "netsuite", "erp_item": "501", "quantity_factor": "1.0000", "position": 0}]
    component = ProductMapping.objects.get(crm_product_code="EL-NS").components.get()
    assert (component.erp_target, component.erp_item, component.sap_material) == ("netsuite", "501", "")
    assert CrosswalkChange.objects.get(row_key="EL-NS").after["erp_items"] == "netsuite:501 × 1"


def test_it_adds_netsuite_items_to_a_product_mapped_to_sap_and_keeps_the_sap_materials(cast: Cast, erps: None) -> None:
    client = client_for(cast.integration_ops)
    sap = client.post(URL, {"crm_product_code": "EL-2", "components": [{"sap_material": "MAT-EL-001"}]}, format="json")
    assert sap.status_code == 201, sap.json()

    netsuite = client.post(URL, {"crm_product_code": "EL-2", "erp_target": "netsuite",
                                 "components": [{"erp_item": "502", "quantity_factor": "2"}]}, format="json")

    assert netsuite.status_code == 201, netsuite.json()
    mapping = ProductMapping.objects.get(crm_product_code="EL-2")
    assert sorted((c.erp_target, c.item, c.quantity_factor) for c in mapping.components.all()) == [
        ("netsuite", "502", Decimal("2")), ("s4hana", "MAT-EL-001", Decimal("1"))]
    # The S/4 form reads exactly as before.
    assert client.get(reverse("api:product-mapping-detail", args=[mapping.pk])).json()["components"][0] == {
        "sap_material": "MAT-EL-001", "quantity_factor": "1.0000", "position": 0}
    assert list(CrosswalkChange.objects.filter(row_key="EL-2").values_list("action", flat=True)) == ["update", "create"]


@pytest.mark.parametrize(("component", "message"), [
    ({"erp_item": "999"}, "NetSuite has no item 999"),
    ({"sap_material": "MAT-EL-001"}, "the netsuite item id (erp_item) is required"),
])
def test_it_refuses_a_netsuite_item_netsuite_lacks_and_saves_nothing(cast: Cast, erps: None, component: dict[str, str],
                                                                     message: str) -> None:
    response = client_for(cast.integration_ops).post(URL, {
        "crm_product_code": "EL-BAD", "erp_target": "netsuite", "components": [component]}, format="json")

    assert response.status_code == 400
    assert message in str(response.json()["components"])
    assert not ProductMapping.objects.filter(crm_product_code="EL-BAD").exists()


def test_it_keeps_customer_and_terms_rows_per_target(cast: Cast, erps: None) -> None:
    client = client_for(cast.master_data_steward)
    account = "001000000000001AAA"
    for target, partner in (("s4hana", "10100001"), ("netsuite", "1001")):
        response = client.post(reverse("api:crosswalk-table", args=["customers"]), {
            "crm_account_id": account, "sap_business_partner": partner, "erp_target": target}, format="json")
        assert response.status_code == 201, response.json()
    refused = client.post(reverse("api:crosswalk-table", args=["customers"]), {
        "crm_account_id": account, "sap_business_partner": "4242", "erp_target": "netsuite"}, format="json")
    assert refused.status_code == 400
    assert "NetSuite has no customer 4242" in str(refused.json())
    keys = set(CrosswalkChange.objects.filter(table="customers").values_list("row_key", flat=True))
    assert {k.split("|", 1)[1] for k in keys} == {account, f"{account}|netsuite"}

    terms = client.post(reverse("api:crosswalk-table", args=["terms"]),
                        {"crm_value": "Net 30", "sap_terms_key": "5", "erp_target": "netsuite"}, format="json")
    assert terms.status_code == 201, terms.json()
    wrong = client.post(reverse("api:crosswalk-table", args=["terms"]),
                        {"crm_value": "Net 45", "sap_terms_key": "NT45", "erp_target": "netsuite"}, format="json")
    assert wrong.status_code == 400
    assert "not an NetSuite payment-terms key" in str(wrong.json())


def test_it_routes_by_the_opportunity_then_the_account_then_the_country_then_the_default(cast: Cast, settings: Any) -> None:
    settings.HUB_DEFAULT_ERP_TARGET = "s4hana"
    account18 = salesforce_id_18("001000000000042")
    client = client_for(cast.integration_ops)
    table = reverse("api:crosswalk-table", args=["erp-targets"])
    # The account rule is typed with the 15-character id; deals carry the 18-character one.
    assert client.post(table, {"crm_account_id": "001000000000042", "erp_target": "netsuite"}, format="json").status_code == 201
    assert client.post(table, {"billing_country": "gb", "erp_target": "netsuite"}, format="json").status_code == 201
    assert client.post(table, {"crm_account_id": "001000000000042", "billing_country": "GB",
                               "erp_target": "netsuite"}, format="json").status_code == 400
    assert ErpTargetRule.objects.get(billing_country="GB").erp_target == "netsuite"
    assert ErpTargetRule.objects.get(billing_country="").crm_account_id == account18

    def route(**kw: str) -> tuple[str, str]:
        choice = erp_target_route(**{"requested": "", "crm_account_id": "", "billing_country": "", **kw}, known=TARGETS)
        return choice.target, choice.rule

    assert route(crm_account_id=account18, billing_country="US")[0] == "netsuite"
    assert route(crm_account_id="001000000000043AAA", billing_country="United Kingdom")[0] == "netsuite"
    assert route(crm_account_id="001000000000043AAA", billing_country="US") == ("s4hana", "HUB_DEFAULT_ERP_TARGET")
    assert route(requested="s4hana", crm_account_id=account18) == ("s4hana", "Opportunity.ERP_Target__c")
    assert route(requested="oracle", crm_account_id=account18)[0] == "netsuite"  # an unknown target is no choice
    settings.HUB_DEFAULT_ERP_TARGET = "netsuite"
    assert route(billing_country="DE")[0] == "netsuite"
    assert CrosswalkChange.objects.filter(table="erp-targets").count() == 2
