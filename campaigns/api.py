"""Campaigns API: list, create, read, update, schedule, re-pin, archive, audience (JSON or streamed CSV)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle

from campaigns import selectors, services
from campaigns.columns import campaign_export_columns, export_columns_validate
from campaigns.export import audience_export_response, legacy_columns
from campaigns.models import Audience, Campaign, CampaignStatus
from core.api import CanExportAudience, CursorPage, ModelPermissionsWithView
from core.exceptions import DataError
from segmentation.models import PlaybookRule, Segment, SegmentRun


class CampaignSerializer(serializers.ModelSerializer):
    segments = serializers.PrimaryKeyRelatedField(many=True, queryset=Segment.objects.all(), required=False)
    audience = serializers.PrimaryKeyRelatedField(queryset=Audience.objects.all(), required=False, allow_null=True)
    export_columns = serializers.ListField(child=serializers.CharField(), required=False)
    playbook_rule = serializers.PrimaryKeyRelatedField(
        queryset=PlaybookRule.objects.all(), required=False, allow_null=True
    )
    owner = serializers.CharField(source="owner.username", read_only=True, default=None)
    status = serializers.ChoiceField(choices=CampaignStatus.choices, required=False)

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "goal", "channel", "offer", "starts_on", "ends_on", "status", "owner",
            "segments", "audience", "export_columns", "strategy", "playbook_rule", "pinned_run", "pinned_at",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["pinned_run", "pinned_at", "created_at", "updated_at"]

    def validate(self, attrs):
        starts = attrs.get("starts_on", getattr(self.instance, "starts_on", None))
        ends = attrs.get("ends_on", getattr(self.instance, "ends_on", None))
        if starts and ends and ends < starts:
            raise serializers.ValidationError({"ends_on": f"must be on or after starts_on ({starts}); got {ends}"})
        return attrs


class AudienceRowSerializer(serializers.Serializer):
    """One audience member; the same fixed columns as the CSV export."""

    external_id = serializers.CharField(source="customer.external_id")
    segment_label = serializers.IntegerField(source="segment.label")
    segment_name = serializers.CharField(source="segment.name")
    run_id = serializers.IntegerField()
    gender = serializers.CharField(source="customer.gender")
    age = serializers.IntegerField(source="customer.age", allow_null=True)
    annual_income = serializers.FloatField(source="customer.annual_income", allow_null=True)
    spending_score = serializers.FloatField(source="customer.spending_score", allow_null=True)
    strategy = serializers.SerializerMethodField()
    campaign_id = serializers.SerializerMethodField()

    def get_strategy(self, obj) -> str:
        return self.context["campaign"].strategy or obj.segment.strategy

    def get_campaign_id(self, obj) -> int:
        return self.context["campaign"].pk


class StaticAudienceRowSerializer(serializers.Serializer):
    """One member of a static audience (JSON pages)."""

    external_id = serializers.CharField(source="customer.external_id")
    audience_id = serializers.IntegerField()
    audience_name = serializers.CharField(source="audience.name")
    gender = serializers.CharField(source="customer.gender")
    age = serializers.IntegerField(source="customer.age", allow_null=True)
    annual_income = serializers.FloatField(source="customer.annual_income", allow_null=True)
    spending_score = serializers.FloatField(source="customer.spending_score", allow_null=True)
    strategy = serializers.SerializerMethodField()
    campaign_id = serializers.SerializerMethodField()

    def get_strategy(self, obj) -> str:
        return self.context["campaign"].strategy

    def get_campaign_id(self, obj) -> int:
        return self.context["campaign"].pk


class AudiencePage(CursorPage):
    page_size = 500
    max_page_size = 5000
    ordering = "customer_id"  # unique within the run of an audience (Membership has no surrogate id)


class AudienceCSVRenderer(BaseRenderer):
    """Selected by `?format=csv` or `Accept: text/csv`; the view streams the body itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes | str) else b""


class AudienceExcelRenderer(AudienceCSVRenderer):
    """`?format=excel`: CSV for Excel (byte-order mark, ids kept as text)."""

    format = "excel"


