"""REST API on routing rules: everything the admin screens do (list, add/edit, delete, reorder,
(de)activate, preview, the audit trail).

Same people as the screens (staff, superusers, holders of exceptions.change_routingrule);
everyone else gets 404 on every endpoint. Edits go through the audited services in
exceptions.routing and re-route open unassigned exceptions exactly as the screens do; each
write answers how many moved ("rerouted")."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent, build_choice_description_list
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from exceptions.api import AllowedOr404, username_field
from exceptions.models import ExceptionType, Queue, RoutingRule, RoutingRuleChange
from exceptions.routing import (
    PreviewRow,
    can_edit_routing_rules,
    routing_preview,
    routing_rule_delete,
    routing_rule_move,
    routing_rule_save,
    routing_rule_toggle,
    routing_rules_edit,
    rules_with_draft,
)
from integration_hub.http import AuthenticatedRequest

PREVIEW_SIZE = 50  # as on the screen
PREVIEW_MAX = 200


class TypeCodesField(serializers.MultipleChoiceField):
    """Exception types as a JSON list, in the order given (the form's MultipleChoiceField)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"invalid_choice": "“{input}” is not an exception type."})
        super().__init__(choices=ExceptionType.choices, **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:  # type: ignore[override]
        super().to_internal_value(data)  # validates every item
        return list(dict.fromkeys(str(item) for item in data))

    def to_representation(self, value: Any) -> list[str]:  # type: ignore[override]
        return list(value or [])


class TypeCodesFieldExtension(OpenApiSerializerFieldExtension):
    """Items are the enum the exceptions' `type_code` already publishes (TypeCodeEnum): one name
    for one choice set, where drf-spectacular would otherwise add "TypeCodesEnum" beside it."""

    target_class = TypeCodesField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        enum = ResolvedComponent(
            name="TypeCodeEnum", type=ResolvedComponent.SCHEMA, object="TypeCodeEnum",
            schema={"enum": list(ExceptionType.values), "type": "string",
                    "description": build_choice_description_list(ExceptionType.choices)},
        )
        auto_schema.registry.register_on_missing(enum)
        return {"type": "array", "items": enum.ref}


class TextListField(serializers.ListField):
    """A list of codes; blanks are dropped and values trimmed, as the form's comma-separated text."""

    child = serializers.CharField(allow_blank=True)

    def to_internal_value(self, data: Any) -> list[str]:
        return [value for value in super().to_internal_value(data) if value]


class RoutingRuleSerializer(serializers.ModelSerializer):
    type_codes = TypeCodesField(required=False, help_text="exception types; empty: any")
    countries = TextListField(required=False, help_text="ship-to ISO countries; empty: any")
    regions = TextListField(required=False, help_text="ship-to regions/states; empty: any")
    sales_organizations = TextListField(required=False, help_text="empty: any")
    product_families = TextListField(required=False, help_text='e.g. "EL"; empty: any')
    queue = serializers.SlugRelatedField(
        slug_field="slug", queryset=Queue.objects.all(), help_text="queue slug, e.g. credit",
        error_messages={"does_not_exist": "There is no queue “{value}”.", "invalid": "Give a queue slug."},
    )
    assignee = username_field("username of an active user; null: nobody")
    updated_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="username of the last editor")

    class Meta:
        model = RoutingRule
        fields = ["id", "position", "name", "active", "type_codes", "amount_min", "amount_max", "currency",
                  "countries", "regions", "sales_organizations", "customer", "product_families", "strategic",
                  "queue", "priority", "assignee", "updated_at", "updated_by"]
        read_only_fields = ["id", "position", "updated_at", "updated_by"]
        extra_kwargs = {"currency": {"help_text": "3-letter ISO code; empty: any"},
                        "strategic": {"help_text": "strategic account; null: either"},
                        "priority": {"help_text": "null: the catalogue's"}}

    def validate_currency(self, value: str) -> str:
        value = (value or "").strip().upper()
        if value and not re.fullmatch(r"[A-Z]{3}", value):
            raise serializers.ValidationError("Give a 3-letter ISO currency code such as EUR, or leave it empty.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A PATCH may send one bound: compare with the other as saved.
        low = attrs.get("amount_min", getattr(self.instance, "amount_min", None))
        high = attrs.get("amount_max", getattr(self.instance, "amount_max", None))
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"amount_max": "must not be below the minimum"})
        return attrs


class RoutingRuleResultSerializer(RoutingRuleSerializer):
    changed = serializers.BooleanField(read_only=True, help_text="false: nothing to do (already there)")
    rerouted = serializers.IntegerField(read_only=True, help_text="open unassigned exceptions re-routed")

    class Meta(RoutingRuleSerializer.Meta):
        fields = [*RoutingRuleSerializer.Meta.fields, "changed", "rerouted"]


class RoutingRuleDeletedSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="the deleted rule")
    rerouted = serializers.IntegerField(help_text="open unassigned exceptions re-routed")


class MoveSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=["up", "down"])


class ToggleSerializer(serializers.Serializer):
    active = serializers.BooleanField()


class RoutingPreviewRequestSerializer(serializers.Serializer):
    rules = RoutingRuleSerializer(many=True, required=False,
                                  help_text="a whole rule set, first rule first, in place of the saved rules")
    rule = RoutingRuleSerializer(required=False, help_text="one edited rule, among the saved rules")
    rule_id = serializers.PrimaryKeyRelatedField(
        queryset=RoutingRule.objects.all(), required=False,
        help_text="the saved rule `rule` is an edit of (it stands in for it)",
        error_messages={"does_not_exist": "There is no saved rule {pk_value}."},
    )
    position = serializers.IntegerField(
        min_value=1, required=False,
        help_text="where `rule` goes, 1 = first; default: the edited rule's place, or last for a new one",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("rules" in attrs) == ("rule" in attrs):
            raise serializers.ValidationError('Send either "rules" (a whole rule set) or "rule" (one rule).')
        if "rules" in attrs and ("rule_id" in attrs or "position" in attrs):
            raise serializers.ValidationError('"rule_id" and "position" go with "rule"; "rules" are in order.')
        return attrs

    def drafts(self) -> list[RoutingRule]:
        """The unsaved rule set to preview (nothing here touches the database but reads)."""
        data = self.validated_data
        if "rules" in data:
            return [RoutingRule(position=number, **attrs) for number, attrs in enumerate(data["rules"], start=1)]
        saved: RoutingRule | None = data.get("rule_id")
        draft = RoutingRule(**data["rule"])
        if saved is not None:  # as the screen's form edits its instance: same id and place
            draft.pk, draft.position = saved.pk, saved.position
        return rules_with_draft(draft=draft, replaces=saved, place=data.get("position"))


class PreviewQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=PREVIEW_MAX, default=PREVIEW_SIZE)


class RoutingPreviewRowSerializer(serializers.Serializer):
    exception = serializers.IntegerField()
    title = serializers.CharField()
    type_code = serializers.CharField()
    status = serializers.CharField()
    current_queue = serializers.CharField(help_text="queue slug")
    proposed_queue = serializers.CharField(help_text="queue slug")
    current_priority = serializers.IntegerField()
    proposed_priority = serializers.IntegerField(help_text="only a rule's explicit priority changes it")
    current_assignee = serializers.CharField(allow_null=True)
    proposed_assignee = serializers.CharField(allow_null=True, help_text="a rule's assignee only fills an empty one")
    rule = serializers.CharField(allow_null=True, help_text="the deciding rule's name; null: the catalogue")
    rule_id = serializers.IntegerField(allow_null=True, help_text="null for the catalogue or an unsaved rule")
    moves = serializers.BooleanField(help_text="whether the queue would change")


class RoutingPreviewSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    moving = serializers.IntegerField(help_text="how many of the rows would change queue")
    rows = RoutingPreviewRowSerializer(many=True)


class RoutingRuleChangeSerializer(serializers.ModelSerializer):
    actor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="username; null: the system")

    class Meta:
        model = RoutingRuleChange
        fields = ["id", "created_at", "actor", "action", "rule", "rule_name", "before", "after", "rerouted"]
        read_only_fields = fields


def _preview_payload(rows: list[PreviewRow], limit: int) -> dict[str, Any]:
    queues = dict(Queue.objects.values_list("pk", "slug"))
    user_ids = {r.exception.assignee_id for r in rows} | {r.new_assignee_id for r in rows}
    users: dict[int | None, str] = dict(get_user_model().objects.filter(pk__in=user_ids - {None}).values_list("pk", "username"))
    return {
        "limit": limit,
        "moving": sum(r.moves for r in rows),
        "rows": [{
            "exception": r.exception.pk, "title": r.exception.title, "type_code": r.exception.type_code,
            "status": r.exception.status,
            "current_queue": queues.get(r.old_queue_id), "proposed_queue": queues.get(r.new_queue_id),
            "current_priority": r.exception.priority, "proposed_priority": r.new_priority,
            "current_assignee": users.get(r.exception.assignee_id), "proposed_assignee": users.get(r.new_assignee_id),
            "rule": r.rule.name if r.rule else None, "rule_id": r.rule.pk if r.rule else None, "moves": r.moves,
        } for r in rows],
    }


