"""The charts' shared theme, fixed div ids, labels in real units and HTML rendering."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from segmentation.ml.criteria import CRITERIA as _CRITERIA
from segmentation.ml.criteria import PANEL_CRITERIA
from segmentation.ml.fields import FEATURE_META
from segmentation.ml.formatting import MISSING, format_with_unit

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

# (key, chart title, better direction) of the panels, from the one mapping of criteria (`ml.criteria`).
CRITERIA: tuple[tuple[str, str, str], ...] = tuple(
    (key, _CRITERIA[key].title, "higher" if _CRITERIA[key].higher_is_better else "lower") for key in PANEL_CRITERIA
)

# A small template of our own: Plotly copies and validates a figure's template on every figure, and the
# built-in ones are large (most of a page's server time), so every figure starts from this one (`_new`).
# ",~r": thousands separators, six significant digits, no SI suffix ("600k") and no exponent ("3.68e+04").
_AXIS = dict(gridcolor="#e5e9f0", zerolinecolor="#cbd2d9", linecolor="#cbd2d9", tickformat=",~r", hoverformat=",~r")
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


Units = Mapping[str, str] | None  # a run's own units by feature (`SegmentRun.params["units"]`)


def feature_name(feature: str) -> str:
    """Human name of a feature: 'annual_income' -> 'Annual income'."""
    return FEATURE_META.get(feature, (feature.replace("_", " ").capitalize(), ""))[0]


def feature_unit(feature: str, units: Units = None) -> str:
    """The feature's unit: the run's own (`units`), else the canonical one (FEATURE_META), else ""."""
    if units and units.get(feature) is not None:
        return str(units[feature])
    return FEATURE_META.get(feature, ("", ""))[1]


def feature_label(feature: str, units: Units = None) -> str:
    """Axis label in the run's units: 'annual_income' -> 'Annual income (k$)'; with {'income': '$'}: 'Income ($)'."""
    unit = feature_unit(feature, units)
    name = feature_name(feature)
    return f"{name} ({unit})" if unit else name


def format_value(feature: str, value: float | None, unit: str | None = None) -> str:
    """A value in its unit for cards and tables: 86.5 k$, 32 years, 82 / 100, $36,800, 1,250 visits.

    `unit` is the run's own unit of the feature; None falls back to the canonical one (FEATURE_META).
    Numbers and units follow the one rule of `segmentation.ml.formatting`.
    """
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return MISSING
    canonical = FEATURE_META.get(feature, ("", ""))[1]
    unit = canonical if unit is None else unit
    if feature == "spending_score" and unit == canonical:
        return f"{value:.0f} / 100"
    if feature == "gender" and unit == canonical:
        return f"{value * 100:.0f}% female"
    return format_with_unit(value, unit)


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
    """HTML fragment of a figure in a div with the fixed id DIV_IDS[key] (see `render_div`)."""
    return render_div(fig, div_id=DIV_IDS[key])


# "<", ">" and "&" escaped inside the JSON, so no string in a figure (a segment's name, a column's label)
# can close the <script> element or start markup (as Django's json_script does).
_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def render_div(fig: go.Figure, *, div_id: str) -> str:
    """A figure as an empty sized div plus its JSON in a <script type="application/json">.

    The page loads plotly.js once (deferred) and static/js/charts.js, which draws each figure when it
    comes near the viewport (and the rest when the browser is idle), so a page with many charts shows
    its first ones at once. The div keeps the figure's height, so nothing moves when a chart is drawn; the
    plotly config (responsive, no logo) is charts.js's.
    """
    payload = pio.to_json(fig, validate=False).translate(_JSON_ESCAPES)
    height = int(fig.layout.height or 420)
    return (
        f'<div id="{div_id}" class="chart" data-chart="{div_id}-figure" style="width:100%;height:{height}px"></div>'
        f'<script type="application/json" id="{div_id}-figure">{payload}</script>'
    )
