"""The catalogue queues as rows. Below routing and the services, which both need a queue that
exists: routing for the catalogue's fallback, the services for a new exception's first home."""

from __future__ import annotations

from exceptions.models import QUEUES, Queue


def queue_ensure(*, slug: str) -> Queue:
    """The catalogue queue `slug`, re-created if someone deleted it (or a test flush did).

    The data migration creates all seven; an exception must never be lost because its
    queue row is missing.
    """
    name, description = QUEUES.get(slug, (slug.replace("-", " ").capitalize(), ""))
    queue, _ = Queue.objects.get_or_create(slug=slug, defaults={"name": name, "description": description})
    return queue
