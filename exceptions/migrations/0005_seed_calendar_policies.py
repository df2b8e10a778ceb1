"""The default business calendar and the catalogue's escalation policies (DESIGN.md "escalates when").

Frozen here so later edits cannot rewrite history."""

from __future__ import annotations

from django.db import migrations

DEFAULT_CALENDAR = "Default (UTC, Mon–Fri 09–17)"
# queue slug → (timer levels [(level, hours, action)], immediate conditions)
POLICIES = {
    "master-data": ([(1, 4, "notify_lead"), (2, 8, "notify_manager")], []),
    "pricing": ([], ["variance_gt_10", "amount_gt_100k"]),
    "credit": ([], ["strategic_account"]),
    "product-ops": ([], ["unmapped_backlog_gt_5"]),
    "logistics": ([], ["international"]),
    "sales-ops": ([(1, 4, "notify_lead"), (2, 8, "notify_manager")], []),
    "integration-ops": ([], ["third_retry_failed"]),
}


def seed(apps, schema_editor):
    Calendar = apps.get_model("exceptions", "BusinessCalendar")
    Queue = apps.get_model("exceptions", "Queue")
    Policy = apps.get_model("exceptions", "EscalationPolicy")
    Level = apps.get_model("exceptions", "EscalationLevel")
    Calendar.objects.get_or_create(name=DEFAULT_CALENDAR, defaults={
        "time_zone": "UTC", "weekdays": [0, 1, 2, 3, 4], "day_start": "09:00", "day_end": "17:00"})
    for slug, (levels, conditions) in POLICIES.items():
        queue = Queue.objects.filter(slug=slug).first()
        if queue is None:
            continue
        policy, created = Policy.objects.get_or_create(queue=queue, defaults={"conditions": conditions})
        if created:
            for level, hours, action in levels:
                Level.objects.create(policy=policy, level=level, after_hours=hours, action=action)


def unseed(apps, schema_editor):
    apps.get_model("exceptions", "EscalationPolicy").objects.filter(queue__slug__in=list(POLICIES)).delete()


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0004_routing_escalation")]

    operations = [migrations.RunPython(seed, unseed)]
