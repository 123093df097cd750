"""Segments and runs, read-only over the API."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api import CursorPage, ModelPermissionsWithView
from segmentation.models import Segment, Segmentation, SegmentRun
from segmentation.selectors.dashboard import cached_while_unchanged


class SegmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = [
            "id", "run", "label", "name", "size", "share", "flags", "strategy", "strategy_source",
            "strategy_needs_review", "centroid", "color", "lineage",
        ]  # fmt: skip


class RunSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None)
    segmentation_name = serializers.CharField(source="segmentation.name", read_only=True)
    is_active = serializers.SerializerMethodField()
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    # Plain text in the schema (the campaign's status is the API's one "status" enum): queued, running,
    # succeeded, failed or superseded.
    status = serializers.CharField(read_only=True, help_text="queued, running, succeeded, failed or superseded")

    class Meta:
        model = SegmentRun
        fields = [
            "id", "segmentation", "segmentation_name", "is_active", "status", "stage", "progress", "chosen_k",
            "k_reason", "quality", "error", "requested_by", "trigger", "queued_at", "started_at", "finished_at",
            "duration_seconds", "rows_used", "rows_dropped",
        ]  # fmt: skip

    def get_is_active(self, obj) -> bool:
        return obj.segmentation.active_run_id == obj.pk


class RunDetailSerializer(RunSerializer):
    segments = SegmentSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "params", "evidence", "segments"]


class SegmentPage(CursorPage):
    ordering = "id"


@extend_schema_view(
    list=extend_schema(description="Segments of the active run of every segmentation (or `?segmentation=<id>`)."),
    retrieve=extend_schema(description="One segment of any run, with its flags, strategy and centroid."),
)
class SegmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Segments of the active run (of every segmentation, or `?segmentation=<id>`); any segment by id."""

    serializer_class = SegmentSerializer
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    pagination_class = SegmentPage
    queryset = Segment.objects.none()

    def get_queryset(self):
        qs = Segment.objects.all()
        if self.action == "list":
            active = Segmentation.objects.exclude(active_run=None)
            segmentation = self.request.query_params.get("segmentation")
            if segmentation and segmentation.isdigit():
                active = active.filter(pk=int(segmentation))
            qs = qs.filter(run_id__in=active.values("active_run_id"))
        return qs

    @extend_schema(parameters=[OpenApiParameter("segmentation", int, description="Only this segmentation")])
    def list(self, request, *args, **kwargs):
        # The page (for this address: filter, cursor, page size, host) from the shared cache while the active runs
        # and their segments are unchanged; authentication, permissions and throttles ran before.
        data = cached_while_unchanged(
            "api-segments", lambda: super(SegmentViewSet, self).list(request, *args, **kwargs).data,
            parts=(request.build_absolute_uri(),),
        )  # fmt: skip
        return Response(data)


@extend_schema_view(
    list=extend_schema(description="Segment runs, newest first: status, chosen k and why, timings."),
    retrieve=extend_schema(description="One run with its frozen parameters, evidence per k and its segments."),
)
class RunViewSet(viewsets.ReadOnlyModelViewSet):
    """Segment runs, newest first, with their evidence and segments in the detail."""

    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    pagination_class = CursorPage
    queryset = SegmentRun.objects.none()

    def get_serializer_class(self):
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    def get_queryset(self):
        qs = SegmentRun.objects.select_related("segmentation", "requested_by")
        if self.action == "retrieve":
            qs = qs.prefetch_related("segments")
        return qs


def register(router) -> None:
    router.register("segments", SegmentViewSet, basename="segment")
    router.register("runs", RunViewSet, basename="run")
