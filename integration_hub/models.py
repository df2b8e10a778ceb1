"""Sync-engine models (handoffs, sync attempts, transformation logs) arrive with the pipeline."""

from __future__ import annotations
