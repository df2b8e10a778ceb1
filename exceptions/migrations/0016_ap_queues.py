"""The accounts-payable queues of the catalogue (DESIGN.md "the 3-way match"). Frozen here so later
edits of QUEUES cannot rewrite history."""

from __future__ import annotations

from django.db import migrations

QUEUES = {
    "procurement": ("Procurement", "Vendor invoices whose price differs from the purchase order beyond tolerance."),
    "receiving": ("Receiving", "Vendor invoices whose quantity differs from what was received."),
    "warehouse": ("Warehouse", "Vendor invoices for goods-receipt-based items with no goods receipt yet."),
    "ap-supervisor": ("AP supervisor", "Vendor invoices from a party other than the purchase order's supplier."),
    "ap-team": ("AP team", "Duplicate vendor invoices and extractions a person must check."),
    "ap-analyst": ("AP analyst", "Vendor invoices posted with payment terms that differ from the PO's."),
}


# Escalation timers as the catalogue's other queues have them: the lead after 4 business hours,
# a manager after 8 (an invoice waiting is a discount lost and a supplier calling).
LEVELS = [(1, 4, "notify_lead"), (2, 8, "notify_manager")]


def create_queues(apps, schema_editor):
    Queue = apps.get_model("exceptions", "Queue")
    Policy = apps.get_model("exceptions", "EscalationPolicy")
    Level = apps.get_model("exceptions", "EscalationLevel")
    for slug, (name, description) in QUEUES.items():
        queue, _ = Queue.objects.get_or_create(slug=slug, defaults={"name": name, "description": description})
        policy, created = Policy.objects.get_or_create(queue=queue, defaults={"conditions": []})
        if created:
            for level, hours, action in LEVELS:
                Level.objects.create(policy=policy, level=level, after_hours=hours, action=action)


def remove_queues(apps, schema_editor):
    Queue = apps.get_model("exceptions", "Queue")
    Queue.objects.filter(slug__in=list(QUEUES), exceptions__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0015_syncexception_vendor_invoice")]

    operations = [migrations.RunPython(create_queues, remove_queues)]
