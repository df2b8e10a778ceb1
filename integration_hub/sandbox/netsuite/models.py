"""Storage of the NetSuite sandbox: one generic row per record, shared by every process."""

from __future__ import annotations

from django.db import models


class NsRecord(models.Model):
    """One record instance. `table` is the id space it lives in (as SuiteQL sees it): every item
    type shares `item`, every transaction type `transaction`. `data` holds the body fields in the
    sandbox's internal form: references as internal-id strings, amounts as decimal strings,
    sublists as lists of dicts; keys beginning with `_` never go on the wire.
    """

    record_type = models.CharField(max_length=40)
    table = models.CharField(max_length=40)
    internal_id = models.PositiveIntegerField()
    # NULL, not "": records without an external id stay out of the unique constraint below.
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "NetSuite record"
        constraints = [
            models.UniqueConstraint(fields=["table", "internal_id"], name="sandbox_ns_record_id"),
            models.UniqueConstraint(
                fields=["record_type", "external_id"], condition=models.Q(external_id__isnull=False),
                name="sandbox_ns_record_eid",
            ),
        ]
        indexes = [models.Index(fields=["record_type", "internal_id"], name="sandbox_ns_type_id")]

    def __str__(self) -> str:
        return f"{self.record_type}/{self.internal_id}"


class NsSequence(models.Model):
    """Internal ids per table and document numbers (tranId) per transaction type."""

    name = models.CharField(max_length=40, unique=True)
    next_value = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.name}: {self.next_value}"


class NsNonce(models.Model):
    """An oauth_nonce already used with a consumer, token and timestamp: a replay is refused."""

    consumer_key = models.CharField(max_length=200)
    token = models.CharField(max_length=200)
    nonce = models.CharField(max_length=200)
    timestamp = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "NetSuite nonce"
        constraints = [
            models.UniqueConstraint(fields=["consumer_key", "token", "nonce", "timestamp"], name="sandbox_ns_nonce"),
        ]

    def __str__(self) -> str:
        return self.nonce
