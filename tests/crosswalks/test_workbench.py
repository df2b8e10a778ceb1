"""History, revert, validity, the unblock preview and permissions of the crosswalk workbench."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crosswalks.models import (
    ChangeChannel,
    CrosswalkChange,
    CustomerMapping,
    PaymentTermsMapping,
    ProductMapping,
)
from crosswalks.selectors import product_mapping_active, row_as_of, stale_alerts, unblock_preview
from crosswalks.services import crosswalk_change_revert, crosswalk_row_save, product_mapping_create
from crosswalks.tables import TABLES, parse_components
from exceptions.models import ExceptionStatus, ExceptionType
from integration_hub.models import HandoffStatus
from tests.crosswalks.test_api import client_for
from tests.factories import Cast, HandoffFactory, SyncExceptionFactory

pytestmark = pytest.mark.django_db
PRODUCTS = TABLES["products"]


def _blocked_by_product(code: str, **kwargs):
    return SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, fingerprint=f"product_not_mapped:product:{code}",
                                evidence={"product_code": code, "product_name": f"{code} name"}, **kwargs)


def test_it_records_who_changed_what_and_why_and_reverts_it(cast: Cast, sap_knows_everything: None) -> None:
    crosswalk_row_save(table=PRODUCTS, raw={"crm_product_code": "EL-X01", "materials": "MAT-EL-001 × 1"},
                       actor=cast.admin, channel="ui", reason="new product")
    mapping = ProductMapping.objects.get(crm_product_code="EL-X01")
    crosswalk_row_save(table=PRODUCTS, raw={"crm_product_code": "EL-X01", "materials": "MAT-EL-002 × 2 EA"},
                       actor=cast.admin, channel="ui", reason="wrong material", instance=mapping)

    change = CrosswalkChange.objects.filter(row_key="EL-X01").first()
    assert (change.action, change.actor, change.reason) == ("update", cast.admin, "wrong material")
    assert change.before["materials"] == "MAT-EL-001 × 1"
    assert change.after["materials"] == "MAT-EL-002 × 2 EA"

    crosswalk_change_revert(change=change, actor=cast.admin, channel=ChangeChannel.UI)
    mapping.refresh_from_db()
    assert [c.sap_material for c in mapping.components.all()] == ["MAT-EL-001"]
    assert CrosswalkChange.objects.filter(row_key="EL-X01").first().action == "revert"


def test_it_shows_a_row_as_it_stood_on_a_date(cast: Cast) -> None:
    crosswalk_row_save(table=TABLES["terms"], raw={"crm_value": "Net 30", "sap_terms_key": "NT30"},
                       actor=cast.admin, channel="ui")
    first = CrosswalkChange.objects.get()
    first.created_at = timezone.now() - timedelta(days=10)
    first.save()
    crosswalk_row_save(table=TABLES["terms"], raw={"crm_value": "net 30", "sap_terms_key": "NT45"},
                       actor=cast.admin, channel="ui")

    assert PaymentTermsMapping.objects.get().sap_terms_key == "NT45"
    assert row_as_of(table="terms", row_key="net 30", when=timezone.now() - timedelta(days=5))["sap_terms_key"] == "NT30"
    assert row_as_of(table="terms", row_key="net 30", when=timezone.now() - timedelta(days=20)) is None


def test_it_records_api_and_deletes_and_revert_of_a_delete_brings_the_row_back(
    cast: Cast, sap_knows_everything: None
) -> None:
    mapping = product_mapping_create(crm_product_code="SKU-9", components=[{"sap_material": "MAT-1"}],
                                     actor=cast.admin).row
    client = Client()
    client.force_login(cast.admin)
    client.post(reverse("crosswalks:delete", args=["products", mapping.pk]))
    deleted = CrosswalkChange.objects.filter(row_key="SKU-9").first()
    assert deleted.action == "delete" and deleted.after is None
    assert list(CrosswalkChange.objects.filter(row_key="SKU-9").values_list("channel", flat=True)) == ["ui", "api"]

    crosswalk_change_revert(change=deleted, actor=cast.admin, channel=ChangeChannel.UI)
    assert ProductMapping.objects.get(crm_product_code="SKU-9").components.get().sap_material == "MAT-1"


def test_it_honours_validity_dates_in_the_active_selector(cast: Cast, sap_knows_everything: None) -> None:
    today = timezone.localdate()
    crosswalk_row_save(table=PRODUCTS, actor=cast.admin, channel="ui", raw={
        "crm_product_code": "NEW-1", "materials": "MAT-1", "valid_from": (today + timedelta(days=3)).isoformat()})
    assert product_mapping_active("new-1") is None
    assert product_mapping_active("NEW-1", on=today + timedelta(days=3)) is not None
    cleaned = PRODUCTS.clean({"crm_product_code": "X", "materials": "M", "valid_from": "2026-02-01",
                              "valid_to": "2026-01-01"})
    assert "before valid from" in cleaned.errors["valid_to"]


def test_it_parses_bundles_with_factors_and_units() -> None:
    assert parse_components("MAT-A × 2 EA + MAT-B*0,5 + MAT-C") == [
        {"sap_material": "MAT-A", "quantity_factor": 2, "unit": "EA", "position": 0},
        {"sap_material": "MAT-B", "quantity_factor": parse_components("MAT-B*0.5")[0]["quantity_factor"], "unit": "",
         "position": 1},
        {"sap_material": "MAT-C", "quantity_factor": 1, "unit": "", "position": 2},
    ]
    with pytest.raises(ValueError, match="listed twice"):
        parse_components("MAT-A + MAT-A")


def test_it_previews_exactly_the_handoffs_an_edit_unblocks(cast: Cast) -> None:
    only = _blocked_by_product("EL-X05")
    shared = _blocked_by_product("EL-X05")
    SyncExceptionFactory(handoff=shared.handoff, type_code=ExceptionType.PRICING_MISMATCH, fingerprint="pricing:x")
    _blocked_by_product("OTHER-1")
    created = HandoffFactory(status=HandoffStatus.WRITTEN_BACK, sap_sales_order="5000001",
                             canonical={"lines": [{"product_code": "EL-X05"}], "organization": {}})

    values = PRODUCTS.clean({"crm_product_code": "el-x05", "materials": "MAT-EL-005"}).values
    preview = unblock_preview(table="products", rows=[values], changed=[values])

    assert [h.pk for h in preview.unblocked] == [only.handoff_id]
    assert [h.pk for h in preview.still_blocked] == [shared.handoff_id]
    assert [h.pk for h in preview.orders] == [created.pk]
    low = PRODUCTS.clean({"crm_product_code": "EL-X05", "materials": "MAT-EL-005", "confidence": "0.8"}).values
    assert unblock_preview(table="products", rows=[low]).exceptions == []


def test_it_resolves_the_fixed_exceptions_on_save_and_re_runs_their_handoffs(
    cast: Cast, enqueued: list[int], sap_knows_everything: None, django_capture_on_commit_callbacks
) -> None:
    exception = _blocked_by_product("EL-X05")
    client = Client()
    client.force_login(cast.admin)
    url = reverse("crosswalks:save", args=["products"])
    data = {"crm_product_code": "EL-X05", "materials": "MAT-EL-005 × 1", "reason": "new tier"}

    preview = client.post(url, data, HTTP_HX_REQUEST="true")
    assert preview.status_code == 200
    assert b"Unblocks 1 blocked deal" in preview.content
    assert exception.handoff.opportunity_id.encode() in preview.content
    assert not ProductMapping.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(url, {**data, "confirm": "1"}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200
    assert "crosswalkSaved" in saved["HX-Trigger"]
    assert b'hx-trigger="every 1s"' in saved.content
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.RESOLVED
    assert enqueued == [exception.handoff_id]


def test_it_checks_values_against_sap_as_entered(cast: Cast, sap_knows_everything: None) -> None:
    client = Client()
    client.force_login(cast.admin)
    response = client.post(reverse("crosswalks:save", args=["products"]),
                           {"crm_product_code": "X-1", "materials": "MAT-NOPE-1"})
    assert response.status_code == 422
    assert b"SAP has no material MAT-NOPE-1" in response.content
    response = client.post(reverse("crosswalks:save", args=["terms"]),
                           {"crm_value": "Net 99", "sap_terms_key": "ZZ99"}, HTTP_HX_REQUEST="true")
    assert b"ZZ99 is not an SAP payment-terms key" in response.content
    response = client.post(reverse("crosswalks:save", args=["customers"]),
                           {"crm_account_id": "001A", "sap_business_partner": "99999999"}, HTTP_HX_REQUEST="true")
    assert b"SAP has no business partner 99999999" in response.content
    assert not CustomerMapping.objects.exists()


def test_it_lets_everyone_read_and_only_editors_write(cast: Cast, sap_knows_everything: None) -> None:
    data = {"crm_product_code": "X-1", "materials": "MAT-1", "confirm": "1"}
    for user, table, status in [
        (cast.outsider, "products", 403), (cast.pricing_analyst, "products", 403),
        (cast.master_data_steward, "products", 403), (cast.master_data_steward, "customers", 302),
        (cast.integration_ops, "products", 302), (cast.admin, "products", 302),
    ]:
        client = Client()
        client.force_login(user)
        assert client.get(reverse("crosswalks:table", args=[table])).status_code == 200
        payload = data if table == "products" else {"crm_account_id": f"001{user.pk}", "sap_business_partner": "17100001",
                                                    "confirm": "1"}
        response = client.post(reverse("crosswalks:save", args=[table]), payload)
        assert response.status_code == status, (user, table)


def test_it_keeps_csrf_on_for_writes(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.admin)
    response = client.post(reverse("crosswalks:save", args=["products"]), {"crm_product_code": "X"})
    assert response.status_code == 403


def test_it_ranks_the_products_and_accounts_behind_most_blocked_deals(cast: Cast) -> None:
    for _ in range(3):
        _blocked_by_product("EL-X05")
    _blocked_by_product("SK-X02")
    SyncExceptionFactory(type_code=ExceptionType.CUSTOMER_NOT_FOUND, fingerprint="customer_not_found:a",
                         evidence={"account": "001X", "account_name": "Zorg Industries"})
    alerts = stale_alerts()
    assert [(a.kind, a.key, a.blocked) for a in alerts] == [
        ("product", "EL-X05", 3), ("account", "001X", 1), ("product", "SK-X02", 1)]
    page = Client()
    page.force_login(cast.outsider)
    assert b"3 deals blocked" in page.get(reverse("crosswalks:workbench")).content


def test_it_renders_every_table_and_the_htmx_partial(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.admin)
    for slug in TABLES:
        assert client.get(reverse("crosswalks:table", args=[slug])).status_code == 200
    partial = client.get(reverse("crosswalks:table", args=["products"]), HTTP_HX_REQUEST="true")
    assert partial.content.lstrip().startswith(b'<section class="card" id="rows"')
    editor = client.get(reverse("crosswalks:table", args=["products"]) + "?edit=new&partial=editor", HTTP_HX_REQUEST="true")
    assert b'id="editor"' in editor.content and b"Check against SAP" in editor.content


def test_it_shows_what_a_delete_changes_before_deleting(cast: Cast, sap_knows_everything: None) -> None:
    mapping = product_mapping_create(crm_product_code="EL-DEL", components=[{"sap_material": "MAT-EL-001"}]).row
    HandoffFactory(status=HandoffStatus.WRITTEN_BACK, sap_sales_order="5000042",
                   canonical={"lines": [{"product_code": "EL-DEL"}]})
    client = Client()
    client.force_login(cast.admin)
    url = reverse("crosswalks:delete", args=["products", mapping.pk])

    page = client.get(url).content.decode()
    assert "Delete EL-DEL?" in page
    assert "5000042" in page  # the order created with this row is named before anything is deleted
    assert ProductMapping.objects.filter(pk=mapping.pk).exists()

    client.post(url, {"reason": "product retired"})
    assert not ProductMapping.objects.filter(pk=mapping.pk).exists()
    assert CrosswalkChange.objects.filter(row_key="EL-DEL", action="delete", reason="product retired").exists()


def test_it_pages_a_long_table(cast: Cast) -> None:
    for n in range(130):
        ProductMapping.objects.create(crm_product_code=f"PG-{n:03d}")
    client = Client()
    client.force_login(cast.admin)
    first = client.get(reverse("crosswalks:table", args=["products"])).content.decode()
    second = client.get(reverse("crosswalks:table", args=["products"]) + "?page=2").content.decode()
    assert "Page 1 of 2" in first and "PG-000" in first and "PG-129" not in first
    assert "PG-129" in second


def test_it_re_runs_the_deals_a_revert_of_a_deletion_unblocks(
    cast: Cast, sap_knows_everything: None, enqueued: list[int], django_capture_on_commit_callbacks
) -> None:
    mapping = product_mapping_create(crm_product_code="EL-X05", components=[{"sap_material": "MAT-EL-005"}],
                                     actor=cast.admin).row
    client = Client()
    client.force_login(cast.admin)
    client.post(reverse("crosswalks:delete", args=["products", mapping.pk]), {"reason": "retired"})
    exception = _blocked_by_product("EL-X05")  # the product's next deal, blocked without its mapping
    deleted = CrosswalkChange.objects.get(row_key="EL-X05", action="delete")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.admin).post(reverse("api:crosswalk-revert", args=[deleted.pk]))

    assert response.json() == {"reverted": deleted.pk, "rerun_handoffs": [exception.handoff_id]}
    assert ProductMapping.objects.get(crm_product_code="EL-X05").components.get().sap_material == "MAT-EL-005"
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.RESOLVED
    exception.handoff.refresh_from_db()
    assert exception.handoff.status == HandoffStatus.VALIDATING
    assert enqueued == [exception.handoff_id]


def test_it_re_runs_the_deals_a_revert_that_reactivates_a_mapping_unblocks(
    cast: Cast, sap_knows_everything: None, enqueued: list[int], django_capture_on_commit_callbacks
) -> None:
    crosswalk_row_save(table=PRODUCTS, raw={"crm_product_code": "EL-X05", "materials": "MAT-EL-005"},
                       actor=cast.admin, channel="ui")
    crosswalk_row_save(table=PRODUCTS, raw={"crm_product_code": "EL-X05", "materials": "MAT-EL-005", "active": "no"},
                       actor=cast.admin, channel="ui", reason="switched off by mistake")
    exception = _blocked_by_product("EL-X05")
    switched_off = CrosswalkChange.objects.get(row_key="EL-X05", action="update")
    client = Client()
    client.force_login(cast.admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("crosswalks:revert", args=[switched_off.pk]), follow=True)

    assert "1 blocked deal(s) re-run" in response.content.decode()
    assert ProductMapping.objects.get(crm_product_code="EL-X05").active is True
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.RESOLVED
    assert enqueued == [exception.handoff_id]


def test_it_refuses_to_revert_to_a_material_sap_no_longer_has(cast: Cast, sap_knows_everything: None) -> None:
    crosswalk_row_save(table=PRODUCTS, raw={"crm_product_code": "EL-X05", "materials": "MAT-EL-005"},
                       actor=cast.admin, channel="ui")
    mapping = ProductMapping.objects.get()
    mapping.components.update(sap_material="MAT-NOPE-OLD")  # what it pointed to then, gone from SAP since
    crosswalk_row_save(table=PRODUCTS, raw={"crm_product_code": "EL-X05", "materials": "MAT-EL-006"},
                       actor=cast.admin, channel="ui", instance=mapping)
    change = CrosswalkChange.objects.get(row_key="EL-X05", action="update")

    with pytest.raises(ValidationError, match="SAP has no material MAT-NOPE-OLD"):
        crosswalk_change_revert(change=change, actor=cast.admin, channel=ChangeChannel.UI)

    assert mapping.components.get().sap_material == "MAT-EL-006"
