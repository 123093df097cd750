"""Purchase history: products, orders and their lines, and the record of each order import.

An order belongs to at most one customer (lines without a customer are kept, with no customer, and
left out of customer behaviour). Cancellations (C-invoices) and returns (negative quantities) are kept
and marked, as are non-product lines (postage, fees, manual adjustments: `SEGMENTA_NON_PRODUCT_CODES`).
Amounts are floats in the shop's currency, as the file gives them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Product(models.Model):
    """A product by its code (StockCode, SKU); description and price as last imported."""

    code = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=255, blank=True)
    last_price = models.FloatField(null=True, blank=True, help_text="Unit price of its latest line")

    class Meta:
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=~Q(code=""), name="product_code_not_empty")]

    def __str__(self) -> str:
        return self.code


class Order(models.Model):
    """One order (invoice). A file's lines without an order id make one order per customer and day."""

    order_id = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="orders"
    )
    ordered_at = models.DateTimeField()
    is_cancellation = models.BooleanField(default=False, help_text="A C-invoice: it cancels earlier lines")
    country = models.CharField(max_length=64, blank=True)
    amount = models.FloatField(default=0, help_text="Net sum of its lines' amounts (returns negative)")
    line_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-ordered_at", "order_id"]
        indexes = [
            models.Index(fields=["customer", "ordered_at"], name="order_customer_date"),
            models.Index(fields=["ordered_at"], name="order_date"),
        ]
        constraints = [models.CheckConstraint(condition=~Q(order_id=""), name="order_id_not_empty")]

    def __str__(self) -> str:
        return self.order_id


class OrderLine(models.Model):
    """A line of an order, as imported: quantity negative for a return, flags for what it is."""

    # no index of their own: (order, line_number) is unique and `order_line_product` indexes the product,
    # so each lookup has one index and a bulk load maintains two fewer
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_number = models.PositiveIntegerField()
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    description = models.CharField(max_length=255, blank=True)
    quantity = models.FloatField()
    unit_price = models.FloatField(null=True, blank=True)
    amount = models.FloatField()
    is_return = models.BooleanField(default=False, help_text="Cancelled or returned: negative quantity or C-invoice")
    is_non_product = models.BooleanField(default=False, help_text="Postage, fees, adjustments: not a product sold")

    class Meta:
        ordering = ["order", "line_number"]
        indexes = [models.Index(fields=["product"], name="order_line_product")]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="order_line_unique_number"),
            models.CheckConstraint(condition=Q(line_number__gte=1), name="order_line_number_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_number}"


class OrderImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    DRY_RUN = "dry_run", "Dry run"


class OrderImport(models.Model):
    """One order-file import as a row: queued by the page, run by a task (or the command), its counts."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=16, default="upload", help_text="upload, command or admin")
    file_name = models.CharField(max_length=255)
    stored_path = models.CharField(max_length=500, blank=True, help_text="The uploaded file until it is imported")
    file_size = models.BigIntegerField(default=0)
    options = models.JSONField(default=dict, blank=True, help_text="mapping, columns, day_first, skip_invalid")
    status = models.CharField(max_length=16, choices=OrderImportStatus.choices, default=OrderImportStatus.QUEUED)
    stage = models.CharField(max_length=32, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done")
    rows_read = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="lines, imported, with_customer, ...")
    mapping = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    rejected_csv = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="order_import_progress_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status not in (OrderImportStatus.QUEUED, OrderImportStatus.RUNNING)
