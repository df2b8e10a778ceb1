"""State of the Salesforce sandbox. Everything lives in the database: several processes
(the sandbox server, its dispatcher, tests) share it."""

from __future__ import annotations

from django.db import models


class SfRecord(models.Model):
    """One sObject row; `fields` holds the wire values (dates and datetimes as strings)."""

    sobject = models.CharField(max_length=64)
    record_id = models.CharField(max_length=18, unique=True)
    fields = models.JSONField(default=dict)
    created_date = models.DateTimeField()
    system_modstamp = models.DateTimeField()
    is_deleted = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["sobject", "is_deleted"])]

    def __str__(self) -> str:
        return f"{self.sobject} {self.record_id}"


class SfIdSequence(models.Model):
    """Last number handed out per key prefix, so ids are unique across processes."""

    prefix = models.CharField(max_length=3, primary_key=True)
    last = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last}"


class SfQueryCursor(models.Model):
    """A query's remaining result, so `nextRecordsUrl` works from any process."""

    locator = models.CharField(max_length=18, unique=True)
    # JSON text, not JSONField: jsonb would reorder keys and `attributes` must stay first.
    records_json = models.TextField()
    batch_size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.locator


class SfApiUsage(models.Model):
    """Calls per day, reported in `Sforce-Limit-Info`."""

    day = models.DateField(primary_key=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "Salesforce API usage"
        verbose_name_plural = "Salesforce API usage"

    def __str__(self) -> str:
        return f"{self.day}: {self.count}"


class SfOutboundMessage(models.Model):
    """One Outbound Message notification waiting for (or past) delivery."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        DELIVERED = "delivered", "delivered"
        FAILED = "failed", "gave up after 24 h"

    notification_id = models.CharField(max_length=18, unique=True)
    action_id = models.CharField(max_length=18)
    sobject = models.CharField(max_length=64)
    record_id = models.CharField(max_length=18)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    last_payload = models.TextField(blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.record_id} {self.status}"

    def as_dict(self) -> dict[str, object]:
        return {
            "notificationId": self.notification_id,
            "actionId": self.action_id,
            "sobject": self.sobject,
            "recordId": self.record_id,
            "status": self.status,
            "attempts": self.attempts,
            "nextAttemptAt": self.next_attempt_at.isoformat(),
            "lastError": self.last_error,
            "createdAt": self.created_at.isoformat(),
            "deliveredAt": self.delivered_at.isoformat() if self.delivered_at else None,
        }
