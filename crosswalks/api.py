"""REST API on the crosswalks: read for any authenticated user, write with model permissions.

Every write goes through the crosswalk services, as the screens' do: checked against SAP, with
history, and the deals it unblocks re-run; the answer names them (`rerun_handoffs`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from crosswalks import suggestions as suggest
from crosswalks.csvio import import_apply, import_plan
from crosswalks.errors import ImportRejected
from crosswalks.models import (
    DEFAULT_TARGET,
    ChangeChannel,
    CrosswalkChange,
    ErpTarget,
    MappingSource,
    ProductMapping,
    ProductMappingComponent,
)
from crosswalks.permissions import can_edit, can_read_history
from crosswalks.sap_lookup import SapLookup
from crosswalks.selectors import change_list, product_mapping_list, stale_alerts, unblock_preview
from crosswalks.services import (
    RowSaved,
    crosswalk_change_revert,
    crosswalk_row_check,
    crosswalk_row_write,
    product_mapping_create,
    product_mapping_delete,
    product_mapping_update,
)
from crosswalks.tables import table_get
from integration_hub.api import EnumChoiceField
from integration_hub.http import AuthenticatedRequest
from integration_hub.security import security_denied


class ProductMappingComponentSerializer(serializers.ModelSerializer):
    """An S/4 material (`sap_material`) or, for a mapping posted with another `erp_target`, that
    ERP's item (`erp_item`); S/4 components read as they always did."""

    quantity_factor = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal("0.0001"), default=Decimal("1")
    )

    class Meta:
        model = ProductMappingComponent
        fields = ["sap_material", "erp_item", "erp_target", "quantity_factor", "position"]
        read_only_fields = ["erp_target"]
        extra_kwargs = {"position": {"required": False}, "sap_material": {"required": False},
                        "erp_item": {"required": False}}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if data.get("erp_target") == DEFAULT_TARGET:
            return {"sap_material": data["sap_material"], "quantity_factor": data["quantity_factor"],
                    "position": data["position"]}
        return {k: data[k] for k in ("erp_target", "erp_item", "quantity_factor", "position")}


class ProductMappingSerializer(serializers.ModelSerializer):
    components = ProductMappingComponentSerializer(many=True, allow_empty=False)
    confidence = serializers.DecimalField(
        max_digits=4, decimal_places=3, min_value=Decimal("0"), max_value=Decimal("1"), default=Decimal("1")
    )
    updated_by: serializers.StringRelatedField[User] = serializers.StringRelatedField(
        read_only=True, allow_null=True, help_text="null: written by the system or an import without a user")
    # The API field `source` shadows DRF's Field.source (a serializer is a field too).
    source = EnumChoiceField(MappingSource, default=MappingSource.MANUAL)  # type: ignore[assignment]
    # Which ERP the posted components name: S/4HANA materials (default) or another target's items.
    erp_target = serializers.ChoiceField(choices=ErpTarget.choices, default=DEFAULT_TARGET, write_only=True)
    # Only in the answer to a create or update: the handoffs the save sent back to validation.
    rerun_handoffs = serializers.ListField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = ProductMapping
        fields = [
            "id",
            "crm_product_code",
            "crm_product_name",
            "confidence",
            "active",
            "source",
            "components",
            "erp_target",
            "updated_by",
            "created_at",
            "updated_at",
            "rerun_handoffs",
        ]
        read_only_fields = ["id", "updated_by", "created_at", "updated_at"]
        # Uniqueness is checked by the service, with a message that says what to do instead.
        extra_kwargs: dict[str, dict[str, Any]] = {"crm_product_code": {"validators": []}}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        # Always present, so the schema can say so: empty on reads, the re-run deals after a save.
        data.setdefault("rerun_handoffs", [])
        return data

    def _actor(self) -> Any:
        request = self.context.get("request")
        return request.user if request and request.user.is_authenticated else None

    @staticmethod
    def _saved(saved: RowSaved) -> ProductMapping:
        mapping: ProductMapping = saved.row
        mapping.rerun_handoffs = saved.rerun_handoffs  # type: ignore[attr-defined]
        return mapping

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        target = attrs.get("erp_target", DEFAULT_TARGET)
        name = "sap_material" if target == DEFAULT_TARGET else "erp_item"
        for index, component in enumerate(attrs.get("components") or []):
            if not str(component.get(name) or "").strip():
                what = "an SAP material" if target == DEFAULT_TARGET else f"the {target} item id (erp_item)"
                raise ValidationError({"components": [f"component {index + 1}: {what} is required"]})
        if target != DEFAULT_TARGET:
            attrs["components"] = [{"erp_item": c.get("erp_item"), "quantity_factor": c.get("quantity_factor"),
                                    **({"unit": c["unit"]} if c.get("unit") else {})}
                                   for c in attrs.get("components") or []]
        return attrs

    def create(self, validated_data: dict[str, Any]) -> ProductMapping:
        try:
            return self._saved(product_mapping_create(actor=self._actor(), **validated_data))
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc

    def update(self, instance: ProductMapping, validated_data: dict[str, Any]) -> ProductMapping:
        try:
            return self._saved(product_mapping_update(mapping=instance, actor=self._actor(), **validated_data))
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc


