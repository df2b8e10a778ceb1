"""Demo data for the hub itself: the cast of users, and the sandboxes' master data."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from approvals.services import DEFAULT_GROUP
from crosswalks.models import (
    ErpTargetRule,
    PaymentTermsMapping,
    ProductMapping,
    ProductMappingComponent,
    TaxRule,
    UnitOfMeasureMapping,
)
from exceptions.models import Queue
from exceptions.services import queue_member_add
from integration_hub.sandbox import catalog
from integration_hub.sandbox.netsuite.seed import seed as seed_netsuite
from integration_hub.sandbox.salesforce.seed import seed as seed_salesforce
from integration_hub.sandbox.sap.seed import seed as seed_sap

DEMO_PASSWORD = "hub-demo"  # demo only; printed by `make demo`


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: str
    queues: tuple[str, ...]
    staff: bool = False
    superuser: bool = False


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "Alex Admin", "admin: crosswalks, routing rules, users", (), staff=True, superuser=True),
    DemoUser("steward", "Sam Steward", "master data steward", ("master-data",)),
    DemoUser("pricing", "Priya Pricing", "pricing analyst", ("pricing",)),
    DemoUser("credit", "Chris Credit", "credit management", ("credit",)),
    DemoUser("productops", "Pat Product", "product ops", ("product-ops",)),
    DemoUser("logistics", "Lee Logistics", "logistics", ("logistics",)),
    DemoUser("salesops", "Sasha Sales-Ops", "sales ops", ("sales-ops",)),
    DemoUser("integration", "Ira Integration", "integration ops", ("integration-ops",), staff=True),
    DemoUser("approver", "Avery Approver", "deal approver", ()),
    DemoUser("payables", "Pam Payables", "accounts payable: vendor invoices and their exceptions",
             ("procurement", "receiving", "warehouse", "ap-supervisor", "ap-team", "ap-analyst")),
)

def _assign_queues(user: object, slugs: tuple[str, ...]) -> None:
    # Each demo team is one person, so they lead their queue too (members, escalation, SLA).
    for queue in Queue.objects.filter(slug__in=slugs):
        queue_member_add(queue=queue, user=user, lead=True)  # type: ignore[arg-type]


@transaction.atomic
def demo_users_ensure() -> int:
    """Create (or refresh) the demo cast; returns how many users exist afterwards."""
    user_model = get_user_model()
    # Crosswalks are business data: product ops and master data maintain them, not developers.
    editors, _ = Group.objects.get_or_create(name="Crosswalk editors")
    editors.permissions.set(Permission.objects.filter(content_type__app_label="crosswalks"))
    for spec in DEMO_USERS:
        first, _, last = spec.full_name.partition(" ")
        user, _ = user_model.objects.update_or_create(
            username=spec.username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{spec.username}@hub.example.com",
                "is_staff": spec.staff or spec.superuser,
                "is_superuser": spec.superuser,
                "is_active": True,
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        if spec.username in {"productops", "steward"}:
            user.groups.add(editors)
        if spec.username == "approver":
            # High-risk deals no approver rule claims go to this group.
            user.groups.add(Group.objects.get_or_create(name=DEFAULT_GROUP)[0])
        _assign_queues(user, spec.queues)
    return user_model.objects.filter(username__in=[u.username for u in DEMO_USERS]).count()


def demo_seed(*, reset: bool = False) -> dict[str, int]:
    """Seed the sandboxes and the hub's own demo data. Idempotent."""
    counts: dict[str, int] = {}
    for kind, seed in (("salesforce", seed_salesforce), ("sap", seed_sap), ("netsuite", seed_netsuite)):
        for name, count in seed(reset=reset).items():
            counts[f"{kind}.{name}"] = count
    counts["hub.users"] = demo_users_ensure()
    counts.update(demo_crosswalks_ensure())
    counts.update(demo_netsuite_crosswalks_ensure())
    counts.update(demo_erp_targets_ensure())
    return counts


def demo_netsuite_crosswalks_ensure() -> dict[str, int]:
    """The NetSuite entity's side of the crosswalks: each mapped product's NetSuite items (its own
    SKUs, by internal id) and the CRM's payment terms as NetSuite's term ids."""
    with transaction.atomic():
        for product in catalog.products():
            mapping = ProductMapping.objects.filter(crm_product_code=product.code).first()
            if mapping is None or mapping.components.filter(erp_target="netsuite").exists():
                continue
            items = [(catalog.netsuite_item_for_material(material), factor) for material, factor in product.components]
            start = len(product.components)
            ProductMappingComponent.objects.bulk_create(
                ProductMappingComponent(mapping=mapping, erp_target="netsuite", erp_item=item.internal_id,
                                        quantity_factor=factor, position=start + i)
                for i, (item, factor) in enumerate(items) if item is not None
            )
        for term in catalog.NETSUITE_TERMS:
            label = catalog.PAYMENT_TERMS.get(term.catalog_key)
            if label and not PaymentTermsMapping.objects.filter(crm_value__iexact=label, erp_target="netsuite").exists():
                PaymentTermsMapping.objects.create(crm_value=label, erp_target="netsuite", sap_terms_key=term.internal_id)
    return {"crosswalks.netsuite_items": ProductMappingComponent.objects.filter(erp_target="netsuite").count()}


# The demo's second legal entity books its UK deals in NetSuite (the catalogue's NetSuite subsidiary
# sells in GBP there): an ERP-target rule by billing country, so both ERPs show on the dashboard.
DEMO_NETSUITE_COUNTRIES = ("GB",)


def demo_erp_targets_ensure() -> dict[str, int]:
    """The demo's ERP-target rules: UK accounts go to NetSuite, every other deal to S/4HANA."""
    for country in DEMO_NETSUITE_COUNTRIES:
        ErpTargetRule.objects.get_or_create(crm_account_id="", billing_country=country,
                                            defaults={"erp_target": "netsuite", "note": "demo: the UK entity"})
    return {"crosswalks.erp_targets": ErpTargetRule.objects.count()}


def demo_crosswalks_ensure() -> dict[str, int]:
    """The crosswalk rows a company would have on day one: products, terms, tax rules, units.

    Customer mappings are left out on purpose: the hub learns them by matching (tax id, DUNS,
    fuzzy name + address), which is what the demo shows. A few catalogue products stay unmapped.
    """
    with transaction.atomic():
        for product in catalog.products():
            if not product.components:
                continue
            mapping, created = ProductMapping.objects.get_or_create(
                crm_product_code=product.code,
                defaults={"crm_product_name": product.name, "source": "import"},
            )
            if created:
                ProductMappingComponent.objects.bulk_create(
                    ProductMappingComponent(mapping=mapping, sap_material=material, quantity_factor=factor, position=i)
                    for i, (material, factor) in enumerate(product.components)
                )
        for key, label in catalog.PAYMENT_TERMS.items():
            if not PaymentTermsMapping.objects.filter(crm_value__iexact=label, erp_target="s4hana").exists():
                PaymentTermsMapping.objects.create(crm_value=label, sap_terms_key=key)
        for country in ("US", "DE", "GB"):
            for tax_class in ("0", "1"):
                TaxRule.objects.get_or_create(country=country, region="", material_tax_class=tax_class,
                                              defaults={"sap_tax_classification": tax_class})
        UnitOfMeasureMapping.objects.get_or_create(crm_unit="Hours", defaults={"sap_unit": "H"})
    return {
        "crosswalks.products": ProductMapping.objects.count(),
        "crosswalks.payment_terms": PaymentTermsMapping.objects.count(),
        "crosswalks.tax_rules": TaxRule.objects.count(),
    }
