"""What every triage screen shares: the one rule for rendering a partial or the whole page, and
the queue sidebar. The screen modules (views, escalation_views, queue_views, routing_views) all
render through here, so an htmx request gets the same answer from each."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from exceptions.models import ExceptionStatus, Queue, SyncException
from exceptions.permissions import queue_has_perm, queues_for
from integration_hub.http import HtmxHttpRequest

# Counting a million rows on every refresh of every list costs more than the page itself; counts
# a few seconds old are what a person expects from a badge.
BADGE_SECONDS = 15
# Bumped on every change a person makes on a screen, so the counts they see next are fresh, not
# the cached ones from before their own resolution (a worker's changes wait out BADGE_SECONDS).
GENERATION_KEY = "triage-generation"


def screen_counts_changed() -> None:
    """Forget every cached count (sidebar, root causes): the next screen counts again."""
    cache.add(GENERATION_KEY, 0, timeout=None)
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # evicted between add and incr
        cache.set(GENERATION_KEY, 1, timeout=None)


def screen_cache_key(name: str, *parts: object) -> str:
    """A cache key for a count shown on screens, dropped by `screen_counts_changed`."""
    generation = cache.get(GENERATION_KEY, 0)
    return ":".join([f"triage-{name}", str(generation), *(str(p) for p in parts)])


def screen_template(request: HtmxHttpRequest, template: str, partials: str | None) -> str:
    """`template#name` when an htmx request targets `name`, one of the comma-separated `partials`
    (a partial's name, its wrapper id and the hx-target are the same string); else the whole page."""
    target = getattr(request, "htmx", None) and request.htmx.target
    if partials and target and target in partials.split(","):
        return f"{template}#{target}"
    return template


def screen_render(request: HtmxHttpRequest, template: str, partials: str | None, context: dict[str, Any],
                  **kwargs: Any) -> HttpResponse:
    """Render the screen, or only the partial its htmx request targets (see screen_template)."""
    return render(request, screen_template(request, template, partials), context, **kwargs)


def screen_sidebar(request: HttpRequest) -> list[Queue]:
    """The queues the user may view, each with its open count (cached briefly) and whether they
    administer it."""
    key = screen_cache_key("sidebar", request.user.pk)
    counts = cache.get(key)
    queues = list(queues_for(user=request.user, perm="view").order_by("name"))
    if counts is None:
        counts = dict(
            SyncException.objects.filter(queue__in=queues, status=ExceptionStatus.OPEN)
            .order_by().values_list("queue").annotate(n=Count("pk")).values_list("queue", "n")
        )
        cache.set(key, counts, BADGE_SECONDS)
    for queue in queues:
        queue.open_count = counts.get(queue.pk, 0)  # type: ignore[attr-defined]
        queue.administered = queue_has_perm(user=request.user, queue=queue, perm="administer")  # type: ignore[attr-defined]
    return queues