class ProductMappingViewSet(viewsets.ModelViewSet):
    """CRM product code/name → one or more SAP materials, each with a quantity factor."""

    serializer_class = ProductMappingSerializer
    queryset = ProductMapping.objects.all()  # DjangoModelPermissions reads the model from here
    permission_classes = [permissions.IsAuthenticated, permissions.DjangoModelPermissions]
    request: AuthenticatedRequest

    def get_queryset(self) -> QuerySet[ProductMapping]:
        return product_mapping_list(search=self.request.query_params.get("search"))

    def perform_destroy(self, instance: ProductMapping) -> None:
        product_mapping_delete(mapping=instance, actor=self.request.user)


# -- every table, history, CSV, preview, suggestions: what the screens do --------------------------
# What the views below answer, for the schema (they build their answers from the table specs).
TABLE_ROWS = {"type": "array", "description": "the table's rows (at most 1000): id and each column as text",
              "items": {"type": "object", "properties": {"id": {"type": "integer"}},
                        "required": ["id"], "additionalProperties": {"type": "string"}}}


class CrosswalkChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    row_key = serializers.CharField()
    action = serializers.CharField()
    channel = serializers.CharField()
    actor = serializers.CharField(allow_null=True, help_text="null: the system")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    before = serializers.DictField(allow_null=True, help_text="null: the row was created")
    after = serializers.DictField(allow_null=True, help_text="null: the row was deleted")


class ImportProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="the file's line; 0: the import as a whole")
    column = serializers.CharField(help_text="empty: the whole line")
    message = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="false: nothing was (or would be) imported; see errors")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="added, changed, removed, unchanged")
    # The API field `errors` shadows Serializer.errors (declared fields are taken off the class).
    errors = ImportProblemSerializer(many=True)  # type: ignore[assignment]
    warnings = ImportProblemSerializer(many=True, help_text="imported as typed, but worth a look (e.g. formulas)")
    unblocks = serializers.ListField(child=serializers.IntegerField(), help_text="handoffs the rows would unblock")
    imported = serializers.BooleanField(required=False, help_text="only when dry_run was false and it imported")
    rerun_handoffs = serializers.ListField(child=serializers.IntegerField(), required=False)


class FactorSerializer(serializers.Serializer):
    # The API field `label` shadows DRF's Field.label (a serializer is a field too).
    label = serializers.CharField()  # type: ignore[assignment]
    score = serializers.FloatField()
    weight = serializers.FloatField()


class CandidateSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="the SAP material or business partner")
    name = serializers.CharField()
    confidence = serializers.FloatField()
    factors = FactorSerializer(many=True)


class SuggestionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["product", "account"])
    key = serializers.CharField()
    name = serializers.CharField()
    blocked = serializers.IntegerField(help_text="deals it blocks")
    candidates = CandidateSerializer(many=True)


class StaleAlertSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["product", "account"])
    key = serializers.CharField()
    name = serializers.CharField()
    blocked = serializers.IntegerField()


