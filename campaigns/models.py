"""Campaigns target segments of a pinned run; the playbook maps segment profiles to actions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class PlaybookRule(models.Model):
    """A rule of the strategy playbook: when a segment matches, recommend `actions` because of `rationale`.

    A segment matches when it carries every flag in `flags` and every entry of `conditions` holds.
    A condition is {"feature": "annual_income", "stat": "z", "op": "gte", "value": 0.5}: `stat` is one
    of the profile's statistics (mean, median, min, max, z) and `op` one of gt, gte, lt, lte.
    Rules are tried by ascending priority; the first active match wins.
    """

    name = models.CharField(max_length=100, unique=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower numbers are tried first")
    active = models.BooleanField(default=True)
    flags = models.JSONField(default=list, blank=True, help_text='Flags the segment must all carry, e.g. ["upsell"]')
    conditions = models.JSONField(
        default=list,
        blank=True,
        help_text='Profile conditions, all must hold: [{"feature": "age", "stat": "z", "op": "lte", "value": -0.5}]',
    )
    actions = models.TextField(help_text="The recommended marketing actions (becomes the segment's strategy)")
    rationale = models.TextField(blank=True, help_text="Why these actions fit this kind of segment")
    builtin = models.BooleanField(default=False, help_text="Shipped with the product")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name


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
    segments = models.ManyToManyField("segmentation.Segment", related_name="campaigns")
    strategy = models.TextField(blank=True, help_text="What to do with the audience; empty = each segment's strategy")
    playbook_rule = models.ForeignKey(
        PlaybookRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
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
