"""Segmentations, runs made by the real run service on the customers in the database, and demo customers beside
a Personality-like file (`demo_and_personality`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import factory
from django.contrib.auth.models import AbstractBaseUser
from factory.django import DjangoModelFactory

from customers.imports.service import customer_import
from customers.models import CustomerAttribute
from customers.tests.factories import customer_groups_create
from segmentation.models import Segmentation, SegmentRun
from segmentation.services import claims, runs
from tests import synth


class SegmentationFactory(DjangoModelFactory):
    """A segmentation with the product's defaults (income and spending, k chosen automatically)."""

    class Meta:
        model = Segmentation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Segmentation {n}")


class SegmentRunFactory(DjangoModelFactory):
    """A finished run, made the way a worker makes it: `run_request`, then `run_execute` in this process.

    Keyword arguments other than `segmentation`, `requested_by` and `trigger` are the run's overrides
    (`k=5`, `random_state=7`, `features=[...]`, ...). The run must succeed; it becomes the active run
    and inherits lineage from the previous one, as in the product.
    """

    class Meta:
        model = SegmentRun

    segmentation = factory.SubFactory(SegmentationFactory)
    requested_by = None
    trigger = "manual"

    @classmethod
    def _create(
        cls,
        model_class: type[SegmentRun],
        *,
        segmentation: Segmentation,
        requested_by: AbstractBaseUser | None,
        trigger: str,
        **overrides: Any,
    ) -> SegmentRun:
        run = runs.run_request(
            segmentation=segmentation,
            requested_by=requested_by,
            trigger=trigger,
            overrides=overrides or None,
            enqueue=False,
        )
        outcome = runs.run_execute(run_id=run.pk)
        run = model_class.objects.get(pk=run.pk)
        if outcome != claims.SUCCEEDED:
            raise AssertionError(f"run #{run.pk} did not succeed ({outcome}): {run.error}")
        segmentation.refresh_from_db()
        return run


def demo_and_personality(tmp_path: Path) -> list[str]:
    """2,000 demo customers (Mall columns) and a Personality-like file imported through the real import service
    (`synth.personality_tsv`: 2,240 rows, 24 without income, only its own columns).

    Returns the Personality features a run uses (income first).
    """
    customer_groups_create({0: 500, 1: 500, 2: 500, 3: 500}, prefix="DEMO-")
    customer_import(file=synth.personality_tsv(tmp_path / "marketing_campaign.csv"), source="command")
    # `Income` in dollars is kept as the attribute `income` (issue 9); before that it fed annual_income.
    income = "income" if CustomerAttribute.objects.filter(key="income").exists() else "annual_income"
    return [income, "mnt_wines", "mnt_meat_products", "num_store_purchases"]
