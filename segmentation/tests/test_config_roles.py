"""Each run's configuration freezes the customers registry's roles and units (customers.selectors.columns)."""

from __future__ import annotations

import dataclasses

import pytest

from customers.imports.service import customer_import
from customers.selectors.columns import column_roles, column_units
from customers.tests import tables
from segmentation.ml.types import SegmentationConfig
from segmentation.services import config as config_service

pytestmark = pytest.mark.django_db


def test_runs_freeze_roles_and_units(tmp_path, monkeypatch):
    customer_import(file=tables.personality_tsv(tmp_path / "marketing_campaign.csv"), source="command")
    known = {f.name for f in dataclasses.fields(SegmentationConfig)}
    if "roles" not in known:  # until the engine's SegmentationConfig has them (issue 9), stand one in

        @dataclasses.dataclass(frozen=True)
        class WithRoles(SegmentationConfig):
            roles: dict = dataclasses.field(default_factory=dict)
            units: dict = dataclasses.field(default_factory=dict)

        monkeypatch.setattr(config_service, "SegmentationConfig", WithRoles)
    segmentation = config_service.segmentation_get_or_create_default()
    config = config_service.segmentation_config(segmentation=segmentation, overrides={"features": "income,mnt_wines"})
    assert dict(config.roles) == column_roles() and dict(config.units) == column_units()
    assert (config.roles["income"], config.units["income"]) == ("capacity", "$")