class CrosswalkTableView(APIView):
    """GET rows of a table (`?q=` filters); POST a row's snapshot (`confirm=false` only previews)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("q", OpenApiTypes.STR, description="search the rows")],
                   responses={200: TABLE_ROWS})
    def get(self, request: AuthenticatedRequest, table: str) -> Response:
        spec = table_get(table)
        return Response([{"id": o.pk, **spec.snapshot(o)} for o in spec.filtered(request.query_params.get("q"))[:1000]])

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT})
    def post(self, request: AuthenticatedRequest, table: str) -> Response:
        spec = table_get(table)
        if not can_edit(request.user, spec):
            raise PermissionDenied(f"You may read {spec.label} but not change it.")
        raw = {c.name: request.data.get(c.name, "") for c in spec.columns}
        try:
            checked = crosswalk_row_check(table=spec, raw=raw)  # SAP, before any transaction
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        instance = spec.find(checked.values)
        preview = unblock_preview(table=spec.slug, rows=[checked.values], changed=[checked.values] if instance else None)
        summary = {"unblocks": [h.pk for h in preview.unblocked], "still_blocked": [h.pk for h in preview.still_blocked],
                   "orders_affected": [h.sap_sales_order for h in preview.orders]}
        if str(request.data.get("confirm", "true")).lower() in {"false", "0", "no"}:
            return Response({"preview": summary})
        try:
            saved = crosswalk_row_write(row=checked, actor=request.user, channel=ChangeChannel.API,
                                        reason=str(request.data.get("reason", "")), instance=instance)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        obj = saved.row
        return Response({"id": obj.pk, **spec.snapshot(obj), "preview": summary,
                         "rerun_handoffs": saved.rerun_handoffs}, status=201 if not instance else 200)


class CrosswalkHistoryView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("key", OpenApiTypes.STR, description="one row's key")],
                   responses=CrosswalkChangeSerializer(many=True))
    def get(self, request: AuthenticatedRequest, table: str) -> Response:
        if not can_read_history(request.user, table_get(table)):
            security_denied(request, f"crosswalk history of {table}: not an editor of the table")
            raise Http404
        changes = change_list(table=table, row_key=request.query_params.get("key"))[:500]
        return Response([{"id": c.pk, "row_key": c.row_key, "action": c.action, "channel": c.channel,
                          "actor": str(c.actor) if c.actor else None, "reason": c.reason,
                          "created_at": c.created_at, "before": c.before, "after": c.after} for c in changes])


class CrosswalkRevertView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        change = get_object_or_404(CrosswalkChange, pk=pk)
        if not can_edit(request.user, table_get(change.table)):
            raise PermissionDenied("You may not change this table.")
        try:
            saved = crosswalk_change_revert(change=change, actor=request.user, channel=ChangeChannel.API,
                                            reason=str(request.data.get("reason", "")))
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response({"reverted": change.pk, "rerun_handoffs": saved.rerun_handoffs if saved else []})


class CrosswalkImportView(APIView):
    """POST a CSV (`file` upload or `content`); `dry_run` (default true) only checks it."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: ImportResultSerializer, 400: ImportResultSerializer})
    def post(self, request: AuthenticatedRequest, table: str) -> Response:
        spec = table_get(table)
        if not can_edit(request.user, spec):
            raise PermissionDenied("You may not import into this table.")
        upload = request.FILES.get("file")
        content = upload.read() if upload else str(request.data.get("content", ""))
        plan = import_plan(spec, content, replace=str(request.data.get("replace", "")).lower() in {"1", "true"},
                           lookup=SapLookup(trust_cache=True))
        body: dict[str, Any] = {"ok": plan.ok, "counts": plan.counts,
                                "errors": [{"line": e.line, "column": e.column, "message": e.message} for e in plan.errors],
                                "warnings": [{"line": w.line, "column": w.column, "message": w.message}
                                             for w in plan.warnings],
                                "unblocks": plan.preview.handoff_ids}
        if not plan.ok:
            return Response(body, status=400)
        if str(request.data.get("dry_run", "true")).lower() in {"false", "0", "no"}:
            try:
                imported = import_apply(plan=plan, actor=request.user, reason=str(request.data.get("reason", "")))
            except ImportRejected as error:
                return Response({**body, "errors": [{"line": 0, "column": "", "message": str(error)}]}, status=400)
            body["imported"] = True
            body["rerun_handoffs"] = imported.unblocked.rerun_handoffs
        return Response(body)


class CrosswalkSuggestionsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=SuggestionSerializer(many=True))
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response([
            {"kind": s.kind, "key": s.key, "name": s.name, "blocked": s.blocked,
             "candidates": [{"value": c.value, "name": c.name, "confidence": c.confidence,
                             "factors": [{"label": f.label, "score": f.score, "weight": f.weight} for f in c.factors]}
                            for c in s.candidates]}
            for s in suggest.suggestions()
        ])


class CrosswalkAlertsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=StaleAlertSerializer(many=True))
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response([vars(a) for a in stale_alerts()])
