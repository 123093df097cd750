"""Export columns of recommendations: each customer's top-N product codes or names in one cell.

One correlated subquery per cell, ordered by rank, on the active run's stored lists (no scoring):
``STRING_AGG(... ORDER BY rank)`` on PostgreSQL, ``GROUP_CONCAT`` over a rank-ordered subquery elsewhere.
Codes are separated by spaces, names by " | ".
"""

from __future__ import annotations

from django.db.models import F, Func, TextField

from campaigns.recommendations.models import Recommendation, RecommendationRun
from customers.orders.models import Product

EXPORT_N = 10
SEPARATORS = {"code": " ", "description": " | "}


class RecommendedProducts(Func):
    """The customer's (``customer_ref``) top ``n`` products' ``field`` joined in rank order."""

    output_field = TextField()

    def __init__(self, customer_ref, *, field: str = "code", n: int = EXPORT_N):
        if field not in SEPARATORS:
            raise ValueError(f"field: expected code or description, got {field!r}")
        super().__init__(customer_ref, output_field=TextField())
        self.product_field = field
        self.n = n

    def as_sql(self, compiler, connection, **extra):
        ref_sql, ref_params = compiler.compile(self.source_expressions[0])
        # Identifiers are the models' own table and column names, quoted; every value is a bound parameter.
        q = connection.ops.quote_name
        inner = (
            f"SELECT p.{q(self.product_field)} AS v, r.{q('rank')} AS rk FROM {q(Recommendation._meta.db_table)} r "  # noqa: S608
            f"JOIN {q(RecommendationRun._meta.db_table)} u ON u.id = r.run_id "
            f"JOIN {q(Product._meta.db_table)} p ON p.id = r.product_id "
            f"WHERE r.customer_id = {ref_sql} AND u.is_active AND r.{q('rank')} <= %s"
        )
        params = [SEPARATORS[self.product_field], *ref_params, self.n]
        if connection.vendor == "postgresql":
            return f"(SELECT STRING_AGG(t.v, %s ORDER BY t.rk) FROM ({inner}) t)", params  # noqa: S608
        return f"(SELECT GROUP_CONCAT(t.v, %s) FROM ({inner} ORDER BY rk) t)", params  # noqa: S608


def recommended_codes(prefix: str) -> RecommendedProducts:
    return RecommendedProducts(F(f"{prefix}id"), field="code")


def recommended_names(prefix: str) -> RecommendedProducts:
    return RecommendedProducts(F(f"{prefix}id"), field="description")
