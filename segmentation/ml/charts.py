"""Charts of a segmentation run: plain data in, a `plotly.graph_objects.Figure` out.

Pure (numpy / pandas / plotly only, never Django). Every figure has a title, axis labels in
real units and a legend where it has more than one series; `render()` turns a figure into an
HTML fragment with a fixed div id (see `DIV_IDS`) so pages and tests can find each chart.

Segments are passed as plain dicts, the shape pages read from the database:
    {"label": int, "name": str, "color": "#rrggbb", "size": int,
     "centroid": {feature: value in real units},
     "profile": {feature: {"mean", "median", "min", "max", "z"}}}
Evidence rows are `KEvidence` dicts: {k, inertia, silhouette, calinski_harabasz, davies_bouldin, stability}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from segmentation.ml.fields import FEATURE_META

DIV_IDS: dict[str, str] = {
    "elbow": "chart-elbow",
    "criteria": "chart-criteria",
    "scatter2d": "chart-scatter2d",
    "scatter3d": "chart-scatter3d",
    "heatmap": "chart-heatmap",
    "radar": "chart-radar",
    "box": "chart-box",
    "silhouette": "chart-silhouette",
    "migration": "chart-migration",
}

FALLBACK_COLORS = (
    "#2563eb",
    "#dc2626",
    "#059669",
    "#d97706",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#65a30d",
    "#475569",
    "#ea580c",
    "#4f46e5",
    "#0d9488",
)

CRITERIA: tuple[tuple[str, str, str], ...] = (
    ("silhouette", "Silhouette (higher is better)", "higher"),
    ("calinski_harabasz", "Calinski–Harabasz (higher is better)", "higher"),
    ("davies_bouldin", "Davies–Bouldin (lower is better)", "lower"),
    ("stability", "Stability, mean ARI (higher is better)", "higher"),
)

# A small template of our own: Plotly copies and validates a figure's template on every figure, and the
# built-in ones are large (most of a page's server time), so every figure starts from this one (`_new`).
_AXIS = dict(gridcolor="#e5e9f0", zerolinecolor="#cbd2d9", linecolor="#cbd2d9")
TEMPLATE = go.layout.Template(
    layout=dict(
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=list(FALLBACK_COLORS),
        xaxis=dict(_AXIS, automargin=True),
        yaxis=dict(_AXIS, automargin=True),
        polar=dict(bgcolor="white", radialaxis=dict(gridcolor="#e5e9f0"), angularaxis=dict(gridcolor="#e5e9f0")),
        scene=dict(
            xaxis=dict(_AXIS, backgroundcolor="white"),
            yaxis=dict(_AXIS, backgroundcolor="white"),
            zaxis=dict(_AXIS, backgroundcolor="white"),
        ),
        font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=12, color="#1f2933"),
        hoverlabel=dict(namelength=-1),
    )
)
_LAYOUT = dict(margin=dict(l=60, r=20, t=60, b=50))


def _new(data: Any = None) -> go.Figure:
    """An empty figure with our template (set at construction, so Plotly's default is never copied)."""
    return go.Figure(data=data, layout=go.Layout(template=TEMPLATE))


def feature_name(feature: str) -> str:
    """Human name of a feature: 'annual_income' -> 'Annual income'."""
    return FEATURE_META.get(feature, (feature.replace("_", " ").capitalize(), ""))[0]


def feature_label(feature: str) -> str:
    """Axis label in real units: 'annual_income' -> 'Annual income (k$)'."""
    name, unit = FEATURE_META.get(feature, (feature.replace("_", " ").capitalize(), ""))
    return f"{name} ({unit})" if unit else name


def feature_unit(feature: str) -> str:
    return FEATURE_META.get(feature, ("", ""))[1]


def format_value(feature: str, value: float | None) -> str:
    """A value in real units for cards and tables: 86.5 k$, 32 years, 82 (of 100)."""
    if value is None:
        return "–"
    unit = feature_unit(feature)
    if feature == "spending_score":
        return f"{value:.0f} / 100"
    if feature == "gender":
        return f"{value * 100:.0f}% female"
    text = f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text} {unit}" if unit else text


def _color(segment: Mapping[str, Any], i: int) -> str:
    return segment.get("color") or FALLBACK_COLORS[i % len(FALLBACK_COLORS)]


def _seg_name(segment: Mapping[str, Any]) -> str:
    return f"{segment.get('name') or 'Segment'} (#{segment['label']})"


