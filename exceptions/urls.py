from __future__ import annotations

from django.urls import path

from exceptions import escalation_views, queue_views, routing_views, views, work_views

app_name = "exceptions"

urlpatterns = [
    path("", views.queue_overview, name="queues"),
    path("sidebar/", views.queue_sidebar, name="sidebar"),
    path("q/<slug:slug>/", views.queue_list, name="list"),
    path("q/<slug:slug>/bulk/", views.queue_bulk, name="bulk"),
    path("bulk/<int:pk>/", views.bulk_job_view, name="bulk-job"),
    path("q/<slug:slug>/filters/", views.saved_filter_view, name="saved-filter"),
    path("q/<slug:slug>/group/", work_views.group_view, name="group"),
    path("q/<slug:slug>/members/", queue_views.queue_members, name="members"),
    path("e/<int:pk>/", views.exception_detail, name="detail"),
    path("e/<int:pk>/assign/", views.exception_assign_view, name="assign"),
    path("e/<int:pk>/comment/", views.exception_comment_view, name="comment"),
    path("e/<int:pk>/tags/", views.exception_tags_view, name="tags"),
    path("e/<int:pk>/resolve/", views.exception_resolve_view, name="resolve"),
    path("e/<int:pk>/wait/", views.exception_wait_view, name="wait"),
    path("e/<int:pk>/resolve-later/", work_views.resolve_later_view, name="resolve-later"),
    path("e/<int:pk>/undo/", work_views.undo_view, name="undo"),
    path("e/<int:pk>/snooze/", work_views.snooze_view, name="snooze"),
    path("routing/", routing_views.rule_list, name="routing"),
    path("routing/new/", routing_views.rule_edit, name="routing-add"),
    path("routing/<int:pk>/", routing_views.rule_edit, name="routing-edit"),
    path("routing/<int:pk>/move/", routing_views.rule_move, name="routing-move"),
    path("routing/<int:pk>/toggle/", routing_views.rule_toggle, name="routing-toggle"),
    path("routing/preview/", routing_views.rule_preview, name="routing-preview"),
    path("escalation/", escalation_views.escalation_list, name="escalation"),
    path("escalation/<slug:slug>/", escalation_views.escalation_edit, name="escalation-edit"),
    path("calendars/", escalation_views.calendar_list, name="calendars"),
    path("calendars/new/", escalation_views.calendar_edit, name="calendar-add"),
    path("calendars/<int:pk>/", escalation_views.calendar_edit, name="calendar-edit"),
]
