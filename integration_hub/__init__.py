"""The Django project and the sync engine.

Bottom floor (the engine's core, imported by everyone, importing no domain app): `models`,
`services` (handoff transitions, re-runs, sync attempts), `errors` (the one error root),
`dispatch` (work enqueued after commit by task name), `recording`, the ports `erp/` and `crm/`
with their adapters over the wire clients in `connectors/`, `ports` (which adapter answers),
`orders` (write-backs and order changes), `canonical`, `selfheal`. Top floor (orchestration,
above the domain apps): `pipeline`, `validation`, `tasks`, `triggers`, `webhooks`, views, API,
admin and commands. `sandbox/` holds the local Salesforce and SAP stand-ins.
"""

from __future__ import annotations

from .celery import app as celery_app

__all__ = ["celery_app"]
