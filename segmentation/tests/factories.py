"""Segmentations, and runs made by the real run service on the customers in the database."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import AbstractBaseUser
from factory.django import DjangoModelFactory

from segmentation.models import Segmentation, SegmentRun
from segmentation.services import claims, runs


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
