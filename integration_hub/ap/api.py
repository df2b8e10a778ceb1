"""REST API of accounts payable: `POST /api/v1/ap/invoices/` (JSON or a multipart `file`) and
`GET /api/v1/ap/invoices/<id>/`. Permissions as the other APIs: signed in (token or session), and
the people of accounts payable only (anyone else: 404 on an invoice, 403 on an upload)."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from integration_hub.ap.intake import IntakeError, extract, from_json
from integration_hub.ap.models import VendorInvoice, VendorInvoiceLine
from integration_hub.ap.selectors import can_upload, invoices_visible, open_exception_types
from integration_hub.ap.services import extracted_for_api, vendor_invoice_receive


class VendorInvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = VendorInvoiceLine
        fields = ["position", "purchase_order", "purchase_order_item", "material", "quantity", "unit", "unit_price",
                  "result", "detail"]
        read_only_fields = fields


class VendorInvoiceSerializer(serializers.ModelSerializer):
    key = serializers.CharField(read_only=True)
    extracted = serializers.SerializerMethodField(help_text="every field with value, confidence and source")
    match = serializers.SerializerMethodField(help_text="the match per line")
    open_exception_types = serializers.SerializerMethodField()

    class Meta:
        model = VendorInvoice
        fields = ["id", "key", "status", "supplier", "company_code", "reference", "invoice_date", "currency",
                  "payment_terms", "gross_amount", "format", "extracted", "match", "open_exception_types",
                  "sap_supplier_invoice", "sap_fiscal_year", "payment_block", "created_at"]
        read_only_fields = fields

    @extend_schema(exclude=False)
    def get_extracted(self, invoice: VendorInvoice) -> dict[str, Any]:
        return extracted_for_api(invoice)

    def get_match(self, invoice: VendorInvoice) -> dict[str, Any]:
        return {"decision": (invoice.match or {}).get("decision", ""),
                "findings": (invoice.match or {}).get("findings", []),
                "lines": VendorInvoiceLineSerializer(invoice.lines.all(), many=True).data}

    def get_open_exception_types(self, invoice: VendorInvoice) -> list[str]:
        return open_exception_types(invoice)


class CreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class VendorInvoiceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = VendorInvoiceSerializer
    queryset = VendorInvoice.objects.none()
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[VendorInvoice]:
        return invoices_visible(user=self.request.user).prefetch_related("lines")

    @extend_schema(request={"application/json": OpenApiTypes.OBJECT, "multipart/form-data": OpenApiTypes.OBJECT},
                   responses={201: CreatedSerializer, 200: CreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A vendor invoice as JSON (`supplier`, `invoice_number`, `invoice_date`, `currency`,
        `payment_terms`, `gross_amount`, `lines`) or a file (`file`: CSV, UBL, PDF, DOCX, an image).
        201 with `{id, status}`; the same content again answers 200 with the same invoice."""
        if not can_upload(request.user):
            raise PermissionDenied("only accounts payable may send vendor invoices")
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        try:
            if upload is not None:
                content = upload.read()
                extracted = extract(content, filename=upload.name or "upload", content_type=upload.content_type or "")
                filename, content_type = upload.name or "", upload.content_type or ""
            else:
                if not isinstance(request.data, dict) or not request.data:
                    return Response({"detail": "send a JSON invoice or a file in the multipart field 'file'"},
                                    status=status.HTTP_400_BAD_REQUEST)
                payload = dict(request.data)
                extracted = from_json(payload)
                content = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
                filename, content_type = "", "application/json"
        except IntakeError as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        invoice, created = vendor_invoice_receive(extracted=extracted, content=content, filename=filename,
                                                  content_type=content_type,
                                                  actor=request.user if request.user.is_authenticated else None)
        return Response({"id": invoice.pk, "status": invoice.status},
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
