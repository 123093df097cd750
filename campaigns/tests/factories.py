"""Campaigns for tests, made by the real campaign service (validation, audit and all)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import factory
from django.contrib.auth.models import AbstractBaseUser
from factory.django import DjangoModelFactory

from campaigns import services
from campaigns.models import Campaign, Channel
from segmentation.models import Segment


class CampaignFactory(DjangoModelFactory):
    """A draft campaign on `segments` (of one run), created through `campaign_create` by `actor`."""

    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = Channel.EMAIL
    actor = None

    @classmethod
    def _create(
        cls,
        model_class: type[Campaign],
        *,
        actor: AbstractBaseUser | None,
        segments: Iterable[Segment],
        **fields: Any,
    ) -> Campaign:
        return services.campaign_create(actor=actor, segments=list(segments), **fields)
