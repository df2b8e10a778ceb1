"""The REST API does what the screens do: rows of every table, preview, CSV, history and revert."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crosswalks.models import CrosswalkChange, PaymentTermsMapping
from tests.crosswalks.test_api import client_for
from tests.factories import Cast

pytestmark = pytest.mark.django_db


def test_it_saves_imports_lists_and_reverts_through_the_api(cast: Cast) -> None:
    admin = client_for(cast.admin)
    url = reverse("api:crosswalk-table", args=["terms"])
    assert admin.post(url, {"crm_value": "Net 30", "sap_terms_key": "NT30", "confirm": "false"}).json() == {
        "preview": {"unblocks": [], "still_blocked": [], "orders_affected": []}}
    assert not PaymentTermsMapping.objects.exists()
    assert admin.post(url, {"crm_value": "Net 30", "sap_terms_key": "NT30"}).status_code == 201
    assert admin.post(url, {"crm_value": "Net 45", "sap_terms_key": "ZZ"}).status_code == 400

    bad = admin.post(reverse("api:crosswalk-import", args=["terms"]), {"content": "crm_value,sap_terms_key\nNet 30,\n"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["line"] == 2
    done = admin.post(reverse("api:crosswalk-import", args=["terms"]),
                      {"content": "crm_value,sap_terms_key\nnet 30,NT45\n", "dry_run": "false"})
    assert done.json()["counts"]["changed"] == 1
    assert admin.get(url).json()[0]["sap_terms_key"] == "NT45"

    history = admin.get(reverse("api:crosswalk-history", args=["terms"])).json()
    assert [h["channel"] for h in history] == ["csv", "api"]
    admin.post(reverse("api:crosswalk-revert", args=[history[0]["id"]]))
    assert PaymentTermsMapping.objects.get().sap_terms_key == "NT30"
    assert CrosswalkChange.objects.count() == 3

    outsider = client_for(cast.outsider)
    assert outsider.get(url).status_code == 200
    assert outsider.post(url, {"crm_value": "Net 60", "sap_terms_key": "NT60"}).status_code == 403
    assert outsider.get(reverse("api:crosswalk-suggestions")).status_code == 200
    assert outsider.get(reverse("api:crosswalk-alerts")).status_code == 200
