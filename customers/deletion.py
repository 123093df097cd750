"""Deleting customers set-based: a few statements whatever the number of customers.

`customers_delete` removes the customers of a queryset, and every row that cascades from them, in
ONE transaction:

* for each model that points at Customer with ``on_delete=CASCADE`` (today the segment memberships,
  `segmentation.Membership.customer`, which has no database constraint), one
  ``DELETE FROM <table> WHERE customer_id IN (SELECT id FROM customers_customer WHERE <filter>)``;
* then one ``DELETE FROM customers_customer WHERE <filter>``.

Django's own `QuerySet.delete()` would load every customer first and delete them 100 ids at a time
(with the admin's confirmation page listing each one). The relations are read from the model's
metadata, so this app never imports the apps above it. When a relation needs more than a cascade
(PROTECT, SET_NULL...) or someone listens to Customer's delete signals, the ORM's collector does the
work instead: slower, never wrong.

Runs are left alone: an active run keeps its segments and their stored sizes, which then count
customers that are gone until the next run (callers say so and advise a re-segmentation).
Like any delete without a database constraint, a membership written by a concurrent worker for a
customer being deleted may outlive it; readers join memberships to customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete, pre_delete

from core.services import activity_record
from customers.demo import SOURCE_ATTRIBUTE, SOURCE_VALUE
from customers.models import Customer

RESEGMENT_ADVICE = (
    "Segmentations keep their active runs: their segment sizes and charts still count the deleted "
    "customers until they are re-segmented. Re-segmenting is advised."
)


@dataclass(frozen=True)
class CustomerDeletion:
    """How many customers, and how many related rows per kind (e.g. {"memberships": 6000}), go or went."""

    customers: int
    related: dict[str, int] = field(default_factory=dict)

    @property
    def memberships(self) -> int:
        return self.related.get("memberships", 0)

    def describe(self) -> str:
        """'2,000 customers and 6,000 memberships': the memberships always, any other related kind when it has rows."""
        parts = [f"{self.customers:,} customer{'' if self.customers == 1 else 's'}"]
        parts += [f"{count:,} {name}" for name, count in self.related.items() if count or name == "memberships"]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def demo_customers_queryset() -> QuerySet[Customer]:
    """The synthetic demo customers: every customer whose `source` attribute says 'synthetic demo'."""
    return Customer.objects.filter(**{f"attributes__{SOURCE_ATTRIBUTE}": SOURCE_VALUE})


def customers_deletion_preview(*, customers: QuerySet[Customer]) -> CustomerDeletion:
    """What deleting `customers` would remove (one count per table; nothing is changed)."""
    ids = _ids(customers)
    related = {_plural(rel): _related_rows(rel, ids).count() for rel in _cascades()}
    return CustomerDeletion(customers=customers.order_by().count(), related=related)


def customers_delete(
    *, customers: QuerySet[Customer], actor: Any, verb: str = "customers.deleted", description: str = ""
) -> CustomerDeletion:
    """Delete `customers` and the rows that cascade from them, set-based, in one transaction, audited.

    `description` (e.g. "the synthetic demo customers", "the customers selected in the admin") goes into
    the audit entry with the counts.
    """
    if customers.query.is_sliced:
        raise TypeError("customers: a sliced queryset cannot be deleted; filter it instead")
    with transaction.atomic():
        result = _delete(customers.order_by())
        activity_record(
            actor=actor,
            verb=verb,
            object_type=Customer._meta.label,
            object_repr=f"{result.describe()} deleted",
            detail={"description": description, "customers": result.customers, **result.related},
        )
    return result


def demo_customers_remove(*, actor: Any) -> CustomerDeletion:
    """Delete every synthetic demo customer and its memberships (one transaction, audited)."""
    return customers_delete(
        customers=demo_customers_queryset(),
        actor=actor,
        verb="customers.demo_removed",
        description="the synthetic demo customers",
    )


def _delete(customers: QuerySet[Customer]) -> CustomerDeletion:
    if not _set_based_possible():
        total, per_model = customers.delete()  # the collector: slower, handles every on_delete and signal
        related = {_plural(rel): per_model.get(rel.related_model._meta.label, 0) for rel in _cascades()}
        return CustomerDeletion(customers=per_model.get(Customer._meta.label, 0), related=related)
    ids = _ids(customers)
    related = {}
    for rel in _cascades():
        # A model nothing points at and nobody listens to is deleted with one statement by the ORM
        # ("fast delete"); otherwise the ORM cascades further itself.
        _, per_model = _related_rows(rel, ids).delete()
        related[_plural(rel)] = per_model.get(rel.related_model._meta.label, 0)
    deleted = customers._raw_delete(customers.db)  # one DELETE ... WHERE <filter>; nothing points at them now
    return CustomerDeletion(customers=deleted, related=related)


def _ids(customers: QuerySet[Customer]) -> QuerySet:
    return customers.order_by().values("pk")


def _relations() -> list[models.ForeignObjectRel]:
    return [
        rel
        for rel in Customer._meta.get_fields(include_hidden=True)
        if isinstance(rel, models.ForeignObjectRel) and (rel.one_to_many or rel.one_to_one)
    ]


def _cascades() -> list[models.ForeignObjectRel]:
    return [rel for rel in _relations() if rel.on_delete is models.CASCADE]


def _set_based_possible() -> bool:
    """Every relation is a plain cascade or DO_NOTHING, and no delete signal listens to Customer."""
    plain = all(rel.on_delete in (models.CASCADE, models.DO_NOTHING) for rel in _relations())
    listened = pre_delete.has_listeners(Customer) or post_delete.has_listeners(Customer)
    return plain and not listened and not Customer._meta.parents


def _related_rows(rel: models.ForeignObjectRel, ids: QuerySet) -> QuerySet:
    return rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": ids})


def _plural(rel: models.ForeignObjectRel) -> str:
    return str(rel.related_model._meta.verbose_name_plural)
