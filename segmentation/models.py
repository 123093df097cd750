from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from segmentation.loading import features_available
from segmentation.ml.config import K_MAX, K_MIN, config_errors
from segmentation.ml.rfm import rfm_cuts_errors
from segmentation.validators import color_validator, cron_schedule_validator


class Scaler(models.TextChoices):
    MINMAX = "minmax", "Min-max (0 to 1)"
    STANDARD = "standard", "Standard (z-score)"
    ROBUST = "robust", "Robust (median / IQR)"
    SHARED = "shared", "Shared (one min-max range per unit)"
    NONE = "none", "None (values as they are)"


class Transform(models.TextChoices):
    AUTO = "auto", "Auto (log1p for heavily skewed non-negative features)"
    NONE = "none", "None"
    LOG = "log", "log1p on every feature"


class OutlierPolicy(models.TextChoices):
    SET_APART = "set_apart", "Set apart (beyond Q1 − 3·IQR / Q3 + 3·IQR)"
    KEEP = "keep", "Keep in the segments"


class MissingPolicy(models.TextChoices):
    DROP = "drop", "Drop the row"
    MEDIAN = "median", "Impute the median"
    MOST_FREQUENT = "most_frequent", "Impute the most frequent value"


class Method(models.TextChoices):
    KMEANS = "kmeans", "KMeans clustering"
    RFM = "rfm", "RFM groups (recency, frequency, monetary scores)"


def default_features() -> list[str]:
    return ["annual_income", "spending_score"]


def default_age_bins() -> list[int]:
    return [18, 25, 35, 45, 55, 65]


class Segmentation(models.Model):
    """A named segmentation configuration; its runs produce segments, one of them active."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    method = models.CharField(
        max_length=8,
        choices=Method.choices,
        default=Method.KMEANS,
        help_text="KMeans on the chosen columns, or RFM groups from the recency, frequency and monetary columns",
    )
    rfm_cuts = models.JSONField(
        default=dict,
        blank=True,
        help_text='RFM only: four ascending cut points per column, e.g. {"frequency": [1, 2, 4, 8]}; '
        "a column without them is cut at its quintiles",
    )
    features = models.JSONField(default=default_features)
    scaler = models.CharField(max_length=16, choices=Scaler.choices, default=Scaler.MINMAX)
    k = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Fixed number of segments; empty = auto")
    k_min = models.PositiveSmallIntegerField(default=2)
    k_max = models.PositiveSmallIntegerField(default=10)
    age_groups = models.BooleanField(default=False)
    age_bins = models.JSONField(default=default_age_bins, blank=True)
    missing_policy = models.CharField(max_length=16, choices=MissingPolicy.choices, default=MissingPolicy.DROP)
    random_state = models.IntegerField(default=42)
    transform = models.CharField(
        max_length=8,
        choices=Transform.choices,
        default=Transform.AUTO,
        help_text="Before scaling; auto applies log1p where a feature is heavily skewed (skewness ≥ 2, non-negative)",
    )
    transforms = models.JSONField(
        default=dict, blank=True, help_text='Per feature, overriding the transform: {"income": "log", "age": "none"}'
    )
    scalers = models.JSONField(
        default=dict, blank=True, help_text='Per feature, overriding the scaler: {"income": "robust", "age": "none"}'
    )
    min_share = models.FloatField(
        default=0.02, help_text="Auto k: a k with a segment below this share of members is no candidate (0.02 = 2 %)"
    )
    outliers = models.CharField(max_length=16, choices=OutlierPolicy.choices, default=OutlierPolicy.SET_APART)
    schedule = models.CharField(
        max_length=64,
        blank=True,
        validators=[cron_schedule_validator],
        help_text="Cron expression (m h dom mon dow) for scheduled runs; empty = none",
    )
    active_run = models.ForeignKey("SegmentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(default=0, help_text="Bumped by every run request")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("run_segmentation", "Can start a re-segmentation")]
        constraints = [
            models.CheckConstraint(
                condition=Q(k_min__gte=K_MIN) & Q(k_max__gte=models.F("k_min")) & Q(k_max__lte=K_MAX),
                name="seg_k_range",
            ),
            models.CheckConstraint(
                condition=Q(k__isnull=True) | (Q(k__gte=K_MIN) & Q(k__lte=K_MAX)), name="seg_k_allowed"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def config_values(self) -> dict[str, str | int | float | bool | list[str] | list[int] | dict[str, str] | None]:
        """The engine configuration fields (`segmentation.ml` names) of this segmentation, as stored."""
        return {
            "features": list(self.features or []),
            "scaler": self.scaler,
            "k": self.k,
            "k_min": self.k_min,
            "k_max": self.k_max,
            "age_groups": self.age_groups,
            "age_bins": list(self.age_bins or []) or None,
            "missing": self.missing_policy,
            "random_state": self.random_state,
            "transform": self.transform,
            "transforms": dict(self.transforms or {}),
            "scalers": dict(self.scalers or {}),
            "min_share": self.min_share,
            "outliers": self.outliers,
        }

    def clean(self) -> None:
        """The configuration must give a valid run (the engine's validator, errors keyed by field)."""
        errors = config_errors(self.config_values(), available=features_available())
        errors.update(rfm_cuts_errors(self.rfm_cuts))
        if errors:
            raise ValidationError({CONFIG_FIELD_NAMES.get(field, field): text for field, text in errors.items()})


# The model field of each engine configuration field whose name differs.
CONFIG_FIELD_NAMES = {"missing": "missing_policy"}


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"


class SegmentRun(models.Model):
    """One execution of a segmentation: parameters frozen at request, evidence, outcome, timings."""

    segmentation = models.ForeignKey(Segmentation, on_delete=models.CASCADE, related_name="runs")
    version = models.PositiveIntegerField(help_text="The segmentation's version when this run was requested")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    stage = models.CharField(max_length=64, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done")
    params = models.JSONField(default=dict, help_text="The configuration frozen at request time")
    evidence = models.JSONField(default=dict, blank=True, help_text="Every criterion per k and each one's choice")
    chosen_k = models.PositiveSmallIntegerField(null=True, blank=True)
    k_reason = models.TextField(blank=True)
    quality = models.JSONField(default=dict, blank=True)
    model = models.JSONField(default=dict, blank=True, help_text="Fitted preprocessing and centroids")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(max_length=16, default="manual", help_text="manual, admin, command, schedule")
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    rows_used = models.PositiveIntegerField(null=True, blank=True)
    rows_dropped = models.PositiveIntegerField(null=True, blank=True)
    excluded = models.JSONField(
        default=dict,
        blank=True,
        help_text="customers not in this segmentation, by reason: {'missing income': 24, ...} (rows_dropped in all)",
    )

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["segmentation"], condition=Q(status="running"), name="one_running_run_per_segmentation"
            ),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} of “{self.segmentation.name}” ({self.get_status_display().lower()})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SUPERSEDED)


