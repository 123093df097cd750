"""Admin of segmentations, runs, segments and the playbook. "Re-segment now" queues runs through the services.

Playbook rules: Admins edit them, every change is audited, none is deleted (deactivate instead)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms.fields import InvalidJSONInput
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core.exceptions import ConfigError, SegmentaError
from segmentation.models import PlaybookRule, RunStatus, Segment, Segmentation, SegmentRun
from segmentation.playbook import conditions_validate, flags_validate, rule_as_dict
from segmentation.services import runs, schedules
from segmentation.services.strategies import playbook_rule_saved, segment_rename
from segmentation.validators import JSON_MAX_DEPTH, json_depth, json_depth_validate

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
    list_display = (
        "name",
        "method",
        "features",
        "transform",
        "scaler",
        "k",
        "k_min",
        "k_max",
        "min_share",
        "outliers",
        "schedule",
        "active_run",
        "version",
    )
    search_fields = ("name",)
    readonly_fields = ("active_run", "version", "created_at", "updated_at")
    inlines = [SegmentRunInline]
    actions = ["resegment_now"]

    def save_model(self, request: HttpRequest, obj: Segmentation, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        schedules.segmentation_schedule_sync(segmentation=obj)  # its periodic task follows the schedule

    def delete_model(self, request: HttpRequest, obj: Segmentation) -> None:
        segmentation_id = obj.pk
        super().delete_model(request, obj)
        schedules.segmentation_schedule_remove(segmentation_id=segmentation_id)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)
        for segmentation_id in ids:
            schedules.segmentation_schedule_remove(segmentation_id=segmentation_id)

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
                run = runs.run_request(segmentation=segmentation, requested_by=request.user, trigger="admin")
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
    list_select_related = ("run__segmentation",)  # a run reads "Run #4 of “Behaviour”"
    list_filter = ("run__segmentation",)
    readonly_fields = ("run", "label", "size", "share", "centroid", "profile", "flags", "lineage", "name_source")
    search_fields = ("name",)

    def save_model(self, request: HttpRequest, obj: Segment, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "name" in form.changed_data:  # a typed name: lineage carries it (segment_rename)
            segment_rename(segment=obj, name=obj.name, user=request.user)


class _BoundedJSONField(forms.JSONField):
    """The admin's JSON box, refusing text nested deeper than the validator allows before parsing it."""

    def to_python(self, value):
        if isinstance(value, str):
            json_depth_validate(value, name=self.label or "value")
        return super().to_python(value)

    def bound_data(self, data, initial):
        if isinstance(data, str) and json_depth(data) > JSON_MAX_DEPTH:
            return InvalidJSONInput(data[:200])  # shown back as typed (cut), never parsed
        return super().bound_data(data, initial)

    def has_changed(self, initial, data):
        if isinstance(data, str) and json_depth(data) > JSON_MAX_DEPTH:
            return True
        return super().has_changed(initial, data)


class PlaybookRuleAdminForm(forms.ModelForm):
    conditions = _BoundedJSONField(required=False, label="conditions")

    class Meta:
        model = PlaybookRule
        fields = ["name", "priority", "active", "flags", "conditions", "actions", "rationale"]

    def clean_flags(self):
        try:
            return flags_validate(self.cleaned_data.get("flags"))
        except ConfigError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_conditions(self):
        try:
            return conditions_validate(self.cleaned_data.get("conditions"))
        except ConfigError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(PlaybookRule)
class PlaybookRuleAdmin(admin.ModelAdmin):
    form = PlaybookRuleAdminForm
    list_display = ("priority", "name", "active", "flags", "builtin", "updated_at")
    list_display_links = ("name",)
    list_filter = ("active", "builtin")
    ordering = ("priority", "id")
    readonly_fields = ("builtin", "created_at", "updated_at")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate a rule instead: its history stays readable

    def save_model(self, request, obj, form, change):
        before = rule_as_dict(PlaybookRule.objects.get(pk=obj.pk)) if change and obj.pk else None
        super().save_model(request, obj, form, change)
        playbook_rule_saved(actor=request.user, rule=obj, before=before)
