"""Exceptions and triage (middle floor): typed `SyncException`s in team queues, routing rules,
escalation policies and business calendars, notifications, bulk jobs, resolutions that re-run a
deal, and the triage screens and API. Depends on the engine's core, never on the pipeline."""
