"""Customers for tests: one realistic customer, or planted groups the engine should find."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import factory
import numpy as np
from factory.django import DjangoModelFactory

from customers.imports.service import customer_import
from customers.models import Customer, Gender


class CustomerFactory(DjangoModelFactory):
    """A shopping-mall customer: the canonical fields within their valid ranges."""

    class Meta:
        model = Customer
        django_get_or_create = ("external_id",)

    external_id = factory.Sequence(lambda n: f"CUST-{n:06d}")
    gender = factory.Iterator([Gender.FEMALE, Gender.MALE])
    age = factory.Faker("pyint", min_value=18, max_value=70)
    annual_income = factory.Faker("pyfloat", min_value=15, max_value=140, right_digits=1)
    spending_score = factory.Faker("pyint", min_value=1, max_value=100)


# Planted groups as (age, annual income k$, spending score).
CENTERS: dict[int, tuple[float, float, float]] = {
    0: (45.0, 55.0, 50.0),  # average
    1: (32.0, 86.5, 82.0),  # high income, high spending
    2: (41.0, 88.2, 17.1),  # high income, low spending
    3: (25.0, 26.0, 79.0),  # young, low income, high spending
}
# Three clear groups of (annual income k$, spending score), dealt in turn: C00000 low/low,
# C00001 mid income/high spending, C00002 high income/low spending, C00003 low/low, ...
BLOBS: tuple[tuple[float, float], ...] = ((20.0, 20.0), (60.0, 80.0), (100.0, 30.0))


def _saved(customers: list[Customer]) -> None:
    """One bulk insert; the built objects get their primary keys (not every backend returns them)."""
    Customer.objects.bulk_create(customers)
    ids = dict(
        Customer.objects.filter(external_id__in=[c.external_id for c in customers]).values_list("external_id", "id")
    )
    for customer in customers:
        customer.pk = ids[customer.external_id]


def customer_groups_create(
    sizes: Mapping[int, int],
    *,
    centers: Mapping[int, Sequence[float]] = CENTERS,
    seed: int = 0,
    prefix: str = "C",
) -> dict[int, list[Customer]]:
    """`sizes[group]` customers around `centers[group]` (age, income, spending): group -> its customers.

    Ids are `<prefix><n:05d>` numbered from 1 across the groups in order; one seed, the same customers.
    """
    rng = np.random.default_rng(seed)
    groups: dict[int, list[Customer]] = {}
    n = 0
    for group, size in sizes.items():
        age, income, spending = centers[group]
        groups[group] = []
        for _ in range(size):
            n += 1
            groups[group].append(
                CustomerFactory.build(
                    external_id=f"{prefix}{n:05d}",
                    gender=Gender.FEMALE if n % 2 else Gender.MALE,
                    age=int(np.clip(rng.normal(age, 3), 18, 90)),
                    annual_income=float(max(1, rng.normal(income, 4))),
                    spending_score=float(np.clip(rng.normal(spending, 4), 1, 100)),
                )
            )
    _saved([c for members in groups.values() for c in members])
    return groups


def customer_blobs_create(n: int = 300, *, seed: int = 0, prefix: str = "C") -> list[Customer]:
    """`n` customers dealt in turn to the three BLOBS of income / spending (ids `<prefix><i:05d>` from 0)."""
    rng = np.random.default_rng(seed)
    customers = []
    for i in range(n):
        income, spending = BLOBS[i % len(BLOBS)]
        customers.append(
            CustomerFactory.build(
                external_id=f"{prefix}{i:05d}",
                gender=Gender.FEMALE if i % 2 else Gender.MALE,
                age=int(20 + i % 50),
                annual_income=float(max(0, income + rng.normal(0, 3))),
                spending_score=float(min(100, max(1, spending + rng.normal(0, 3)))),
            )
        )
    _saved(customers)
    return customers


def customers_import_file(path: Path) -> list[Customer]:
    """A customer file imported as-is through the product's import service (for the Mall file:
    `Genre`, zero-padded ids, CRLF); returns every customer by id."""
    customer_import(file=path, file_name=path.name, source="command")
    return list(Customer.objects.order_by("external_id"))
