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
