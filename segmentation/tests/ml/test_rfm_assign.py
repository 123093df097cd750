"""An RFM run's stored model (cut points and group labels) places new customers without recomputing quintiles."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from segmentation.ml import assign
from segmentation.ml.rfm import RFM_GROUPS, is_rfm_model, rfm_assign, rfm_groups, rfm_scores, rfm_segment
from segmentation.ml.types import SegmentationConfig

CONFIG = SegmentationConfig(features=("recency", "frequency", "monetary"))


def _base(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "recency": rng.integers(0, 365, n).astype(float),
            "frequency": rng.geometric(0.35, n).astype(float),
            "monetary": rng.gamma(2.0, 250.0, n).round(2),
        },
        index=np.arange(1, n + 1),
    )


def test_the_result_stores_its_cut_points_and_group_labels_as_json():
    result = rfm_segment(_base(), CONFIG)
    model = json.loads(json.dumps(result.model))  # as stored on the run
    assert is_rfm_model(model) and model["cuts"] == result.details["cuts"]
    assert model["labels"] == {RFM_GROUPS[i].slug: s.label for s in result.segments for i in [_group(s.name)]}


def _group(name: str) -> int:
    return next(i for i, g in enumerate(RFM_GROUPS) if g.name == name)


def test_fitted_customers_are_placed_back_in_their_own_segment():
    base = _base()
    result = rfm_segment(base, CONFIG)
    labels, distances = assign(base, json.loads(json.dumps(result.model)))
    assert (labels == result.labels).all() and (distances == 0).all()


def test_new_customers_are_scored_with_the_stored_cuts_not_their_own_quintiles():
    result = rfm_segment(_base(), CONFIG)
    model = json.loads(json.dumps(result.model))
    # three newcomers: quintiles of these three alone would differ from the run's
    new = pd.DataFrame({"recency": [1.0, 300.0, 40.0], "frequency": [30.0, 1.0, 2.0], "monetary": [9e4, 5.0, 80.0]})
    labels, _ = rfm_assign(new, model)
    expected = rfm_groups(rfm_scores(new, model["cuts"]))
    by_slug = model["labels"]
    assert list(labels) == [by_slug.get(RFM_GROUPS[g].slug, -1) for g in expected]
    champions = next(s for s in result.segments if s.name == "Champions")
    assert labels[0] == champions.label


def test_customers_without_values_or_without_a_segment_for_their_group_are_not_placed():
    result = rfm_segment(_base(), CONFIG)
    model = json.loads(json.dumps(result.model))
    model["labels"].pop("lost", None)
    new = pd.DataFrame({"recency": [np.nan, 364.0, 10.0], "frequency": [2.0, 1.0, None], "monetary": [10.0, 1.0, 5.0]})
    labels, distances = rfm_assign(new, model)
    assert list(labels) == [-1, -1, -1] and np.isnan(distances).all()
    assert rfm_assign(new.drop(columns=["monetary"]), model)[0].tolist() == [-1, -1, -1]