class RunPin(models.Model):
    """A hold on a run by something that needs its segments and memberships, e.g. "campaign:12".

    Written by the apps that use runs (a campaign pins the runs of its audience); history pruning
    never deletes a pinned run.
    """

    run = models.ForeignKey(SegmentRun, on_delete=models.CASCADE, related_name="pins")
    holder = models.CharField(max_length=100, help_text='Who holds the run, as "kind:id", e.g. "campaign:12"')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "holder"]
        constraints = [models.UniqueConstraint(fields=["run", "holder"], name="run_pin_unique_holder")]
        indexes = [models.Index(fields=["holder"], name="run_pin_holder")]

    def __str__(self) -> str:
        return f"run {self.run_id} held by {self.holder}"


class NameSource(models.TextChoices):
    ENGINE = "engine", "Made by the engine from the profile"
    PERSON = "person", "Typed by a person"


class Segment(models.Model):
    """One segment of a run: its profile in real units, name, flags and strategy."""

    run = models.ForeignKey(SegmentRun, on_delete=models.CASCADE, related_name="segments")
    label = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    name_source = models.CharField(
        max_length=8,
        choices=NameSource.choices,
        default=NameSource.ENGINE,
        help_text="engine: made from this run's profile (never carried); person: typed, carried by lineage",
    )
    size = models.PositiveIntegerField()
    share = models.FloatField()
    centroid = models.JSONField(default=dict, help_text="Centroid by feature, in real units")
    profile = models.JSONField(default=dict, help_text="Per feature: mean, median, min, max, z")
    flags = models.JSONField(default=list)
    color = models.CharField(max_length=7, blank=True, validators=[color_validator], help_text="#rrggbb")
    lineage = models.CharField(
        max_length=36, blank=True, db_index=True, help_text="Stable id of the same group across runs"
    )
    strategy = models.TextField(blank=True)
    strategy_source = models.CharField(
        max_length=16, default="playbook", help_text="playbook, override (edited) or carried (from a previous run)"
    )
    strategy_needs_review = models.BooleanField(default=False)
    strategy_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    strategy_edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "label"]
        permissions = [("edit_strategy", "Can edit a segment's strategy")]
        constraints = [models.UniqueConstraint(fields=["run", "label"], name="segment_label_unique_in_run")]

    def __str__(self) -> str:
        return f"{self.name} (run {self.run_id})"


class Membership(models.Model):
    """A customer's segment in a run. `fitted` is False for customers assigned after the fit.

    The primary key is (customer, run): no surrogate id, so a write maintains one index less. The
    foreign keys have no database constraint (`db_constraint=False`): memberships are written only by
    the run services, set-based (COPY), from ids read in the same run, and PostgreSQL's per-row
    constraint triggers made that write ~20x slower. Deletes still cascade: Django's ORM performs
    them (`on_delete=CASCADE`), not the database.

    On PostgreSQL the table is partitioned by run (LIST on run_id, migration 0003): a run's
    memberships are copied into a table of their own without indexes, the indexes are built once,
    and the table is attached as the run's partition in the same transaction; removing a run's
    memberships drops its partition. Rows of a run without a partition go to the default partition.
    Within a partition the run is constant, so the primary key (customer, run) serves lookups by
    customer, and (segment, customer) serves lookups by segment.
    """

    pk = models.CompositePrimaryKey("customer", "run")
    # No index of their own: the partition is the run index on PostgreSQL, the primary key starts with
    # the customer and the (segment, customer) index below starts with the segment.
    run = models.ForeignKey(
        SegmentRun, on_delete=models.CASCADE, related_name="memberships", db_constraint=False, db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="memberships",
        db_constraint=False,
        db_index=False,
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="memberships", db_constraint=False, db_index=False
    )
    distance = models.FloatField()
    fitted = models.BooleanField(default=True)

    class Meta:
        indexes = [models.Index(fields=["segment", "customer"], name="membership_segment_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"


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
