"""Reads for behaviour: the derived columns with when and as of which day they were computed, the default day."""

from __future__ import annotations

import datetime as dt

from django.db.models import Max, QuerySet
from django.utils import timezone

from customers.models import CustomerAttribute
from customers.orders.models import Order


def behaviour_columns() -> QuerySet[CustomerAttribute]:
    """The derived (behaviour) columns, by key."""
    return CustomerAttribute.objects.filter(derived=True).order_by("key")


def behaviour_last_purchase_day() -> dt.date | None:
    """The default as-of day: the last day with an order of a customer (in the site's time zone)."""
    last = Order.objects.filter(customer__isnull=False, is_cancellation=False).aggregate(m=Max("ordered_at"))["m"]
    return timezone.localtime(last).date() if last is not None else None