def _finite(values: Sequence[Any]) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        out.append(float(v) if v is not None and np.isfinite(float(v)) else None)
    return out


def _vline(fig: go.Figure, x: float, *, xref: str, yref: str, color: str, text: str | None = None) -> None:
    """A dashed vertical line over a whole subplot (cheaper than Figure.add_vline), with an optional label."""
    fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, xref=xref, yref=yref, line=dict(color=color, dash="dash"))
    if text:
        fig.add_annotation(
            x=x, y=1, xref=xref, yref=yref, text=text, showarrow=False, yanchor="bottom", font=dict(color=color)
        )


def render(fig: go.Figure, key: str) -> str:
    """HTML fragment of a figure in a div with the fixed id DIV_IDS[key] (plotly.js loaded by the page)."""
    return pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        div_id=DIV_IDS[key],
        config={"responsive": True, "displaylogo": False},
        default_width="100%",
        default_height=f"{int(fig.layout.height or 420)}px",
    )


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
            hovertemplate="k = %{x}<br>inertia = %{y:.4g}<extra></extra>",
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
        values = _finite([r.get(key) for r in per_k])
        fig.add_trace(
            go.Scatter(
                x=ks,
                y=values,
                mode="lines+markers",
                name=title.split(" (")[0],
                hovertemplate="k = %{x}<br>%{y:.4g}<extra></extra>",
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
                    name=f"{title.split(' (')[0]} prefers k = {pk}",
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


def scatter2d_figure(
    sample: pd.DataFrame, *, x: str, y: str, segments: Sequence[Mapping[str, Any]], total: int
) -> go.Figure:
    """Customers (a sample; `sample` has columns x, y and 'label') coloured by segment, with centroids."""
    fig = _new()
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
        xaxis_title=feature_label(x),
        yaxis_title=feature_label(y),
        height=480,
        legend_title="Segment",
    )
    return fig


def scatter3d_figure(
    sample: pd.DataFrame, *, x: str, y: str, z: str, segments: Sequence[Mapping[str, Any]], total: int
) -> go.Figure:
    """Customers in three features (a sample), coloured by segment."""
    fig = _new()
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
        scene=dict(xaxis_title=feature_label(x), yaxis_title=feature_label(y), zaxis_title=feature_label(z)),
    )
    return fig


def heatmap_figure(segments: Sequence[Mapping[str, Any]], features: Sequence[str]) -> go.Figure:
    """Segment × feature z-scores of the segment means against the whole base (from stored profiles)."""
    z = [[(seg.get("profile", {}).get(f) or {}).get("z") for f in features] for seg in segments]
    means = [[(seg.get("profile", {}).get(f) or {}).get("mean") for f in features] for seg in segments]
    text = [[("–" if m is None else f"{m:.3g}") for m in row] for row in means]
    fig = _new(
        go.Heatmap(
            z=z,
            x=[feature_label(f) for f in features],
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


def radar_figure(segments: Sequence[Mapping[str, Any]], features: Sequence[str]) -> go.Figure:
    """Each segment's mean per feature, scaled 0–1 over the base's range of that feature (stored profiles)."""
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    for f in features:
        mins = [(s.get("profile", {}).get(f) or {}).get("min") for s in segments]
        maxs = [(s.get("profile", {}).get(f) or {}).get("max") for s in segments]
        mins = [v for v in mins if v is not None]
        maxs = [v for v in maxs if v is not None]
        lo[f] = min(mins) if mins else 0.0
        hi[f] = max(maxs) if maxs else 1.0
    theta = [feature_label(f) for f in features]
    fig = _new()
    for i, seg in enumerate(segments):
        r = []
        for f in features:
            mean = (seg.get("profile", {}).get(f) or {}).get("mean")
            span = hi[f] - lo[f]
            r.append(None if mean is None else ((mean - lo[f]) / span if span else 0.5))
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


def box_figure(sample: pd.DataFrame, *, features: Sequence[str], segments: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Distribution of each feature per segment as box plots (quartiles computed from the sample, 1.5 IQR whiskers)."""
    cols = min(len(features), 3) or 1
    rows = -(-len(features) // cols) or 1
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[feature_label(f) for f in features],
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
        fig.update_yaxes(title_text=feature_label(f), row=r + 1, col=c + 1)
        fig.update_xaxes(showticklabels=False, row=r + 1, col=c + 1)
    fig.update_layout(
        **_LAYOUT,
        title=f"Distribution per segment — sample of {len(sample):,} customers",
        height=380 * rows,
        legend_title="Segment",
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
