from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length

from segmentation.ml.fields import CANONICAL_FEATURES


class Gender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Customer(models.Model):
    """A customer with canonical fields plus any other imported column as a typed attribute."""

    external_id = models.CharField(max_length=64, unique=True)
    gender = models.CharField(max_length=8, choices=Gender.choices, default=Gender.UNKNOWN)
    age = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    annual_income = models.FloatField(null=True, blank=True, db_index=True, help_text="Annual income in k$")
    spending_score = models.FloatField(null=True, blank=True, db_index=True, help_text="Spending score, 1-100")
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)  # "arrived since the run" counts
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["external_id"]
        permissions = [
            ("import_customers", "Can import customers from a file"),
            ("export_customers", "Can export customers to a CSV file"),
        ]
        # Natural id order on the customers list (0, 1, 1000, 10001): see customers.selectors.customers.
        indexes = [models.Index(Length("external_id"), "external_id", name="customer_id_natural_order")]
        constraints = [
            models.CheckConstraint(condition=Q(age__isnull=True) | Q(age__lte=120), name="customer_age_0_120"),
            models.CheckConstraint(
                condition=Q(annual_income__isnull=True) | Q(annual_income__gte=0), name="customer_income_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(spending_score__isnull=True) | (Q(spending_score__gte=1) & Q(spending_score__lte=100)),
                name="customer_spending_score_1_100",
            ),
            models.CheckConstraint(condition=~Q(external_id=""), name="customer_external_id_not_empty"),
        ]

    def __str__(self) -> str:
        return self.external_id


class AttributeKind(models.TextChoices):
    NUMBER = "number", "Number"
    TEXT = "text", "Text"
    DATE = "date", "Date"


class FeatureRole(models.TextChoices):
    """What a column says about a customer; the engine's flags and strategies read it (segmentation.ml.fields)."""

    MONETARY = "monetary", "Monetary (money spent)"
    FREQUENCY = "frequency", "Frequency / engagement"
    RECENCY = "recency", "Recency (time since last purchase)"
    CAPACITY = "capacity", "Capacity (means to spend, e.g. income)"
    DEMOGRAPHIC = "demographic", "Demographic"
    OTHER = "other", "Other"


class CustomerAttribute(models.Model):
    """The schema of extra columns: key (snake_case), the header it came from, its type, unit and role.

    Values live in Customer.attributes[key]: numbers as JSON numbers, dates as ISO strings. `unit` and
    `role` are guessed on the import that creates the row (`customers.imports.roles`) and then belong to
    Admins: later imports never overwrite them.
    """

    key = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=AttributeKind.choices)
    unit = models.CharField(max_length=16, blank=True, help_text="e.g. $, k$, €, £, days; empty for none")
    role = models.CharField(max_length=16, choices=FeatureRole.choices, default=FeatureRole.OTHER)
    created_at = models.DateTimeField(auto_now_add=True)
    derived = models.BooleanField(
        default=False, help_text="Computed from the orders (customers.orders.behaviour), never imported"
    )
    computed_at = models.DateTimeField(null=True, blank=True, help_text="When a derived column was last computed")
    computed_as_of = models.DateField(null=True, blank=True, help_text="The day a derived column was computed as of")

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} ({self.kind})"


class CanonicalFieldRole(models.Model):
    """An Admin's choice of role for a canonical field (age, gender, annual_income, spending_score).

    Without a row the field keeps its default role from `segmentation.ml.fields`; see
    `customers.selectors.columns.column_roles`.
    """

    field = models.CharField(max_length=32, unique=True, choices=[(f, f) for f in CANONICAL_FEATURES])
    role = models.CharField(max_length=16, choices=FeatureRole.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["field"]
        verbose_name = "canonical field role"

    def __str__(self) -> str:
        return f"{self.field}: {self.role}"


class ImportStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    DRY_RUN = "dry_run", "Dry run"
    QUEUED = "queued", "Queued"  # a large upload waiting for the worker
    RUNNING = "running", "Running"


class ImportJob(models.Model):
    """The record of one import: who, when, which file, what happened."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=16, default="upload", help_text="upload, command or admin")
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=ImportStatus.choices)
    skip_invalid = models.BooleanField(default=False)
    mapping = models.JSONField(default=dict, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_added = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    rejected_csv = models.TextField(blank=True, help_text="Rejected rows with the reason for each, as CSV")
    rejected_path = models.CharField(
        max_length=500, blank=True, help_text="The file of rejected rows (skip invalid rows), on the server"
    )
    stored_path = models.CharField(max_length=500, blank=True, help_text="A queued upload's file until it is imported")
    options = models.JSONField(default=dict, blank=True, help_text="A queued import's options (dry run)")
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker took a queued import (the reaper's clock for running ones)"
    )
    numbered_rows = models.BooleanField(default=False, help_text="Ids made from the file name and row numbers")
    notes = models.JSONField(default=list, blank=True, help_text="What the import decided, in plain sentences")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def is_done(self) -> bool:
        return self.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING)


from customers.orders.models import Order, OrderImport, OrderImportStatus, OrderLine, Product  # noqa: E402, F401
from customers.orders.value_models import CustomerValue, ValueFit  # noqa: E402, F401
