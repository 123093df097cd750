"""Admin of segmentations, runs and segments. "Re-segment now" queues runs through the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core.exceptions import SegmentaError
from segmentation import services
from segmentation.models import RunStatus, Segment, Segmentation, SegmentRun

RUN_PERMISSION = "segmentation.run_segmentation"

RUN_FIELDS = (
    "segmentation",
    "version",
    "status",
    "stage",
    "progress",
    "trigger",
    "requested_by",
    "queued_at",
    "started_at",
    "finished_at",
    "heartbeat_at",
    "worker",
    "attempts",
    "rows_used",
    "rows_dropped",
    "chosen_k",
    "k_reason",
    "error",
    "params",
    "evidence",
    "quality",
    "model",
)


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class SegmentRunInline(ReadOnlyMixin, admin.TabularInline):
    model = SegmentRun
    fk_name = "segmentation"
    fields = (
        "id",
        "version",
        "status",
        "stage",
        "progress",
        "chosen_k",
        "trigger",
        "queued_at",
        "finished_at",
        "error",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True
    ordering = ("-queued_at", "-id")


@admin.register(Segmentation)
class SegmentationAdmin(admin.ModelAdmin):
    list_display = ("name", "features", "scaler", "k", "k_min", "k_max", "schedule", "active_run", "version")
    search_fields = ("name",)
    readonly_fields = ("active_run", "version", "created_at", "updated_at")
    inlines = [SegmentRunInline]
    actions = ["resegment_now"]

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        if not request.user.has_perm(RUN_PERMISSION):
            actions.pop("resegment_now", None)
        return actions

    @admin.action(description="Re-segment now", permissions=["run"])
    def resegment_now(self, request: HttpRequest, queryset):
        if not request.user.has_perm(RUN_PERMISSION):
            raise PermissionDenied("Only Admins may start a re-segmentation.")
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Re-segment now?",
                "segmentations": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "segmentation/admin/resegment_confirm.html", context)
        queued = []
        for segmentation in queryset:
            try:
                run = services.run_request(segmentation=segmentation, requested_by=request.user, trigger="admin")
            except SegmentaError as exc:
                self.message_user(request, f"{segmentation.name}: {exc}", messages.ERROR)
                continue
            run.refresh_from_db(fields=["status", "error"])
            if run.status == RunStatus.FAILED:  # the broker could not be reached: the run says why
                self.message_user(
                    request, f"Run #{run.pk} of “{segmentation.name}” failed: {run.error}", messages.ERROR
                )
                continue
            queued.append(f"run #{run.pk} of “{segmentation.name}”")
        if queued:
            self.message_user(
                request,
                f"Queued {len(queued)} run(s): {', '.join(queued)}. Follow them under Segment runs.",
                messages.SUCCESS,
            )
        return None

    def has_run_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RUN_PERMISSION)


@admin.register(SegmentRun)
class SegmentRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "segmentation",
        "status",
        "stage",
        "progress",
        "chosen_k",
        "trigger",
        "queued_at",
        "finished_at",
    )
    list_filter = ("status", "trigger", "segmentation")
    fields = RUN_FIELDS
    readonly_fields = RUN_FIELDS

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("segmentation.view_segmentrun")


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "run", "label", "size", "share", "flags", "strategy_source")
    list_filter = ("run__segmentation",)
    readonly_fields = ("run", "label", "size", "share", "centroid", "profile", "flags", "lineage")
    search_fields = ("name",)
