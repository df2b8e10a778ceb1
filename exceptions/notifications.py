"""Notices to people about exceptions (and approvals): an outbox of `Notification` rows, sent as
one digest per recipient by email and, when configured, a Slack-compatible chat webhook.

Below the services, routing and escalation, which all queue notices; nothing here imports them.
Queuing is a row insert inside the caller's transaction; sending happens in the sweep, outside any.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from exceptions.models import Notification, SyncException

logger = logging.getLogger(__name__)


def user_emails(users: Iterable[Any]) -> list[str]:
    """The addresses of those `users` who have one, deduplicated and sorted."""
    return sorted({u.email for u in users if getattr(u, "email", "")})


def notify(*, recipients: Iterable[str], kind: str, exception: SyncException | None, text: str,
           now: datetime | None = None) -> int:
    """Queue a notice for each recipient; the next sweep sends them as digests."""
    rows = [Notification(recipient=r, kind=kind, exception=exception, text=text, created_at=now or timezone.now())
            for r in sorted(set(recipients)) if r]
    Notification.objects.bulk_create(rows)
    return len(rows)


def notify_assignment(*, exception: SyncException, actor: Any = None, now: datetime | None = None) -> int:
    """Tell the new assignee, unless they assigned it to themselves or have no address."""
    assignee = get_user_model().objects.filter(pk=exception.assignee_id).first() if exception.assignee_id else None
    if assignee is None or (actor is not None and actor.pk == assignee.pk) or not assignee.email:
        return 0
    return notify(recipients=[assignee.email], kind="assigned", exception=exception, now=now,
                  text=f"#{exception.pk} {exception.title} was assigned to you")


def post_chat(url: str, payload: dict[str, Any], *, timeout: float) -> None:
    """POST a Slack-compatible message (`{"text": ...}`)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("the chat webhook must be an http(s) URL")
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured https URL
        response.read()


def notifications_flush(*, now: datetime | None = None) -> int:
    """Send every unsent notice: one email (and one chat message) per recipient. Returns digests sent.

    Rows are claimed (sent_at set) in their own transaction with SKIP LOCKED, so two sweeps never
    send the same notice; the sending happens after that commit."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(Notification.objects.select_for_update(skip_locked=True).filter(sent_at__isnull=True)
                    .order_by("recipient", "created_at", "pk"))
        Notification.objects.filter(pk__in=[r.pk for r in rows]).update(sent_at=now)
    digests: dict[str, list[Notification]] = defaultdict(list)
    for row in rows:
        digests[row.recipient].append(row)
    base = getattr(settings, "HUB_BASE_URL", "").rstrip("/")
    for recipient, items in digests.items():
        lines = [f"- {n.text}" + (f" ({base}/triage/e/{n.exception_id}/)" if base and n.exception_id else "")
                 for n in items]
        subject = f"[Integration hub] {len(items)} exception update{'s' if len(items) != 1 else ''}"
        try:
            send_mail(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [recipient])
        except Exception:  # noqa: BLE001 - a broken mail server must not stop the sweep
            logger.exception("escalation digest to %s not sent", recipient)
        url = getattr(settings, "HUB_CHAT_WEBHOOK_URL", "")
        if url:
            try:
                post_chat(url, {"text": f"*{subject}* for {recipient}\n" + "\n".join(lines)},
                          timeout=getattr(settings, "HUB_CHAT_WEBHOOK_TIMEOUT", 3.0))
            except Exception:  # noqa: BLE001 - chat is best effort
                logger.warning("chat digest for %s not posted", recipient, exc_info=True)
    return len(digests)
