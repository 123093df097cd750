"""Reads for lifetime value: the purchases the models are fitted on, and one customer's stored value.

`order_transactions` is one SELECT grouped by order in the database, straight into a DataFrame:

* only orders with a customer (lines without one stay out of customer behaviour);
* cancellations (C-invoices) are not purchases and are left out;
* an order is a purchase when it has at least one product line bought (quantity not negative); its
  value is the net amount of its product lines, so returns within it reduce it;
* non-product lines (postage, fees, adjustments) count neither as a purchase nor in the value.

Same-day orders are collapsed into one purchase later, by `segmentation.ml.clv.summary.clv_summary`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from customers.models import Customer
from customers.orders.models import Order
from customers.orders.value_models import CustomerValue, ValueFit

TRANSACTION_COLUMNS = ("external_id", "customer", "date", "amount")


def order_transactions(*, until: dt.date | None = None) -> pd.DataFrame:
    """One row per purchase order: external_id, customer (pk), date (day, datetime64), amount (net, float)."""
    product = Q(lines__is_non_product=False)
    queryset = (
        Order.objects.filter(customer__isnull=False, is_cancellation=False)
        .annotate(
            day=TruncDate("ordered_at"),
            net=Sum("lines__amount", filter=product, default=0.0),
            bought=Count("lines", filter=product & Q(lines__is_return=False)),
        )
        .filter(bought__gt=0)
        .order_by()
        .values_list("customer__external_id", "customer_id", "day", "net")
    )
    if until is not None:
        queryset = queryset.filter(day__lte=until)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=list(TRANSACTION_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"])
    frame["amount"] = frame["amount"].astype(float)
    return frame


@dataclass(frozen=True)
class CustomerPurchases:
    orders: int
    value: CustomerValue | None


def customer_purchases(*, customer: Customer) -> CustomerPurchases:
    """The customer's number of orders (cancellations excluded) and stored lifetime value, if any."""
    orders = Order.objects.filter(customer=customer, is_cancellation=False).count()
    value = CustomerValue.objects.filter(customer=customer).select_related("fit").first()
    return CustomerPurchases(orders=orders, value=value)


def value_fit_latest() -> ValueFit | None:
    return ValueFit.objects.order_by("-created_at", "-id").first()
