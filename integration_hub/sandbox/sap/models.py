"""Storage of the SAP sandbox: one generic row per OData entity, shared by every process."""

from __future__ import annotations

from django.db import models


class SapEntity(models.Model):
    """One entity of one entity set; `data` holds its properties in the sandbox's internal form.

    Internal form: strings as strings, Edm.Decimal as decimal strings, Edm.DateTime(Offset) as
    ISO 8601 UTC strings, booleans as booleans. Keys beginning with `_` are the sandbox's own
    bookkeeping and never go on the wire.
    """

    service = models.CharField(max_length=60)
    entity_set = models.CharField(max_length=60)
    key = models.CharField(max_length=300)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SAP entity"
        verbose_name_plural = "SAP entities"
        constraints = [
            models.UniqueConstraint(fields=["service", "entity_set", "key"], name="sandbox_sap_entity_key"),
        ]
        indexes = [models.Index(fields=["entity_set", "key"], name="sandbox_sap_set_key")]

    def __str__(self) -> str:
        return f"{self.entity_set}({self.key})"


class NumberRange(models.Model):
    """SAP internal number ranges (sales orders, business partners, condition records)."""

    name = models.CharField(max_length=40, unique=True)
    next_number = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.name}: {self.next_number}"


class CsrfToken(models.Model):
    """An issued X-CSRF-Token bound to the security session named by the session cookie."""

    session_id = models.CharField(max_length=64, unique=True)
    token = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.session_id
