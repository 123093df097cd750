"""The evaluation chart: each model's holdout metrics beside popularity (plotly, pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

LABELS = {
    "ndcg_at_10": "NDCG@10",
    "hit_rate_at_10": "HitRate@10",
    "precision_at_10": "Precision@10",
    "recall_at_10": "Recall@10",
    "map_at_10": "MAP@10",
    "coverage": "Coverage",
}
MODEL_NAMES = {
    "popularity": "Popularity",
    "segment_popularity": "Segment popularity",
    "item_knn": "Item-kNN",
    "als": "ALS (implicit)",
    "blend": "Blend ALS + popularity",
}


def metrics_figure(metrics: Mapping[str, Mapping[str, Any]], *, served: str = "") -> go.Figure:
    """Grouped bars: one group per metric, one bar per model (the served one named so)."""
    fig = go.Figure()
    keys = list(LABELS)
    for model, values in metrics.items():
        name = MODEL_NAMES.get(model, model) + (" (served)" if model == served else "")
        fig.add_bar(
            name=name,
            x=[LABELS[k] for k in keys],
            y=[values.get(k) or 0 for k in keys],
            hovertemplate="%{x}: %{y:.3f}<extra>" + name + "</extra>",
        )
    fig.update_layout(
        title="Holdout metrics at 10 per model",
        barmode="group",
        height=420,
        yaxis={"title": "value (higher is better)", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 50, "r": 10, "t": 50, "b": 40},
    )
    return fig
