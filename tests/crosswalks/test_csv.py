"""CSV dry run, all-or-nothing import, Excel files, filtered export, and the deals an import unblocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from crosswalks.csvio import export_csv, import_apply, import_plan
from crosswalks.models import CrosswalkChange, ProductMapping, SapMaterial, UnitOfMeasureMapping
from crosswalks.sap_lookup import SapLookup
from crosswalks.services import product_mapping_create
from crosswalks.tables import TABLES
from exceptions.models import ExceptionStatus, SyncException
from integration_hub.models import HandoffStatus
from tests.crosswalks.test_api import client_for
from tests.factories import Cast
from tests.fakes import FakeErp

pytestmark = pytest.mark.django_db
PRODUCTS = TABLES["products"]

GOOD = "crm_product_code,crm_product_name,materials,confidence\nEL-X05,Enterprise X,MAT-EL-005 × 1,1\nBND-1,Bundle,MAT-A × 2 + MAT-B,0.97\n"


def test_it_dry_runs_a_file_with_a_bad_row_names_the_row_and_changes_nothing(cast: Cast) -> None:
    text = GOOD + "SK-1,Sensor,MAT-SK × 0,1\nSK-2,Sensor 2,MAT-SK-2,1.5\n"
    plan = import_plan(PRODUCTS, text)

    assert not plan.ok
    assert [(e.line, e.column) for e in plan.errors] == [(4, "materials"), (5, "confidence")]
    assert "greater than 0" in plan.errors[0].message
    assert "between 0 and 1" in plan.errors[1].message
    assert not ProductMapping.objects.exists()


def test_it_imports_all_rows_and_records_each_in_the_history(cast: Cast, sap_knows_everything: None) -> None:
    product_mapping_create(crm_product_code="BND-1", components=[{"sap_material": "MAT-A"}])
    product_mapping_create(crm_product_code="GONE-1", components=[{"sap_material": "MAT-G"}])
    plan = import_plan(PRODUCTS, GOOD, replace=True)

    assert plan.ok, plan.errors
    assert plan.counts == {"added": 1, "changed": 1, "removed": 1, "unchanged": 0}
    import_apply(plan=plan, actor=cast.admin, reason="quarterly refresh")

    bundle = ProductMapping.objects.get(crm_product_code="BND-1")
    assert [(c.sap_material, int(c.quantity_factor)) for c in bundle.components.all()] == [("MAT-A", 2), ("MAT-B", 1)]
    assert not ProductMapping.objects.filter(crm_product_code="GONE-1").exists()
    csv_changes = CrosswalkChange.objects.filter(channel="csv")
    assert sorted(csv_changes.values_list("action", flat=True)) == ["create", "delete", "update"]
    assert set(csv_changes.values_list("reason", flat=True)) == {"quarterly refresh"}


def test_it_reads_excel_csv_with_bom_semicolons_and_crlf(cast: Cast) -> None:
    text = "\ufeffcrm_unit;sap_unit\r\nEach;ea\r\nHours;H\r\n"
    plan = import_plan(TABLES["units"], text.encode("utf-8"))
    assert plan.ok, plan.errors
    import_apply(plan=plan, actor=cast.admin)
    assert dict(UnitOfMeasureMapping.objects.values_list("crm_unit", "sap_unit")) == {"Each": "EA", "Hours": "H"}

    exported = export_csv(TABLES["units"], TABLES["units"].filtered("hour"), excel=True)
    assert exported == "\ufeffcrm_unit;sap_unit\r\nHours;H\r\n"
    again = import_plan(TABLES["units"], exported.encode("utf-8"))
    assert again.counts["unchanged"] == 1 and again.counts["added"] == 0


def test_it_reports_unknown_columns_duplicates_and_materials_sap_lacks(cast: Cast) -> None:
    assert import_plan(PRODUCTS, "code,materials\nA,B\n").errors[0].message.startswith("Unknown column 'code'")
    SapMaterial.objects.create(material="MAT-EL-005", description="x")
    lookup = SapLookup(erp=FakeErp(), trust_cache=True)
    plan = import_plan(PRODUCTS, "crm_product_code,materials\nA,MAT-EL-005\nA,MAT-EL-005\nB,MAT-NONE\n", lookup=lookup)
    assert [(e.line, e.column, e.message) for e in plan.errors] == [
        (3, "crm_product_code", "A is already on line 2."), (4, "materials", "SAP has no material MAT-NONE.")]


def test_it_imports_through_the_screen_dry_run_first(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.admin)
    url = reverse("crosswalks:import", args=["units"])
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = client.post(url, {"file": SimpleUploadedFile("u.csv", b"crm_unit,sap_unit\nEach,EACH\n")})
    assert bad.status_code == 422
    assert b"<td>2</td><td>sap_unit</td>" in bad.content
    dry = client.post(url, {"file": SimpleUploadedFile("u.csv", b"crm_unit,sap_unit\nEach,EA\n")})
    assert b"1 to add" in dry.content and not UnitOfMeasureMapping.objects.exists()
    done = client.post(url, {"content": "crm_unit,sap_unit\nEach,EA\n", "confirm": "1"})
    assert b"Imported: 1 added" in done.content
    assert UnitOfMeasureMapping.objects.get().sap_unit == "EA"
    outsider = Client()
    outsider.force_login(cast.outsider)
    assert outsider.post(url, {"content": "crm_unit,sap_unit\nX,EA\n", "confirm": "1"}).status_code == 403


def test_it_exports_only_the_filtered_rows(cast: Cast, sap_knows_everything: None) -> None:
    product_mapping_create(crm_product_code="EL-1", crm_product_name="Enterprise", components=[{"sap_material": "MAT-EL"}])
    product_mapping_create(crm_product_code="SK-1", crm_product_name="Sensor", components=[{"sap_material": "MAT-SK"}])
    client = Client()
    client.force_login(cast.outsider)
    body = client.get(reverse("crosswalks:export", args=["products"]) + "?q=sensor").content.decode()
    assert body.splitlines() == [",".join(PRODUCTS.column_names), "SK-1,Sensor,MAT-SK × 1,1,yes,,"]


def test_it_re_runs_the_deals_a_csv_import_unblocks_and_names_them(
    cast: Cast, sap_knows_everything: None, blocked_by_product: Callable[..., SyncException], enqueued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    exception = blocked_by_product("EL-X05")
    url = reverse("api:crosswalk-import", args=["products"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.admin).post(url, {"content": GOOD, "dry_run": "false"})

    assert response.status_code == 200, response.json()
    assert response.json()["rerun_handoffs"] == [exception.handoff_id]
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.RESOLVED
    exception.handoff.refresh_from_db()
    assert exception.handoff.status == HandoffStatus.VALIDATING
    assert enqueued == [exception.handoff_id]


def test_it_unblocks_what_the_rows_fix_when_they_are_written_not_what_the_dry_run_saw(
    cast: Cast, blocked_by_product: Callable[..., SyncException], enqueued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    plan = import_plan(PRODUCTS, GOOD)
    assert plan.ok and plan.preview.exceptions == []
    exception = blocked_by_product("BND-1")  # a deal blocked on one of the file's products since the dry run

    with django_capture_on_commit_callbacks(execute=True):
        imported = import_apply(plan=plan, actor=cast.admin)

    assert imported.counts["added"] == 2
    assert imported.unblocked.rerun_handoffs == [exception.handoff_id]
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.RESOLVED
    assert enqueued == [exception.handoff_id]
