"""Test data: the Mall customers, and runs fitted in the test (KMeans on income and spending)."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import MinMaxScaler

from customers.models import Customer
from segmentation.models import Membership, Segment, Segmentation, SegmentRun

FEATURES = ["annual_income", "spending_score"]


def mall_import(csv_path: Path) -> list[Customer]:
    """The shared Mall file imported as-is through the product's import service."""
    from segmentation.tests.runs_support import mall_import as import_file

    import_file(csv_path)
    return list(Customer.objects.order_by("external_id"))


def run_fit(
    *,
    segmentation: Segmentation,
    customers: list[Customer],
    k: int = 5,
    seed: int = 42,
    lineage_of: dict[int, str] | None = None,
    activate: bool = True,
) -> SegmentRun:
    """Fit KMeans and store a succeeded run with its segments and memberships.

    Segment labels are ordered by size (largest first). Segments get a lineage per label
    (or `lineage_of[label]`), and flags high_value / upsell from their centroids.
    """
    X = np.array([[getattr(c, f) for f in FEATURES] for c in customers], dtype=float)
    scaled = MinMaxScaler().fit_transform(X)
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(scaled)
    sizes = np.bincount(km.labels_, minlength=k)
    order = sorted(range(k), key=lambda i: -sizes[i])
    relabel = {old: new for new, old in enumerate(order)}
    segmentation.version += 1
    segmentation.save()
    run = SegmentRun.objects.create(
        segmentation=segmentation, version=segmentation.version, status="succeeded", chosen_k=k
    )
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    segments = {}
    for old in order:
        label = relabel[old]
        rows = X[km.labels_ == old]
        centroid = dict(zip(FEATURES, rows.mean(axis=0).round(2).tolist(), strict=True))
        z = ((rows.mean(axis=0) - mean) / std).tolist()
        flags = []
        if z[0] > 0.5 and z[1] > 0.5:
            flags.append("high_value")
        if z[0] > 0.5 and z[1] < -0.5:
            flags.append("upsell")
        segments[old] = Segment.objects.create(
            run=run,
            label=label,
            name=f"Segment {label} ({len(rows)})",
            size=len(rows),
            share=len(rows) / len(X),
            centroid=centroid,
            profile={f: {"mean": centroid[f], "z": z[i]} for i, f in enumerate(FEATURES)},
            flags=flags,
            lineage=(lineage_of or {}).get(label) or str(uuid.uuid4()),
            strategy=f"Strategy for segment {label}",
        )
    dist = km.transform(scaled)
    Membership.objects.bulk_create(
        Membership(run=run, customer=c, segment=segments[km.labels_[i]], distance=float(dist[i, km.labels_[i]]))
        for i, c in enumerate(customers)
    )
    if activate:
        segmentation.active_run = run
        segmentation.save()
    return run


def segment_of_size(run: SegmentRun, size: int) -> Segment:
    return run.segments.get(size=size)
