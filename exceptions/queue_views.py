"""A queue's people, for those who administer it (its leads, guardian `administer_queue`, staff):
who is a member or a lead, add or remove someone, and the history of those changes.

Everyone else gets 404, like every triage screen. Changes go through
exceptions.policies.queue_membership_set, which writes the guardian grants and an audit row.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from exceptions.models import Queue, SettingChange, SettingKind
from exceptions.permissions import queues_for
from exceptions.policies import queue_membership_set, setting_changes_for
from exceptions.screens import screen_render, screen_sidebar
from exceptions.selectors import queue_people
from integration_hub.http import AuthenticatedHttpRequest

ROLE_LABELS = {"lead": "lead", "member": "member", None: "removed"}


def membership_change_text(change: SettingChange) -> str:
    """"made pat a lead", "added pat as a member", "removed pat (2 open exceptions unassigned)"."""
    after = change.after or {}
    user, before_role, role = after.get("user", "?"), (change.before or {}).get("role"), after.get("role")
    if role is None:
        unassigned = after.get("unassigned")
        return f"removed {user}" + (f" ({unassigned} open exception{'s' if unassigned != 1 else ''} unassigned)"
                                    if unassigned else "")
    if before_role is None:
        return f"added {user} as a {role}"
    return f"made {user} a {role}" if role == "lead" else f"made {user} a member (no longer a lead)"


def _queue_for_admin(request: AuthenticatedHttpRequest, slug: str) -> Queue:
    return get_object_or_404(queues_for(user=request.user, perm="administer"), slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def queue_members(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    queue = _queue_for_admin(request, slug)
    users = get_user_model().objects
    if request.method == "POST":
        username = (request.POST.get("username") or "").strip()
        role = request.POST.get("role") or None
        person = users.filter(username=username).first() if username else None
        if person is None:
            messages.error(request, f"There is no user called '{username}'." if username else "Name someone first.")
        else:
            try:
                unassigned = queue_membership_set(queue=queue, user=person, role=role,
                                                  actor=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                done = {"lead": f"{person} is a lead of {queue.name}.", "member": f"{person} is a member of {queue.name}."}
                messages.success(request, done.get(role or "", f"{person} left {queue.name}" + (
                    f"; {unassigned} open exception{'s' if unassigned != 1 else ''} went back to the queue."
                    if unassigned else ".")))
        return redirect(reverse("exceptions:members", args=[queue.slug]))
    people = queue_people(queue=queue)
    others = (users.filter(is_active=True).exclude(pk__in=[p.pk for p in people]).order_by("username")
              .values_list("username", flat=True)[:500])
    changes = (setting_changes_for(request.user).filter(kind=SettingKind.MEMBERS, object_id=queue.pk)
               .select_related("actor")[:50])
    context: dict[str, Any] = {
        "queue": queue,
        "people": people,
        "others": list(others),
        "history": [{"change": c, "text": membership_change_text(c)} for c in changes],
        "sidebar": screen_sidebar(request),
    }
    return screen_render(request, "exceptions/queue_members.html", None, context)
