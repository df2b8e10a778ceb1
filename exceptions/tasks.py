"""Beat task: the escalation sweep (idempotent; two beats at once fire each step once)."""

from __future__ import annotations

from celery import shared_task

from exceptions.escalation import escalation_sweep as sweep


@shared_task
def escalation_sweep() -> dict[str, int]:
    return sweep()
