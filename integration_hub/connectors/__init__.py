"""The wire clients, one module per external system, with explicit timeouts and secrets redacted:
`salesforce.py` (simple-salesforce) and `sap.py` (OData v2 with CSRF, ETags and SAP error JSON).
Only the adapters in `erp/` and `crm/` (and the crosswalks' SAP caches) use them."""
