"""Lifetime value: each fit of the CLV models as a row, and each customer's stored prediction.

A `ValueFit` keeps what the models said (parameters, status ok / boundary / failed and why, the holdout
check); the `CustomerValue` rows of the latest fit are replaced in one transaction, so a reader never sees
half of them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ValueFitStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    OK = "ok", "OK"
    BOUNDARY = "boundary", "On a boundary (no-dropout fallback)"
    FAILED = "failed", "Failed"


class ValueFit(models.Model):
    """One fit of BG/NBD + Gamma-Gamma on the orders in the database (`manage.py clv` or the task)."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(max_length=16, choices=ValueFitStatus.choices)
    reason = models.TextField(blank=True, help_text="Why the fit is on a boundary or failed")
    params = models.JSONField(default=dict, blank=True, help_text="bgnbd, gamma_gamma, pareto_nbd (report.as_dict)")
    holdout = models.JSONField(null=True, blank=True, help_text="predicted, actual, naive, mae, ...")
    calibration_end = models.DateField(null=True, blank=True)
    holdout_end = models.DateField(null=True, blank=True)
    horizon_weeks = models.PositiveSmallIntegerField(default=52)
    customers = models.PositiveIntegerField(default=0, help_text="Customers with a stored value")
    timings = models.JSONField(default=dict, blank=True, help_text="Milliseconds per stage")
    stage = models.CharField(max_length=32, blank=True, help_text="What a queued or running fit is doing")
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done of a running fit")

    #: a fit still to finish (the page polls it); the others are finished and carry their result
    PENDING = (ValueFitStatus.QUEUED, ValueFitStatus.RUNNING)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(holdout_end__isnull=True) | Q(holdout_end__gte=models.F("calibration_end")),
                name="value_fit_holdout_after_calibration",
            ),
        ]

    def __str__(self) -> str:
        return f"value fit #{self.pk} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status not in self.PENDING


class CustomerValue(models.Model):
    """A customer's predictions from one fit: still active, purchases to come, value over the horizon."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="value")
    fit = models.ForeignKey(ValueFit, on_delete=models.CASCADE, related_name="values")
    p_alive = models.FloatField(help_text="Probability the customer is still active")
    expected_purchases = models.FloatField(help_text="Expected purchases in the fit's horizon")
    expected_value = models.FloatField(
        null=True,
        blank=True,
        help_text="Expected value over the fit's horizon (discounted); none without a spend model",
    )
    x = models.PositiveIntegerField(help_text="Repeat purchase days")
    t_x = models.FloatField(help_text="Weeks from the first to the last purchase")
    T = models.FloatField(help_text="Weeks from the first purchase to the end of the period")  # noqa: N815
    fitted_at = models.DateTimeField()

    class Meta:
        ordering = ["customer"]
        indexes = [models.Index(fields=["expected_value"], name="customer_value_expected")]
        constraints = [
            models.CheckConstraint(condition=Q(p_alive__gte=0) & Q(p_alive__lte=1), name="customer_value_p_alive_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.expected_value:.2f}"
