"""Evidence for the number of segments: the elbow, the criteria per k, the silhouette of a sample."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segmentation.ml.charts.base import _LAYOUT, CRITERIA, _color, _finite, _new, _seg_name, _vline
from segmentation.ml.criteria import criterion_label


def elbow_figure(per_k: Sequence[Mapping[str, Any]], *, knee: int | None, chosen_k: int | None) -> go.Figure:
    """Inertia per k (the elbow curve), the knee and the chosen k marked."""
    ks = [int(r["k"]) for r in per_k]
    inertia = _finite([r.get("inertia") for r in per_k])
    fig = _new()
    fig.add_trace(
        go.Scatter(
            x=ks,
            y=inertia,
            mode="lines+markers",
            name="Inertia",
            hovertemplate="k = %{x}<br>inertia = %{y:,.4~r}<extra></extra>",
        )
    )
    by_k = dict(zip(ks, inertia, strict=True))
    if knee is not None and knee in by_k:
        fig.add_trace(
            go.Scatter(
                x=[knee],
                y=[by_k[knee]],
                mode="markers",
                name=f"Knee (k = {knee})",
                marker=dict(size=16, symbol="circle-open", line=dict(width=3), color="#d97706"),
            )
        )
    if chosen_k is not None and chosen_k in by_k:
        fig.add_trace(
            go.Scatter(
                x=[chosen_k],
                y=[by_k[chosen_k]],
                mode="markers",
                name=f"Chosen k = {chosen_k}",
                marker=dict(size=12, symbol="star", color="#dc2626"),
            )
        )
    fig.update_layout(
        **_LAYOUT,
        title="Elbow curve: inertia per number of segments",
        xaxis_title="Number of segments (k)",
        yaxis_title="Inertia (within-segment sum of squares)",
        height=400,
        legend=dict(orientation="h", y=-0.2),
    )
    fig.update_xaxes(dtick=1)
    return fig


def criteria_figure(
    per_k: Sequence[Mapping[str, Any]], *, chosen_k: int | None, preferred: Mapping[str, int] | None = None
) -> go.Figure:
    """Silhouette, Calinski–Harabasz, Davies–Bouldin and stability per k; chosen k and each preference marked."""
    preferred = preferred or {}
    ks = [int(r["k"]) for r in per_k]
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=[c[1] for c in CRITERIA],
        horizontal_spacing=0.12,
        vertical_spacing=0.18,
        figure=_new(),
    )
    for i, (key, title, _direction) in enumerate(CRITERIA):
        row, col = divmod(i, 2)
        label = criterion_label(key)
        values = _finite([r.get(key) for r in per_k])
        fig.add_trace(
            go.Scatter(
                x=ks,
                y=values,
                mode="lines+markers",
                name=label,
                hovertemplate=f"k = %{{x}}<br>{label} = %{{y:,.4~r}}<br>{title.split(' (')[1][:-1]}<extra></extra>",
            ),
            row=row + 1,
            col=col + 1,
        )
        pk = preferred.get(key)
        if pk is not None and pk in ks and values[ks.index(pk)] is not None:
            fig.add_trace(
                go.Scatter(
                    x=[pk],
                    y=[values[ks.index(pk)]],
                    mode="markers",
                    showlegend=False,
                    name=f"{label} prefers k = {pk}",
                    marker=dict(size=13, symbol="circle-open", line=dict(width=2), color="#d97706"),
                ),
                row=row + 1,
                col=col + 1,
            )
        fig.update_xaxes(title_text="k", dtick=1, row=row + 1, col=col + 1)
    if chosen_k is not None:
        for i in range(len(CRITERIA)):
            _vline(
                fig,
                chosen_k,
                xref=f"x{i + 1}" if i else "x",
                yref=f"y{i + 1} domain" if i else "y domain",
                color="#dc2626",
                text=f"chosen k = {chosen_k}" if i == 0 else None,
            )
    fig.update_layout(
        **_LAYOUT,
        title="Criteria per number of segments (circles: each criterion's preferred k)",
        height=560,
        legend=dict(orientation="h", y=-0.12),
    )
    return fig


def silhouette_figure(
    values: np.ndarray, labels: np.ndarray, *, segments: Sequence[Mapping[str, Any]], average: float | None = None
) -> go.Figure:
    """Silhouette plot: each sampled customer's silhouette, sorted within segment, one band per segment."""
    values = np.asarray(values, dtype=float)
    labels = np.asarray(labels)
    fig = _new()
    y0 = 0
    for i, seg in enumerate(segments):
        v = np.sort(values[labels == seg["label"]])[::-1]
        ys = np.arange(y0, y0 + len(v))
        fig.add_trace(
            go.Bar(
                x=v,
                y=ys,
                orientation="h",
                name=_seg_name(seg),
                marker_color=_color(seg, i),
                marker_line_width=0,
                width=1.0,
                hovertemplate="silhouette %{x:.2f}<extra>" + _seg_name(seg) + "</extra>",
            )
        )
        y0 += len(v) + max(5, len(values) // 100)
    if average is None and len(values):
        average = float(values.mean())
    if average is not None:
        _vline(fig, average, xref="x", yref="y domain", color="#111827", text=f"mean {average:.2f}")
    fig.update_layout(
        **_LAYOUT,
        title=f"Silhouette per customer — sample of {len(values):,}",
        bargap=0,
        xaxis_title="Silhouette coefficient (−1 to 1)",
        yaxis_title="Customers, sorted within segment",
        height=480,
        legend_title="Segment",
    )
    fig.update_yaxes(showticklabels=False)
    fig.update_xaxes(range=[-1, 1])
    return fig
