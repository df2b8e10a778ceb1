"""CSV exports open safely in a spreadsheet, and the import's dry run flags formula cells."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from crosswalks.csvio import import_apply, import_plan
from crosswalks.models import PaymentTermsMapping
from crosswalks.tables import TABLES
from integration_hub.csvsafe import formula_risk, spreadsheet_safe
from tests.crosswalks.test_api import client_for
from tests.factories import Cast

pytestmark = pytest.mark.django_db
TERMS = TABLES["terms"]
FORMULA = '=HYPERLINK("http://x","y")'


def web(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def planted_file() -> str:
    return f'crm_value,sap_terms_key\n"{FORMULA.replace(chr(34), chr(34) * 2)}",NT30\nNet 45,NT45\n'


def test_it_flags_a_formula_cell_in_the_dry_run_and_imports_it_as_typed(cast: Cast) -> None:
    plan = import_plan(TERMS, planted_file())

    assert plan.ok
    assert [(w.line, w.column) for w in plan.warnings] == [(2, "crm_value")]
    assert "starts with '=': a spreadsheet would run it as a formula" in plan.warnings[0].message
    import_apply(plan=plan, actor=cast.admin)
    assert PaymentTermsMapping.objects.filter(crm_value=FORMULA).exists()


def test_it_exports_a_planted_formula_neutralised(cast: Cast) -> None:
    import_apply(plan=import_plan(TERMS, planted_file()), actor=cast.admin)

    for excel in ("0", "1"):
        body = web(cast.outsider).get(reverse("crosswalks:export", args=["terms"]), {"excel": excel}).content
        text = body.decode("utf-8-sig")
        assert "'=HYPERLINK(" in text
        assert "\n=HYPERLINK" not in text and '"=HYPERLINK' not in text  # no cell starts with the formula
        assert "Net 45" in text


def test_it_reimports_its_own_export_without_changing_a_row(cast: Cast) -> None:
    import_apply(plan=import_plan(TERMS, planted_file()), actor=cast.admin)
    exported = web(cast.admin).get(reverse("crosswalks:export", args=["terms"])).content.decode()

    again = import_plan(TERMS, exported)

    assert again.counts == {"added": 0, "changed": 0, "removed": 0, "unchanged": 2}
    assert len(again.warnings) == 1  # still worth a look: the value is a formula, quoted or not


def test_it_shows_the_warning_in_the_import_preview(cast: Cast) -> None:
    response = web(cast.master_data_steward).post(reverse("crosswalks:import", args=["terms"]),
                                                  {"content": planted_file()}, HTTP_HX_REQUEST="true",
                                                  HTTP_HX_TARGET="result")

    assert response.status_code == 200
    assert "1 warning" in response.content.decode()
    assert "a spreadsheet would run it as a formula" in response.content.decode()


def test_it_lists_the_warning_in_the_api_dry_run(cast: Cast) -> None:
    response = client_for(cast.admin).post(reverse("api:crosswalk-import", args=["terms"]),
                                           {"content": planted_file()}, format="json")

    assert response.status_code == 200
    assert [w["line"] for w in response.json()["warnings"]] == [2]


@pytest.mark.parametrize(("cell", "safe"), [
    ("=1+1", "'=1+1"), ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    # Plain numbers stay numbers: a quote would turn -5 into text and break a sum.
    ("-5", "-5"), ("+1.5", "+1.5"), ("-0.25e3", "-0.25e3"), ("Net 30", "Net 30"), ("", ""),
])
def test_it_neutralises_every_formula_start_but_leaves_plain_numbers(cell: str, safe: str) -> None:
    assert spreadsheet_safe(cell) == safe
    assert bool(formula_risk(cell)) == (safe != cell)
