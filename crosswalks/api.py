"""REST API on the product crosswalk: read for any authenticated user, write with model permissions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import ValidationError

from crosswalks.models import MappingSource, ProductMapping, ProductMappingComponent
from crosswalks.selectors import product_mapping_list
from crosswalks.services import product_mapping_create, product_mapping_delete, product_mapping_update
from integration_hub.api import EnumChoiceField


class ProductMappingComponentSerializer(serializers.ModelSerializer):
    quantity_factor = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal("0.0001"), default=Decimal("1")
    )

    class Meta:
        model = ProductMappingComponent
        fields = ["sap_material", "quantity_factor", "position"]
        extra_kwargs = {"position": {"required": False}}


class ProductMappingSerializer(serializers.ModelSerializer):
    components = ProductMappingComponentSerializer(many=True, allow_empty=False)
    confidence = serializers.DecimalField(
        max_digits=4, decimal_places=3, min_value=Decimal("0"), max_value=Decimal("1"), default=Decimal("1")
    )
    updated_by = serializers.StringRelatedField(read_only=True)
    source = EnumChoiceField(MappingSource, default=MappingSource.MANUAL)

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
            "updated_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_by", "created_at", "updated_at"]
        # Uniqueness is checked by the service, with a message that says what to do instead.
        extra_kwargs = {"crm_product_code": {"validators": []}}

    def _actor(self) -> Any:
        request = self.context.get("request")
        return request.user if request and request.user.is_authenticated else None

    def create(self, validated_data: dict[str, Any]) -> ProductMapping:
        try:
            return product_mapping_create(actor=self._actor(), **validated_data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc

    def update(self, instance: ProductMapping, validated_data: dict[str, Any]) -> ProductMapping:
        try:
            return product_mapping_update(mapping=instance, actor=self._actor(), **validated_data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc


class ProductMappingViewSet(viewsets.ModelViewSet):
    """CRM product code/name → one or more SAP materials, each with a quantity factor."""

    serializer_class = ProductMappingSerializer
    queryset = ProductMapping.objects.all()  # DjangoModelPermissions reads the model from here
    permission_classes = [permissions.IsAuthenticated, permissions.DjangoModelPermissions]

    def get_queryset(self) -> QuerySet[ProductMapping]:
        return product_mapping_list(search=self.request.query_params.get("search"))

    def perform_destroy(self, instance: ProductMapping) -> None:
        product_mapping_delete(mapping=instance, actor=self.request.user)
