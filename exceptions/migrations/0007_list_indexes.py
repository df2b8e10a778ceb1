# The triage list's indexes carry its filter columns, so a filtered page and its bounded count are
# index-only scans (tests/bench/test_bench_triage.py: 1M exceptions).

from django.db import migrations, models

INCLUDE = ["type_code", "assignee", "amount", "customer_name", "product_code", "tags", "snoozed_until"]


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0006_saved_filters"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="syncexception", name="syncexception_list_idx"),
        migrations.AddIndex(
            model_name="syncexception",
            index=models.Index(
                fields=["queue", "status", "-priority", "first_seen", "id"], include=INCLUDE,
                name="syncexception_list_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="syncexception",
            index=models.Index(
                fields=["queue", "-priority", "first_seen", "id"], include=["status", *INCLUDE],
                name="syncexception_list_all_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="syncexception",
            index=models.Index(
                fields=["queue", "status", "fingerprint"], include=["type_code", "handoff", "id"],
                name="syncexception_queue_cause_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="syncexception",
            index=models.Index(fields=["queue", "status", "first_seen", "id"], name="syncexception_age_idx"),
        ),
        migrations.AddIndex(
            model_name="syncexception",
            index=models.Index(
                fields=["queue", "resolved_at"], condition=models.Q(status="resolved"),
                name="syncexception_resolved_idx",
            ),
        ),
    ]
