"""The behaviour columns derived from the orders: their keys, labels, kinds, units and roles (data only).

They are customer attributes (`CustomerAttribute` rows with `derived=True`), so any segmentation can pick
them and the engine reads them like any other column. `customers.orders.behaviour` computes them.

| key | what it is (as of a day) | role |
|---|---|---|
| recency | days from the last purchase day to the as-of day | recency |
| frequency | distinct purchase orders | frequency |
| purchase_days | distinct purchase days (same-day orders once) | frequency |
| monetary | net revenue: product lines of every order, returns and cancellations subtracted; never below 0 | monetary |
| average_order_value | monetary / frequency | monetary |
| tenure | days from the first purchase day to the as-of day | other |
| days_between_orders | (last - first purchase day) / (purchase days - 1); none with one purchase day | other |
| return_rate | value returned or cancelled / value bought, product lines | other |
| distinct_products | distinct products bought | other |
| first_order, last_order | first and last purchase day (dates) | other |

A purchase order is an order with a customer, not a cancellation (C-invoice), with at least one product
line bought (quantity not negative), as for lifetime value (`value_selectors.order_transactions`).
Monetary is floored at 0: returns of purchases made before the first imported day can make the net negative.
Lines without a customer and non-product lines (postage, fees, adjustments) are left out of everything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BehaviourField:
    key: str
    label: str
    kind: str  # AttributeKind value: number or date
    unit: str
    role: str  # FeatureRole value


BEHAVIOUR_FIELDS: tuple[BehaviourField, ...] = (
    BehaviourField("recency", "Recency (days since last purchase)", "number", "days", "recency"),
    BehaviourField("frequency", "Frequency (purchase orders)", "number", "", "frequency"),
    BehaviourField("purchase_days", "Purchase days", "number", "", "frequency"),
    BehaviourField("monetary", "Monetary (net revenue)", "number", "", "monetary"),
    BehaviourField("average_order_value", "Average order value", "number", "", "monetary"),
    BehaviourField("tenure", "Tenure (days since first purchase)", "number", "days", "other"),
    BehaviourField("days_between_orders", "Mean days between purchase days", "number", "days", "other"),
    BehaviourField("return_rate", "Return rate (share of value returned)", "number", "", "other"),
    BehaviourField("distinct_products", "Distinct products bought", "number", "", "other"),
    BehaviourField("first_order", "First purchase", "date", "", "other"),
    BehaviourField("last_order", "Last purchase", "date", "", "other"),
)
BEHAVIOUR_KEYS: tuple[str, ...] = tuple(f.key for f in BEHAVIOUR_FIELDS)
