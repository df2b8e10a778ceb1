"""The seven catalogue queues (DESIGN.md). Frozen here so later edits of QUEUES cannot rewrite history."""

from __future__ import annotations

from django.db import migrations

QUEUES = {
    "master-data": ("Master data", "Customers not in SAP, duplicate or conflicting business partners."),
    "pricing": ("Pricing", "Price variances between the CRM and SAP pricing."),
    "credit": ("Credit management", "Credit holds: release or reject with AR aging in view."),
    "product-ops": ("Product ops", "CRM products without an SAP material crosswalk."),
    "logistics": ("Logistics", "Ship-to and address validation failures."),
    "sales-ops": ("Sales ops", "Deals missing a required field (ship-to, payment terms, tax)."),
    "integration-ops": ("Integration ops", "SAP creation errors that self-healing could not fix."),
}


def create_queues(apps, schema_editor):
    Queue = apps.get_model("exceptions", "Queue")
    for slug, (name, description) in QUEUES.items():
        Queue.objects.get_or_create(slug=slug, defaults={"name": name, "description": description})


def remove_queues(apps, schema_editor):
    Queue = apps.get_model("exceptions", "Queue")
    Queue.objects.filter(slug__in=list(QUEUES), exceptions__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0001_initial")]

    operations = [migrations.RunPython(create_queues, remove_queues)]
