"""Each run's configuration freezes the customers registry's roles and units (customers.selectors.columns)."""

from __future__ import annotations

import pytest

from customers.imports.service import customer_import
from customers.selectors.columns import column_roles, column_units
from segmentation.services import config as config_service
from tests import synth

pytestmark = pytest.mark.django_db


def test_runs_freeze_roles_and_units(tmp_path):
    customer_import(file=synth.personality_tsv(tmp_path / "marketing_campaign.csv"), source="command")
    segmentation = config_service.segmentation_get_or_create_default()
    config = config_service.segmentation_config(segmentation=segmentation, overrides={"features": "income,mnt_wines"})
    roles, units = column_roles(), column_units()
    assert dict(config.roles) == {f: roles[f] for f in ("income", "mnt_wines")}  # the run's features only
    assert dict(config.units) == {f: units[f] for f in ("income", "mnt_wines")}
    assert (config.roles["income"], config.units["income"]) == ("capacity", "$")
