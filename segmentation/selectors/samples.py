"""Samples of a run's memberships for the scatter plots, box plots, silhouettes and rules.

`run_sample` draws a stratified sample of at most 20,000 memberships of a run, proportional to segment
sizes, with a fixed seed. A membership is drawn when a hash of its customer id,
h = (customer_id × 2654435761 + seed) mod 1,000,003, falls under a threshold that keeps about 15 % more
than needed; each segment then keeps its members with the lowest h up to its quota
(floor(limit × size / total)). The same run and seed always give the same sample, and the database does
the filtering (one scan of the run's memberships), so pages stay fast at 1M customers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from django.db.models import F
from sklearn.metrics import silhouette_samples

from segmentation.ml.fields import CANONICAL_FEATURES
from segmentation.models import Membership, SegmentRun

SAMPLE_LIMIT = 20_000
SAMPLE_SEED = 0
_HASH_MULT = 2654435761
_HASH_MOD = 1_000_003


def _feature_column(feature: str) -> str:
    if feature in CANONICAL_FEATURES:
        return f"customer__{feature}"
    return f"customer__attributes__{feature}"


def run_sample(
    *, run: SegmentRun, features: list[str], limit: int = SAMPLE_LIMIT, seed: int = SAMPLE_SEED
) -> tuple[pd.DataFrame, int]:
    """A stratified sample (see module doc) with columns `label`, `segment_id`, `external_id` and the features."""
    segments = list(run.segments.all())
    label_of = {s.id: s.label for s in segments}
    total = sum(s.size for s in segments)
    qs = Membership.objects.filter(run=run)
    qs = qs.annotate(h=(F("customer_id") * _HASH_MULT + seed) % _HASH_MOD)
    if total > limit:
        threshold = math.ceil(_HASH_MOD * min(1.0, limit * 1.15 / total))
        qs = qs.filter(h__lt=threshold)
    features = list(dict.fromkeys(features))
    cols = [_feature_column(f) for f in features]
    rows = list(qs.values_list("segment_id", "h", "customer__external_id", *cols))
    df = pd.DataFrame(rows, columns=["segment_id", "h", "external_id", *features])
    if total > limit and len(df):
        quotas = {s.id: int(limit * s.size / total) for s in segments}
        df = df.sort_values(["segment_id", "h", "external_id"])
        df = df[df.groupby("segment_id").cumcount() < df["segment_id"].map(quotas)]
    df["label"] = df["segment_id"].map(label_of)
    for f in features:
        if f == "gender":
            df[f] = df[f].map({"female": 1.0, "male": 0.0})
        df[f] = pd.to_numeric(df[f], errors="coerce")
    df = df.sort_values(["h", "external_id"]).reset_index(drop=True)
    return df, total


def sample_silhouette(
    *, sample: pd.DataFrame, features: list[str], limit: int = 1500
) -> tuple[np.ndarray, np.ndarray] | None:
    """Silhouette per customer on (at most `limit` of) the sample, features min-max scaled over the sample."""
    if not features:
        return None
    data = sample.dropna(subset=features)
    if len(data) > limit:
        share = limit / len(data)
        quota = data.groupby("label")["label"].transform("size").mul(share).astype(int).clip(lower=1)
        data = data[data.groupby("label").cumcount() < quota]
    labels = data["label"].to_numpy()
    if len(np.unique(labels)) < 2 or len(data) < 3:
        return None
    X = data[features].to_numpy(dtype=float)
    span = X.max(axis=0) - X.min(axis=0)
    span[span == 0] = 1.0
    X = (X - X.min(axis=0)) / span
    return silhouette_samples(X, labels), labels
