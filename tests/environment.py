"""The suite's environment, set before pytest-django loads the settings.

Loaded as a plugin (`-p tests.environment` in pyproject's addopts) because conftest.py is imported
only after pytest-django has read `integration_hub.settings`.
"""

from __future__ import annotations

import os

# The suite drives the local Salesforce and SAP sandboxes (apps, URL routing, connector defaults);
# set, not defaulted, so the workers and settings probes it starts inherit it too.
os.environ["HUB_SANDBOX"] = "1"
# The suite clears the cache before every test (conftest's _fresh_cache); on Redis, clear() is
# FLUSHDB, which would also drop the Celery broker's queues kept in the same database.
os.environ.setdefault("HUB_CACHE_URL", "locmem://")
# Tests drive the pipeline step by step: each deal is written back at once (the batched write-back
# has tests of its own, which turn the linger on).
os.environ.setdefault("HUB_WRITEBACK_LINGER_SECONDS", "0")
# Under pytest-xdist each worker process has its own test database (pytest-django suffixes it
# with the worker id) and needs its own Redis database too: tests start real Celery workers and
# flush the broker's database between runs.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL", "").startswith("redis://"):
    _base, _, _db = os.environ["REDIS_URL"].rpartition("/")
    if _db.isdigit():
        os.environ["REDIS_URL"] = f"{_base}/{int(_db) - 2 - int(_worker[2:])}"
