"""Maps of the customers: 2D and 3D scatter plots coloured by segment.

A map draws at most MAP_POINTS customers: beyond a few thousand points the picture does not change to the eye,
but the page grows by about 40 bytes a point and the browser takes longer to draw it. The run's sample is in
a random order (a hash of the customer id), so its first MAP_POINTS rows are a random subset of it, each
segment keeping about its share; the title says how many customers the map shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from segmentation.ml.charts.base import _LAYOUT, Units, _color, _new, _seg_name, feature_label, feature_name

MAP_POINTS = 5_000


def _map_points(sample: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The first `limit` rows of the sample (a random order), so every segment keeps about its share."""
    return sample if len(sample) <= limit else sample.iloc[:limit]


def scatter2d_figure(
    sample: pd.DataFrame,
    *,
    x: str,
    y: str,
    segments: Sequence[Mapping[str, Any]],
    total: int,
    units: Units = None,
    limit: int = MAP_POINTS,
) -> go.Figure:
    """Customers (a sample, at most `limit` drawn; columns x, y and 'label') coloured by segment, with centroids."""
    fig = _new()
    sample = _map_points(sample, limit)
    n = len(sample)
    for i, seg in enumerate(segments):
        part = sample[sample["label"] == seg["label"]]
        fig.add_trace(
            go.Scattergl(
                x=part[x].to_numpy(),
                y=part[y].to_numpy(),
                mode="markers",
                name=_seg_name(seg),
                legendgroup=str(seg["label"]),
                marker=dict(color=_color(seg, i), size=6, opacity=0.65),
            )
        )
    cx = [seg.get("centroid", {}).get(x) for seg in segments]
    cy = [seg.get("centroid", {}).get(y) for seg in segments]
    if all(v is not None for v in cx + cy) and segments:
        fig.add_trace(
            go.Scatter(
                x=cx,
                y=cy,
                mode="markers",
                name="Centroids",
                text=[seg.get("name", "") for seg in segments],
                marker=dict(symbol="x", size=16, color="#111827", line=dict(width=2, color="#fff")),
            )
        )
    fig.update_layout(
        **_LAYOUT,
        title=f"{feature_name(y)} by {feature_name(x)} — sample of {n:,} of {total:,} customers",
        xaxis_title=feature_label(x, units),
        yaxis_title=feature_label(y, units),
        height=480,
        legend_title="Segment",
    )
    return fig


def scatter3d_figure(
    sample: pd.DataFrame,
    *,
    x: str,
    y: str,
    z: str,
    segments: Sequence[Mapping[str, Any]],
    total: int,
    units: Units = None,
    limit: int = MAP_POINTS,
) -> go.Figure:
    """Customers in three features (a sample, at most `limit` drawn), coloured by segment."""
    fig = _new()
    sample = _map_points(sample, limit)
    n = len(sample)
    for i, seg in enumerate(segments):
        part = sample[sample["label"] == seg["label"]]
        fig.add_trace(
            go.Scatter3d(
                x=part[x].to_numpy(),
                y=part[y].to_numpy(),
                z=part[z].to_numpy(),
                mode="markers",
                name=_seg_name(seg),
                marker=dict(color=_color(seg, i), size=3, opacity=0.7),
            )
        )
    fig.update_layout(
        **_LAYOUT,
        title=f"3D view — sample of {n:,} of {total:,} customers",
        height=560,
        legend_title="Segment",
        scene=dict(
            xaxis_title=feature_label(x, units), yaxis_title=feature_label(y, units), zaxis_title=feature_label(z)
        ),
    )
    return fig
