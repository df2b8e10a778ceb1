from __future__ import annotations

from django.db import models


class Fault(models.Model):
    """A fault the next matching sandbox calls will suffer.

    `operation` is an fnmatch pattern over the sandbox's operation names (see each sandbox's
    README section), e.g. `create:Opportunity` or `API_SALES_ORDER_SRV/A_SalesOrder:POST`.
    A fault applies to the next `remaining` matching calls (None: until it expires or is
    cleared), to a `rate` fraction of them when set, and never after `expires_at`.
    """

    class System(models.TextChoices):
        SALESFORCE = "salesforce", "Salesforce"
        SAP = "sap", "SAP"
        NETSUITE = "netsuite", "NetSuite"

    class Kind(models.TextChoices):
        STATUS = "status", "answer with an HTTP status"
        LATENCY = "latency", "delay the answer"
        DROP = "drop", "commit, then drop the response"
        LOCK = "lock", "record or document locked"
        CSRF_EXPIRY = "csrf_expiry", "CSRF token expired (SAP)"
        SESSION_EXPIRY = "session_expiry", "session expired (Salesforce)"
        RATE_LIMIT = "rate_limit", "rate limited, with Retry-After"
        STALE_ETAG = "stale_etag", "ETag no longer matches (412)"

    system = models.CharField(max_length=16, choices=System.choices)
    operation = models.CharField(max_length=200, default="*")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    retry_after = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    remaining = models.PositiveIntegerField(null=True, blank=True)
    rate = models.FloatField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    hits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.system} {self.operation} {self.kind}"

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.pk,
            "system": self.system,
            "operation": self.operation,
            "kind": self.kind,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "retry_after": self.retry_after,
            "message": self.message,
            "remaining": self.remaining,
            "rate": self.rate,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "hits": self.hits,
        }
