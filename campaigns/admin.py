"""Admin: campaigns (no delete: archive instead), every change audited."""

from __future__ import annotations

from django.contrib import admin, messages

from campaigns import services
from campaigns.models import Audience, Campaign
from core.exceptions import SegmentaError


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "channel", "owner", "pinned_run", "starts_on", "ends_on", "updated_at")
    list_select_related = ("owner", "pinned_run__segmentation")  # a run reads "Run #4 of “Behaviour”"
    list_filter = ("status", "channel")
    search_fields = ("name",)
    readonly_fields = ("status", "owner", "pinned_run", "pinned_at", "segments", "created_at", "updated_at")
    fields = (
        "name", "goal", "channel", "offer", "starts_on", "ends_on", "strategy", "playbook_rule",
        "status", "owner", "segments", "pinned_run", "pinned_at", "created_at", "updated_at",
    )  # fmt: skip
    actions = ["archive_selected"]

    def has_add_permission(self, request) -> bool:
        return False  # campaigns are created on the campaign pages or the API (they need segments)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # campaigns are archived, never deleted

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data[f] for f in form.changed_data if f in services.EDITABLE_FIELDS}
        try:
            services.campaign_update(actor=request.user, campaign=obj, **fields)
        except SegmentaError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description="Archive the selected campaigns", permissions=["change"])
    def archive_selected(self, request, queryset):
        n = 0
        for campaign in queryset:
            services.campaign_archive(actor=request.user, campaign=campaign)
            n += 1
        self.message_user(request, f"{n} campaign(s) archived.", messages.SUCCESS)


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    """Static audiences, read only: they are saved from the customer list (campaigns:audience-create)."""

    list_display = ("name", "status", "size", "created_by", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    readonly_fields = ("name", "status", "size", "filters", "description", "error", "created_by", "created_at")
    exclude = ("customers",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


from campaigns.recommendations import admin as recommendations_admin  # noqa: E402, F401