@extend_schema_view(
    create=extend_schema(responses={201: RoutingRuleResultSerializer}),
    update=extend_schema(responses=RoutingRuleResultSerializer),
    partial_update=extend_schema(responses=RoutingRuleResultSerializer),
    destroy=extend_schema(responses={200: RoutingRuleDeletedSerializer}),
)
class RoutingRuleViewSet(viewsets.GenericViewSet):
    """Routing rules in order: the first active rule whose conditions all hold decides where an
    exception goes; no match → the catalogue queue."""

    serializer_class = RoutingRuleSerializer
    permission_classes = [permissions.IsAuthenticated, AllowedOr404]
    queryset = RoutingRule.objects.select_related("queue", "assignee", "updated_by").order_by("position", "pk")
    lookup_value_regex = r"[0-9]+"

    @staticmethod
    def allowed(user: Any) -> bool:
        return can_edit_routing_rules(user)

    def _result(self, rule: RoutingRule, *, changed: bool, rerouted: int) -> dict[str, Any]:
        rule = self.get_queryset().get(pk=rule.pk)  # positions and updated_by as saved
        return {**RoutingRuleSerializer(rule).data, "changed": changed, "rerouted": rerouted}

    def list(self, request: AuthenticatedRequest) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(RoutingRuleSerializer(page, many=True).data)

    def retrieve(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        return Response(RoutingRuleSerializer(self.get_object()).data)

    def create(self, request: AuthenticatedRequest) -> Response:
        payload = RoutingRuleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        draft = RoutingRule(**payload.validated_data)
        rule, moved = routing_rules_edit(actor=request.user,
                                         edit=lambda: routing_rule_save(rule=draft, actor=request.user))
        return Response(self._result(rule, changed=True, rerouted=moved), status=status.HTTP_201_CREATED)

    def update(self, request: AuthenticatedRequest, pk: Any = None, partial: bool = False) -> Response:
        rule = self.get_object()
        payload = RoutingRuleSerializer(rule, data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        for name, value in payload.validated_data.items():
            setattr(rule, name, value)
        saved, moved = routing_rules_edit(actor=request.user,
                                          edit=lambda: routing_rule_save(rule=rule, actor=request.user))
        return Response(self._result(saved, changed=True, rerouted=moved))

    def partial_update(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        rule = self.get_object()
        deleted = rule.pk
        _, moved = routing_rules_edit(actor=request.user,
                                      edit=lambda: routing_rule_delete(rule=rule, actor=request.user))
        return Response({"id": deleted, "rerouted": moved})

    @extend_schema(request=MoveSerializer, responses=RoutingRuleResultSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        """Swap the rule with its neighbour; "changed": false when it is already first (or last)."""
        rule = self.get_object()
        payload = MoveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        direction = payload.validated_data["direction"]
        changed, moved = routing_rules_edit(
            actor=request.user,
            edit=lambda: routing_rule_move(rule=rule, actor=request.user, direction=direction))
        return Response(self._result(rule, changed=changed, rerouted=moved))

    @extend_schema(request=ToggleSerializer, responses=RoutingRuleResultSerializer)
    @action(detail=True, methods=["post"])
    def toggle(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        """Activate or deactivate; "changed": false when it already was."""
        rule = self.get_object()
        payload = ToggleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        active = payload.validated_data["active"]
        changed, moved = routing_rules_edit(
            actor=request.user,
            edit=lambda: routing_rule_toggle(rule=rule, actor=request.user, active=active))
        return Response(self._result(rule, changed=changed, rerouted=moved))

    @extend_schema(
        request=RoutingPreviewRequestSerializer, responses=RoutingPreviewSerializer,
        parameters=[OpenApiParameter("limit", OpenApiTypes.INT,
                                     description=f"how many recent exceptions (default {PREVIEW_SIZE}, "
                                                 f"at most {PREVIEW_MAX})")],
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: AuthenticatedRequest) -> Response:
        """Where the last `limit` exceptions would go under unsaved rules; nothing is saved."""
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        payload = RoutingPreviewRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        limit = query.validated_data["limit"]
        rows = routing_preview(rules=payload.drafts(), limit=limit)
        return Response(_preview_payload(rows, limit))

    @extend_schema(request=None, responses=RoutingRuleChangeSerializer(many=True))
    @action(detail=False, methods=["get"], serializer_class=RoutingRuleChangeSerializer)
    def changes(self, request: AuthenticatedRequest) -> Response:
        """The audit trail of rule edits, newest first: who, what, before/after, how many re-routed."""
        page = self.paginate_queryset(RoutingRuleChange.objects.select_related("actor").order_by("-created_at", "-pk"))
        return self.get_paginated_response(RoutingRuleChangeSerializer(page, many=True).data)
