"""Campaigns target segments of a pinned run, or a static audience (a saved customer list); a campaign may
follow a rule of the playbook (segmentation)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    ADS = "ads", "Ads"
    DIRECT_MAIL = "direct_mail", "Direct mail"
    IN_STORE = "in_store", "In store"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    ACTIVE = "active", "Active"
    FINISHED = "finished", "Finished"
    ARCHIVED = "archived", "Archived"


class Campaign(models.Model):
    """A marketing action on one or more segments. Its audience is pinned to a run when scheduled."""

    name = models.CharField(max_length=200)
    goal = models.TextField(blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    offer = models.TextField(blank=True)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT, db_index=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    segments = models.ManyToManyField("segmentation.Segment", related_name="campaigns", blank=True)
    audience = models.ForeignKey(
        "campaigns.Audience",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
        help_text="A saved customer list targeted instead of segments",
    )
    export_columns = models.JSONField(
        default=list,
        blank=True,
        help_text="Column names of the audience export, in order; empty = the default (campaigns.columns)",
    )
    strategy = models.TextField(blank=True, help_text="What to do with the audience; empty = each segment's strategy")
    playbook_rule = models.ForeignKey(
        "segmentation.PlaybookRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    pinned_run = models.ForeignKey(
        "segmentation.SegmentRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
        help_text="The run whose memberships are the audience (set when scheduled)",
    )
    pinned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("export_audience", "Can export a campaign's audience")]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True) | Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AudienceStatus(models.TextChoices):
    QUEUED = "queued", "Being saved"
    RUNNING = "running", "Being saved"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Audience(models.Model):
    """A static audience: the customers a filtered customer list showed when it was saved.

    `filters` are the customer list's query parameters, `description` says them in words; the members
    are written once, set-based (`campaigns.services.audience_fill`: one INSERT ... SELECT), inline for a
    small list or by a Celery task for a large one (status queued -> running -> ready or failed), and
    never change.
    """

    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    filters = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=AudienceStatus.choices, default=AudienceStatus.QUEUED)
    error = models.TextField(blank=True)
    customers = models.ManyToManyField("customers.Customer", through="AudienceMember", related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class AudienceMember(models.Model):
    # no index of its own: the unique constraint's (audience, customer) index serves audience lookups
    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="members", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["audience", "customer"], name="audience_member_once")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.audience_id}"


from campaigns.recommendations.models import Recommendation, RecommendationRun  # noqa: E402, F401
