"""Admin: recommendation runs, read only, with "Run now" (a button on the list and an action)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path

from campaigns.recommendations import selectors, services
from campaigns.recommendations.models import RecommendationRun

RUN_PERMISSION = "campaigns.run_recommendations"


@admin.register(RecommendationRun)
class RecommendationRunAdmin(admin.ModelAdmin):
    change_list_template = "admin/campaigns/recommendationrun/change_list.html"
    list_display = (
        "id",
        "status",
        "is_active",
        "served_model",
        "customers",
        "products",
        "trigger",
        "queued_at",
        "finished_at",
    )
    list_filter = ("status", "is_active", "trigger")
    actions = ["run_now"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # runs are requested with "Run now", the page, the command or the schedule

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        urls = super().get_urls()
        run = path("run/", self.admin_site.admin_view(self.run_view), name="campaigns_recommendationrun_run")
        return [run, *urls]

    def _queue(self, request) -> None:
        if not request.user.has_perm(RUN_PERMISSION):
            raise PermissionDenied
        if selectors.recommendation_run_in_progress() is not None:
            self.message_user(request, "A recommendation run is already queued or running.", messages.INFO)
            return
        run = services.recommendation_run_request(requested_by=request.user, trigger="admin")
        self.message_user(request, f"Recommendation run #{run.pk} queued.", messages.SUCCESS)

    def run_view(self, request):
        if request.method != "POST":
            return redirect("admin:campaigns_recommendationrun_changelist")
        self._queue(request)
        return redirect("admin:campaigns_recommendationrun_changelist")

    @admin.action(description="Run recommendations now (trains on all order lines)")
    def run_now(self, request, queryset):
        self._queue(request)

    def changelist_view(self, request, extra_context=None):
        extra = {"can_run": request.user.has_perm(RUN_PERMISSION), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)
