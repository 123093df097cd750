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
from django.conf import settings
from django.db import connection
from django.db.models import Avg, Count, F, FloatField, Max, Min, Q, Sum, Value
from django.db.models.functions import Cast, Floor, Greatest, Least, Log, TruncDate
from django.utils import timezone

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
    """The latest finished fit (ok, boundary or failed); a queued or running one is `value_fit_pending`."""
    return (
        ValueFit.objects.exclude(status__in=ValueFit.PENDING)
        .select_related("created_by")
        .order_by("-created_at", "-id")
        .first()
    )


def value_fit_stale_before() -> dt.datetime:
    """A fit still queued or running after `SEGMENTA_RUN_STUCK_AFTER` seconds lost its worker."""
    return timezone.now() - dt.timedelta(seconds=settings.SEGMENTA_RUN_STUCK_AFTER)


def value_fit_pending() -> ValueFit | None:
    """The fit queued or running now (one lost by its worker long ago does not count)."""
    return (
        ValueFit.objects.filter(status__in=ValueFit.PENDING, created_at__gte=value_fit_stale_before())
        .order_by("-created_at", "-id")
        .first()
    )


def value_fit_history(*, limit: int = 20) -> list[ValueFit]:
    return list(ValueFit.objects.select_related("created_by").order_by("-created_at", "-id")[:limit])


def purchase_days() -> tuple[dt.date | None, dt.date | None]:
    """First and last day with an order of a customer (cancellations left out): the windows a fit can use."""
    span = Order.objects.filter(customer__isnull=False, is_cancellation=False).aggregate(
        first=Min("ordered_at"), last=Max("ordered_at")
    )
    return (
        span["first"].date() if span["first"] else None,
        span["last"].date() if span["last"] else None,
    )


P_ALIVE_BINS = 20
VALUE_BINS_PER_DECADE = 4


@dataclass(frozen=True)
class ValueDistribution:
    """The stored values at a glance, aggregated in SQL: totals and two histograms (pre-computed bins)."""

    customers: int
    total_value: float
    mean_value: float
    mean_p_alive: float
    at_risk: int  # customers with P(active) < 0.5
    p_alive_edges: list[float]
    p_alive_counts: list[int]
    value_edges: list[float]  # log-spaced: 0, then 10^(k/4) - 1
    value_counts: list[int]

    @property
    def at_risk_share(self) -> float:
        return self.at_risk / self.customers if self.customers else 0.0


def value_distribution() -> ValueDistribution:
    """Totals, and histograms of P(active) (20 equal bins) and expected value (log bins), grouped in SQL."""
    values = CustomerValue.objects.all()
    totals = values.aggregate(
        n=Count("id"),
        total=Sum("expected_value"),
        mean=Avg("expected_value"),
        p=Avg("p_alive"),
        risk=Count("id", filter=Q(p_alive__lt=0.5)),
    )
    p_bin = Least(Cast(Floor(F("p_alive") * P_ALIVE_BINS), FloatField()), Value(float(P_ALIVE_BINS - 1)))
    p_rows = dict(values.order_by().annotate(b=p_bin).values("b").annotate(n=Count("id")).values_list("b", "n"))
    p_counts = [int(p_rows.get(float(i), 0)) for i in range(P_ALIVE_BINS)]
    # log10(1 + value) * 4, values below 0 counted with 0
    v_bin = Cast(
        Floor(Log(Value(10.0), Greatest(F("expected_value"), Value(0.0)) + Value(1.0)) * VALUE_BINS_PER_DECADE),
        FloatField(),
    )
    v_rows = dict(
        values.filter(expected_value__isnull=False)
        .order_by()
        .annotate(b=v_bin)
        .values("b")
        .annotate(n=Count("id"))
        .values_list("b", "n")
    )
    low, top = (int(min(v_rows)), int(max(v_rows))) if v_rows else (0, 0)  # from the first bin with customers
    v_counts = [int(v_rows.get(float(i), 0)) for i in range(low, top + 1)]
    v_edges = [round(10 ** (i / VALUE_BINS_PER_DECADE) - 1, 2) for i in range(low, top + 2)]
    return ValueDistribution(
        customers=int(totals["n"] or 0),
        total_value=float(totals["total"] or 0.0),
        mean_value=float(totals["mean"] or 0.0),
        mean_p_alive=float(totals["p"] or 0.0),
        at_risk=int(totals["risk"] or 0),
        p_alive_edges=[i / P_ALIVE_BINS for i in range(P_ALIVE_BINS + 1)],
        p_alive_counts=p_counts if totals["n"] else [],
        value_edges=v_edges if v_rows else [],
        value_counts=v_counts if v_rows else [],
    )