class AudienceJSONStreamRenderer(AudienceCSVRenderer):
    """`?format=json-stream`: the whole audience as one JSON array, streamed."""

    media_type = "application/json"
    format = "json-stream"


#: API `format` -> export format (campaigns.export.EXPORT_FORMATS); "json" (or none) is the cursor-paged JSON.
API_STREAM_FORMATS = {"csv": "csv", "excel": "excel", "json-stream": "json"}
API_FORMATS = ("json", *API_STREAM_FORMATS)


class RepinSerializer(serializers.Serializer):
    run = serializers.PrimaryKeyRelatedField(queryset=SegmentRun.objects.all())


PREVIEW_SCHEMA = inline_serializer(
    "RepinPreview",
    {
        "run": serializers.IntegerField(),
        "segments": serializers.ListField(child=serializers.DictField()),
        "unmatched": serializers.ListField(child=serializers.IntegerField()),
        "current_count": serializers.IntegerField(),
        "new_count": serializers.IntegerField(),
        "entering_count": serializers.IntegerField(),
        "leaving_count": serializers.IntegerField(),
        "staying_count": serializers.IntegerField(),
        "entering_examples": serializers.ListField(child=serializers.CharField()),
        "leaving_examples": serializers.ListField(child=serializers.CharField()),
    },
)


