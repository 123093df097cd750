"""Comparison of two runs: how customers moved between segments."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from segmentation.ml.charts.base import _LAYOUT, _new


def migration_figure(matrix: Sequence[Sequence[int]], *, rows: Sequence[str], cols: Sequence[str]) -> go.Figure:
    """Customers moving from each segment of the earlier run (rows) to each of the later run (columns)."""
    fig = _new(
        go.Heatmap(
            z=[list(r) for r in matrix],
            x=list(cols),
            y=list(rows),
            colorscale="Blues",
            texttemplate="%{z}",
            colorbar=dict(title="Customers"),
            hovertemplate="from %{y}<br>to %{x}: %{z} customers<extra></extra>",
        )
    )
    fig.update_layout(
        **_LAYOUT,
        title="Migration: customers from each earlier segment to each later segment",
        xaxis_title="Later run's segment",
        yaxis_title="Earlier run's segment",
        height=max(320, 120 + 50 * len(rows)),
    )
    fig.update_yaxes(autorange="reversed")
    return fig
