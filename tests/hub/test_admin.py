"""The admin pages of the data layer render for an admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crosswalks.models import ProductMapping
from exceptions.models import SyncException
from integration_hub.connectors.base import CallRecord
from integration_hub.models import OutboundNotification
from integration_hub.services import handoff_transition, sync_attempt_record
from tests.factories import HandoffFactory, ProductMappingComponentFactory, SyncExceptionFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "integration_hub/handoff",
    "integration_hub/syncattempt",
    "integration_hub/transformationlog",
    "integration_hub/handoffevent",
    "integration_hub/outboundnotification",
    "integration_hub/pollwatermark",
    "exceptions/queue",
    "exceptions/syncexception",
    "crosswalks/productmapping",
    "crosswalks/customermapping",
    "crosswalks/paymenttermsmapping",
    "crosswalks/taxrule",
    "crosswalks/unitofmeasuremapping",
]


@pytest.mark.parametrize("model", MODELS)
def test_it_lists_every_model_in_the_admin(admin_client: object, model: str) -> None:
    app, name = model.split("/")
    assert admin_client.get(reverse(f"admin:{app}_{name}_changelist"), {"q": "x"}).status_code == 200  # type: ignore[attr-defined]


def test_it_shows_a_handoff_with_its_events_and_sync_attempts(admin_client: object) -> None:
    handoff = HandoffFactory()
    handoff_transition(
        handoff=handoff, to_status="validating", actor_label="worker", reason="extracted from Salesforce"
    )
    sync_attempt_record(
        handoff=handoff,
        record=CallRecord(
            system="sap", operation="create:A_SalesOrder", method="POST", url="https://sap/x", status=201
        ),
    )

    page = admin_client.get(
        reverse("admin:integration_hub_handoff_change", args=[handoff.pk])
    ).content.decode()  # type: ignore[attr-defined]

    assert "extracted from Salesforce" in page
    assert "create:A_SalesOrder" in page


def test_it_resolves_exceptions_from_the_admin_through_the_service(admin_client: object) -> None:
    exception = SyncExceptionFactory()

    admin_client.post(  # type: ignore[attr-defined]
        reverse("admin:exceptions_syncexception_changelist"),
        {"action": "resolve_selected", "_selected_action": [exception.pk]},
    )

    exception = SyncException.objects.get(pk=exception.pk)
    assert exception.status == "resolved"
    exception.handoff.refresh_from_db()
    assert exception.handoff.status == "validating"


def test_it_shows_crosswalks_read_only_so_every_edit_goes_through_the_checked_save_path(admin_client: object) -> None:
    """The admin cannot ask the ERP inside its transaction, so it never writes a crosswalk row:
    `MAT-NOPE-999` can only enter through the workbench, API or CSV, which check it first."""
    component = ProductMappingComponentFactory(mapping__crm_product_code="SKU-KEEP")
    data = {"crm_product_code": "SKU-NEW", "crm_product_name": "New", "confidence": "1.0", "active": "on",
            "source": "manual", "components-TOTAL_FORMS": "1", "components-INITIAL_FORMS": "0",
            "components-0-sap_material": "MAT-NOPE-999", "components-0-quantity_factor": "1"}

    added = admin_client.post(reverse("admin:crosswalks_productmapping_add"), data)  # type: ignore[attr-defined]
    shown = admin_client.get(reverse("admin:crosswalks_productmapping_change", args=[component.mapping.pk]))  # type: ignore[attr-defined]
    deleted = admin_client.post(reverse("admin:crosswalks_productmapping_delete", args=[component.mapping.pk]),  # type: ignore[attr-defined]
                                {"post": "yes"})

    assert added.status_code == 403
    assert shown.status_code == 200 and "SKU-KEEP" in shown.content.decode()
    assert deleted.status_code == 403
    assert list(ProductMapping.objects.values_list("crm_product_code", flat=True)) == ["SKU-KEEP"]


def test_it_finds_a_handoff_by_either_form_of_its_opportunity_id_in_the_admin_search(admin_client: object) -> None:
    deal = HandoffFactory(opportunity_id="0065g00000AbCdEAAV")
    HandoffFactory(opportunity_id="0065g00000abcdeAAA")  # another Opportunity: same letters, other case
    url = reverse("admin:integration_hub_handoff_changelist")

    found = {
        form: [h.pk for h in admin_client.get(url, {"q": form}).context["cl"].result_list]  # type: ignore[attr-defined]
        for form in ["0065g00000AbCdE", "0065g00000AbCdEAAV", "0065g00000AbCdEaav"]
    }

    assert found == {form: [deal.pk] for form in found}


def test_it_finds_a_deal_s_notifications_by_either_form_of_its_opportunity_id(admin_client: object) -> None:
    deal = HandoffFactory(opportunity_id="0065g00000AbCdEAAV")
    twin = HandoffFactory(opportunity_id="0065g00000abcdeAAA")
    for handoff, notification_id in [(deal, "04l5g000001XyZaAAK"), (twin, "04l5g000001XyZbAAK")]:
        OutboundNotification.objects.create(
            notification_id=notification_id, org_id=handoff.org_id, opportunity_id=handoff.opportunity_id, handoff=handoff
        )
    url = reverse("admin:integration_hub_outboundnotification_changelist")

    page = admin_client.get(url, {"q": "0065g00000AbCdE"})  # type: ignore[attr-defined]

    assert [n.notification_id for n in page.context["cl"].result_list] == ["04l5g000001XyZaAAK"]