@extend_schema_view(
    create=extend_schema(
        description="Create a draft campaign: "
        '`{"name": ..., "segments": [segment ids of one run], "channel": ..., ...}`'
        " answers 201. Needs campaigns.add_campaign (Marketer, Admin). Audited."
    ),
    retrieve=extend_schema(description="One campaign (archived ones included)."),
    update=extend_schema(
        description="Replace a campaign's fields; `status` may move scheduled -> active -> finished. Audited."
    ),
    partial_update=extend_schema(description="Change some fields of a campaign. Archived campaigns answer 409."),
)
class CampaignViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Campaigns. There is no delete: campaigns are archived (`POST /api/campaigns/<id>/archive/`)."""

    serializer_class = CampaignSerializer
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    pagination_class = CursorPage
    queryset = Campaign.objects.none()
    # ScopedRateThrottle's scope; the audience export sets "export" (REST_FRAMEWORK DEFAULT_THROTTLE_RATES).
    throttle_scope: str | None = None

    def get_queryset(self):
        if self.action == "list":
            status_filter = self.request.query_params.get("status")
            return selectors.campaign_list(status=status_filter, include_archived=False)
        return selectors.campaign_list(include_archived=True)

    def perform_content_negotiation(self, request, force=False):
        """An unknown `?format=` answers 400 naming the parameter (DRF's own answer is a bare 404)."""
        try:
            return super().perform_content_negotiation(request, force=force)
        except Http404:
            wanted = request.query_params.get("format")
            if self.action == "audience" and wanted:
                raise DataError(f"format: expected one of {', '.join(API_FORMATS)}; got {wanted!r}") from None
            raise

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=CampaignStatus.values, description="Only this status")]
    )
    def list(self, request, *args, **kwargs):
        """Campaigns, newest first; archived ones only with `?status=archived`."""
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        requested = data.pop("status", CampaignStatus.DRAFT)
        if requested != CampaignStatus.DRAFT:
            raise DataError(f"status: a new campaign is a draft (schedule it afterwards); got {requested!r}")
        serializer.instance = services.campaign_create(actor=self.request.user, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        segments = data.pop("segments", None)
        new_status = data.pop("status", None)
        audience = data.pop("audience", serializer.instance.audience)
        if audience != serializer.instance.audience:
            raise DataError(
                "audience: a campaign's static audience is chosen when it is created; "
                f"got {getattr(audience, 'pk', None)}"
            )
        serializer.instance = services.campaign_update(
            actor=self.request.user, campaign=serializer.instance, segments=segments, status=new_status, **data
        )

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def schedule(self, request, pk=None):
        """Schedule a draft: pin its audience to the active run."""
        campaign = services.campaign_schedule(actor=request.user, campaign=self.get_object())
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        """Archive (campaigns are never deleted)."""
        campaign = services.campaign_archive(actor=request.user, campaign=self.get_object())
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(
        parameters=[OpenApiParameter("run", int, required=True, description="The run to compare with")],
        responses=PREVIEW_SCHEMA,
    )
    @action(detail=True, methods=["get"], url_path="repin-preview")
    def repin_preview(self, request, pk=None):
        """Who would enter and leave the audience if the campaign were re-pinned to `run`."""
        serializer = RepinSerializer(data={"run": request.query_params.get("run")})
        serializer.is_valid(raise_exception=True)
        preview = selectors.campaign_repin_preview(campaign=self.get_object(), run=serializer.validated_data["run"])
        return Response(preview.as_dict())

    @extend_schema(request=RepinSerializer, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def repin(self, request, pk=None):
        """Pin the campaign to a newer run (segments follow their lineage)."""
        serializer = RepinSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = services.campaign_repin(
            actor=request.user, campaign=self.get_object(), run=serializer.validated_data["run"]
        )
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=[*API_FORMATS],
                description=(
                    "`json` (default): cursor pages of fixed fields. The whole audience, streamed: `csv` (UTF-8, "
                    "for tools), `excel` (CSV for Excel: byte-order mark, ids such as 0124 written as ="
                    '"0124" so Excel keeps them as text) or `json-stream` (one JSON array of objects). '
                    "Text cells starting with =, +, -, @, tab or CR are prefixed with a single quote in CSV."
                ),
            ),
            OpenApiParameter(
                "columns",
                str,
                description=(
                    "Streamed formats only: comma-separated column names, in order (any customer field or "
                    "attribute key, segment_name, segment_label, run_id, audience_name, strategy, campaign_id, "
                    "campaign_name, channel, offer). Without it: the campaign's chosen columns, else "
                    + ", ".join(selectors.AUDIENCE_COLUMNS)
                    + " and the run's attribute features."
                ),
            ),
        ],
        responses={
            200: OpenApiResponse(
                response=AudienceRowSerializer(many=True),
                description="JSON pages (cursor pagination) or a stream (text/csv, application/json).",
            ),
            (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description="The audience as CSV"),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        permission_classes=[IsAuthenticated, ModelPermissionsWithView, CanExportAudience],
        throttle_classes=[UserRateThrottle, ScopedRateThrottle],
        throttle_scope="export",
        renderer_classes=[
            JSONRenderer,
            BrowsableAPIRenderer,
            AudienceCSVRenderer,
            AudienceExcelRenderer,
            AudienceJSONStreamRenderer,
        ],
        pagination_class=AudiencePage,
    )
    def audience(self, request, pk=None):
        """The campaign's audience: members of its segments in the pinned run, or of its static audience.
        Every call is audited (columns, format, rows)."""
        campaign = self.get_object()
        export_format = API_STREAM_FORMATS.get(request.accepted_renderer.format)
        raw_columns = request.query_params.get("columns")
        if export_format is None:
            if raw_columns is not None:
                raise DataError(
                    f"columns: choose columns with format=csv, excel or json-stream; the paged JSON has fixed "
                    f"fields (got columns={raw_columns!r})"
                )
            return self._audience_page(request, campaign)
        if raw_columns is not None:
            columns = export_columns_validate(raw_columns, parameter="columns")
        elif campaign.export_columns:
            columns = campaign_export_columns(campaign=campaign)  # those still available
        else:
            columns = legacy_columns(campaign=campaign)
        return audience_export_response(actor=request.user, campaign=campaign, columns=columns, format=export_format)

    def _audience_page(self, request, campaign):
        if campaign.audience_id:
            queryset = selectors.audience_page_queryset(campaign=campaign)
            serializer_class = StaticAudienceRowSerializer
        else:
            queryset = selectors.campaign_audience_page_queryset(campaign=campaign)
            serializer_class = AudienceRowSerializer
        page = self.paginate_queryset(queryset)
        rows = serializer_class(page, many=True, context={"campaign": campaign}).data
        services.campaign_export_record(actor=request.user, campaign=campaign, rows=len(rows), format="json")
        return self.get_paginated_response(rows)


def register(router) -> None:
    router.register("campaigns", CampaignViewSet, basename="campaign")
