"""Segment profiles: heatmap of z-scores, radar of centroids, box plots per feature."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segmentation.ml.charts.base import (
    _LAYOUT,
    Units,
    _color,
    _new,
    _seg_name,
    feature_label,
    feature_unit,
    format_value,
)


def heatmap_figure(segments: Sequence[Mapping[str, Any]], features: Sequence[str], *, units: Units = None) -> go.Figure:
    """Segment × feature z-scores of the segment means against the whole base (from stored profiles)."""
    z = [[(seg.get("profile", {}).get(f) or {}).get("z") for f in features] for seg in segments]
    means = [[(seg.get("profile", {}).get(f) or {}).get("mean") for f in features] for seg in segments]
    text = [[format_value(f, m, feature_unit(f, units)) for f, m in zip(features, row, strict=True)] for row in means]
    fig = _new(
        go.Heatmap(
            z=z,
            x=[feature_label(f, units) for f in features],
            y=[_seg_name(s) for s in segments],
            text=text,
            texttemplate="%{text}",
            colorscale="RdBu",
            reversescale=True,
            zmid=0,
            colorbar=dict(title="z-score"),
            hovertemplate="%{y}<br>%{x}: mean %{text}, z = %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        **_LAYOUT,
        title="Profile: segment means (text) and z-scores against all customers (colour)",
        xaxis_title="Feature",
        yaxis_title="Segment",
        height=max(300, 90 + 55 * len(segments)),
    )
    return fig


RADAR_MIN_FEATURES = 3  # with fewer axes a radar collapses to a line: a grouped bar chart says the same


def _scaled_means(segments: Sequence[Mapping[str, Any]], features: Sequence[str]) -> list[list[float | None]]:
    """Per segment, its mean per feature scaled 0–1 over the range of all customers (stored profiles' min/max)."""
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    for f in features:
        mins = [(s.get("profile", {}).get(f) or {}).get("min") for s in segments]
        maxs = [(s.get("profile", {}).get(f) or {}).get("max") for s in segments]
        mins = [v for v in mins if v is not None]
        maxs = [v for v in maxs if v is not None]
        lo[f] = min(mins) if mins else 0.0
        hi[f] = max(maxs) if maxs else 1.0
    out = []
    for seg in segments:
        r: list[float | None] = []
        for f in features:
            mean = (seg.get("profile", {}).get(f) or {}).get("mean")
            span = hi[f] - lo[f]
            r.append(None if mean is None else ((mean - lo[f]) / span if span else 0.5))
        out.append(r)
    return out


def radar_figure(segments: Sequence[Mapping[str, Any]], features: Sequence[str], *, units: Units = None) -> go.Figure:
    """Each segment's mean per feature, scaled 0–1 over the base's range of that feature (stored profiles).

    A radar needs at least three axes (`RADAR_MIN_FEATURES`); with fewer it is `profile_bars_figure`."""
    if len(features) < RADAR_MIN_FEATURES:
        return profile_bars_figure(segments, features, units=units)
    theta = [feature_label(f, units) for f in features]
    fig = _new()
    for i, (seg, r) in enumerate(zip(segments, _scaled_means(segments, features), strict=True)):
        fig.add_trace(
            go.Scatterpolar(
                r=r + r[:1],
                theta=theta + theta[:1],
                fill="toself",
                name=_seg_name(seg),
                line=dict(color=_color(seg, i)),
                opacity=0.6,
            )
        )
    fig.update_layout(
        **_LAYOUT,
        title="Segments compared: mean per feature, 0 = lowest, 1 = highest customer",
        polar=dict(radialaxis=dict(range=[0, 1])),
        height=480,
        legend_title="Segment",
    )
    return fig


def profile_bars_figure(
    segments: Sequence[Mapping[str, Any]], features: Sequence[str], *, units: Units = None
) -> go.Figure:
    """The radar's content as grouped bars (one group per feature, one bar per segment), for one or two
    features; the hover gives the mean in its unit."""
    labels = [feature_label(f, units) for f in features]
    fig = _new()
    for i, (seg, r) in enumerate(zip(segments, _scaled_means(segments, features), strict=True)):
        means = [(seg.get("profile", {}).get(f) or {}).get("mean") for f in features]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=r,
                name=_seg_name(seg),
                marker_color=_color(seg, i),
                customdata=[format_value(f, m, feature_unit(f, units)) for f, m in zip(features, means, strict=True)],
                hovertemplate="%{x}: mean %{customdata}<extra>" + _seg_name(seg) + "</extra>",
            )
        )
    fig.update_layout(
        **_LAYOUT,
        title="Segments compared: mean per feature, 0 = lowest, 1 = highest customer",
        barmode="group",
        xaxis_title="Feature",
        yaxis=dict(title="Mean, scaled 0–1", range=[0, 1]),
        height=420,
        legend_title="Segment",
    )
    return fig


def box_figure(
    sample: pd.DataFrame, *, features: Sequence[str], segments: Sequence[Mapping[str, Any]], units: Units = None
) -> go.Figure:
    """Distribution of each feature per segment as box plots (quartiles computed from the sample, 1.5 IQR whiskers)."""
    cols = min(len(features), 3) or 1
    rows = -(-len(features) // cols) or 1
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[feature_label(f, units) for f in features],
        horizontal_spacing=0.08,
        vertical_spacing=0.2,
        figure=_new(),
    )
    for j, f in enumerate(features):
        r, c = divmod(j, cols)
        for i, seg in enumerate(segments):
            values = sample.loc[sample["label"] == seg["label"], f].dropna().to_numpy(dtype=float)
            if not len(values):
                continue
            q1, med, q3 = (float(v) for v in np.percentile(values, [25, 50, 75]))
            iqr = q3 - q1
            lower = float(values[values >= q1 - 1.5 * iqr].min())
            upper = float(values[values <= q3 + 1.5 * iqr].max())
            fig.add_trace(
                go.Box(
                    name=_seg_name(seg),
                    x=[_seg_name(seg)],
                    q1=[q1],
                    median=[med],
                    q3=[q3],
                    lowerfence=[lower],
                    upperfence=[upper],
                    mean=[float(values.mean())],
                    marker_color=_color(seg, i),
                    legendgroup=str(seg["label"]),
                    showlegend=(j == 0),
                    boxpoints=False,
                ),
                row=r + 1,
                col=c + 1,
            )
        fig.update_yaxes(title_text=feature_label(f, units), row=r + 1, col=c + 1)
        fig.update_xaxes(showticklabels=False, row=r + 1, col=c + 1)
    fig.update_layout(
        **_LAYOUT,
        title=f"Distribution per segment — sample of {len(sample):,} customers",
        height=380 * rows,
        legend_title="Segment",
    )
    return fig
