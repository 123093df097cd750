"""A recommendation run is a row (status, parameters, timings, metrics, served model, error); its lists too.

Only the active run's lists are read by pages, exports and the API; a run writes its lists while it
is not active and becomes active in one transaction, so no reader sees half a run, and a failed run
leaves the active one in place.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class RecommendationRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class RecommendationRun(models.Model):
    status = models.CharField(
        max_length=16, choices=RecommendationRunStatus.choices, default=RecommendationRunStatus.QUEUED, db_index=True
    )
    stage = models.CharField(max_length=64, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done")
    params = models.JSONField(default=dict, blank=True, help_text="Configuration frozen at request time")
    trigger = models.CharField(max_length=16, default="manual", help_text="manual, admin, command, schedule")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    segment_run = models.ForeignKey(
        "segmentation.SegmentRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The segments the metrics and segment popularity were computed with",
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per stage")
    metrics = models.JSONField(default=dict, blank=True, help_text="Per model: holdout metrics, per segment")
    evaluation = models.JSONField(
        default=dict, blank=True, help_text="Chosen parameters, validation window and tries, holdout window"
    )
    segment_products = models.JSONField(default=dict, blank=True, help_text="Per segment id: defining products")
    served_model = models.CharField(max_length=32, blank=True)
    served_reason = models.TextField(blank=True)
    customers = models.PositiveIntegerField(default=0)
    products = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    is_active = models.BooleanField(default=False, help_text="Its lists are the ones shown and exported")

    class Meta:
        ordering = ["-queued_at", "-id"]
        permissions = [("run_recommendations", "Can start a recommendation run")]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_recommendation_run"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="recommendation_run_progress_0_100"),
        ]

    def __str__(self) -> str:
        return f"Recommendation run #{self.pk} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status in (RecommendationRunStatus.SUCCEEDED, RecommendationRunStatus.FAILED)


class Recommendation(models.Model):
    """One line of a customer's list: rank 1 is the best; `reason` is the one line shown beside it."""

    # No index of their own: (run, product) serves run lookups and (customer, run, rank) customer lookups,
    # so a run's COPY maintains three indexes, not five.
    run = models.ForeignKey(RecommendationRun, on_delete=models.CASCADE, related_name="recommendations", db_index=False)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="recommendations", db_index=False
    )
    rank = models.PositiveSmallIntegerField()
    product = models.ForeignKey("customers.Product", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reason_kind = models.CharField(max_length=24, help_text="bought_with, segment_popular or popular")
    reason = models.CharField(max_length=255)
    cold_start = models.BooleanField(default=False, help_text="Too little history: popularity was used")

    class Meta:
        ordering = ["run", "customer", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "run", "rank"], name="recommendation_customer_run_rank"),
            models.CheckConstraint(condition=Q(rank__gte=1), name="recommendation_rank_gte_1"),
        ]
        indexes = [models.Index(fields=["run", "product"], name="recommendation_run_product")]

    def __str__(self) -> str:
        return f"{self.customer_id} #{self.rank}: {self.product_id}"
