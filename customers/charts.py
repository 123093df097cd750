"""Figures of the data overview. Pure: data in, `plotly.graph_objects.Figure` out; no Django.

Each figure has a fixed div id (`*_DIV_ID` below, `histogram_div_id(key)`) so pages render the
same markup every time and tests and browser checks can find the charts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from segmentation.ml.charts.base import render_div
from segmentation.ml.formatting import format_number

GENDER_DIV_ID = "chart-gender"
SCATTER_DIV_ID = "chart-scatter-matrix"
MISSING_DIV_ID = "chart-missing"
AGE_GROUPS_DIV_ID = "chart-age-groups"
CORRELATION_DIV_ID = "chart-correlation"

#: Colours per gender, the same on every chart.
GENDER_COLORS: dict[str, str] = {
    "female": "#d9467a",
    "male": "#2563eb",
    "other": "#7c3aed",
    "unknown": "#9aa5b1",
}
GENDER_LABELS: dict[str, str] = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"}
BAR_COLOR = "#2563eb"

_AXIS = {"gridcolor": "#e5e9f0", "zerolinecolor": "#d9e2ec", "linecolor": "#d9e2ec", "automargin": True}
#: A small template of our own: the stock ones cost ~50 ms per figure to apply.
TEMPLATE = go.layout.Template(
    layout={
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "colorway": [BAR_COLOR, "#d9467a", "#047857", "#b45309", "#7c3aed", "#0891b2"],
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "hoverlabel": {"font": {"size": 13}},
        "title": {"x": 0.02, "xanchor": "left", "font": {"size": 16, "color": "#1f2933"}},
    }
)
_LAYOUT = {
    "template": TEMPLATE,
    "margin": {"l": 60, "r": 20, "t": 60, "b": 55},
    "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
}


def histogram_div_id(key: str) -> str:
    return "chart-hist-" + re.sub(r"[^a-z0-9_-]", "-", key.lower())


def histogram_figure(
    *,
    title: str,
    axis_title: str,
    edges: Sequence[float],
    counts: Sequence[int],
    y_title: str = "Customers",
) -> go.Figure:
    """A histogram from pre-computed bins: `edges` has one more item than `counts`."""
    if len(edges) != len(counts) + 1:
        raise ValueError(f"edges: expected {len(counts) + 1} values for {len(counts)} bins; got {len(edges)}")
    centers = [(edges[i] + edges[i + 1]) / 2 for i in range(len(counts))]
    widths = [edges[i + 1] - edges[i] for i in range(len(counts))]
    ranges = [f"{_num(edges[i])} – {_num(edges[i + 1])}" for i in range(len(counts))]
    fig = go.Figure(
        go.Bar(
            x=centers,
            y=list(counts),
            width=widths,
            customdata=ranges,
            marker={"color": BAR_COLOR, "line": {"color": "#fff", "width": 1}},
            name="Customers",
            hovertemplate="%{customdata}: %{y:,} customers<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": title},
        xaxis={"title": {"text": axis_title}, "separatethousands": True, "exponentformat": "none"},
        yaxis_title=y_title,
        bargap=0,
        showlegend=False,
        height=340,
        **_LAYOUT,
    )
    return fig


def gender_figure(*, counts: Mapping[str, int]) -> go.Figure:
    """Customers per gender, one bar per gender present (or every gender when all are zero)."""
    keys = [g for g in GENDER_LABELS if counts.get(g)] or list(GENDER_LABELS)
    total = sum(counts.get(g, 0) for g in keys) or 1
    fig = go.Figure(
        go.Bar(
            x=[GENDER_LABELS[g] for g in keys],
            y=[counts.get(g, 0) for g in keys],
            marker={"color": [GENDER_COLORS[g] for g in keys]},
            text=[f"{counts.get(g, 0) / total:.0%}" for g in keys],
            textposition="outside",
            cliponaxis=False,
            name="Customers",
            hovertemplate="%{x}: %{y:,} customers<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": "Gender split"},
        xaxis_title="Gender",
        yaxis_title="Customers",
        yaxis_range=[0, max([counts.get(g, 0) for g in keys] + [1]) * 1.15],
        showlegend=False,
        height=340,
        **_LAYOUT,
    )
    return fig


def category_figure(
    *, title: str, axis_title: str, counts: Sequence[tuple[str, int]], y_title: str = "Customers"
) -> go.Figure:
    """Customers per category (age group, or a text column's most common values), in the given order."""
    labels = [label for label, _ in counts]
    values = [n for _, n in counts]
    total = sum(values) or 1
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=values,
            marker={"color": BAR_COLOR},
            text=[f"{n / total:.0%}" for n in values],
            textposition="outside",
            cliponaxis=False,
            name="Customers",
            hovertemplate="%{x}: %{y:,} customers<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": title},
        xaxis={"title": {"text": axis_title}, "type": "category"},
        yaxis_title=y_title,
        yaxis_range=[0, max(values + [1]) * 1.15],
        showlegend=False,
        height=340,
        **_LAYOUT,
    )
    return fig


def correlation_figure(*, titles: Sequence[str], matrix: Sequence[Sequence[float | None]], subtitle: str) -> go.Figure:
    """A heatmap of Pearson r between columns, each cell printed with its coefficient (blank: too few values)."""
    z = [[None if v is None else float(v) for v in row] for row in matrix]
    text = [["" if v is None else f"{round(v, 2) + 0.0:.2f}" for v in row] for row in matrix]  # never "-0.00"
    n = len(titles)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(titles),
            y=list(titles),
            text=text,
            texttemplate="%{text}",
            textfont={"size": 12 if n <= 10 else 9},
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            colorbar={"title": {"text": "r"}, "thickness": 12},
            hovertemplate="%{y} and %{x}: r = %{z:.2f}<extra></extra>",
            hoverongaps=False,
        )
    )
    fig.update_layout(
        title={"text": f"Correlation between numeric columns<br><sup>{subtitle}</sup>"},
        xaxis={"tickangle": -45, "showgrid": False},
        yaxis={"autorange": "reversed", "showgrid": False},
        height=min(max(360, 140 + 34 * n), 1000),
        **_LAYOUT,
    )
    fig.update_layout(margin={"t": 80})
    return fig


def missing_figure(*, missing: Sequence[tuple[str, int]], rows: int) -> go.Figure:
    """Missing values per column, as a share of all rows (horizontal bars)."""
    labels = [label for label, _ in missing]
    values = [n for _, n in missing]
    shares = [(n / rows * 100) if rows else 0 for n in values]
    fig = go.Figure(
        go.Bar(
            x=shares,
            y=labels,
            orientation="h",
            customdata=values,
            marker={"color": "#b45309"},
            name="Missing",
            hovertemplate="%{y}: %{customdata:,} missing (%{x:.1f}%)<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": "Missing values per column"},
        xaxis_title="Missing (% of rows)",
        xaxis_range=[0, max(100, max(shares, default=0))],
        yaxis={"autorange": "reversed"},
        showlegend=False,
        height=max(220, 60 + 32 * len(labels)),
        **_LAYOUT,
    )
    return fig


def scatter_matrix_figure(
    *,
    columns: Sequence[tuple[str, str]],
    values: Mapping[str, Sequence[float | None]],
    genders: Sequence[str],
    total: int,
) -> go.Figure:
    """A pairwise scatter matrix of `columns` ((key, axis title) pairs), one trace per gender.

    `values[key]` and `genders` are the sampled rows; `total` is the number of customers they were drawn
    from, shown in the title ("sample of N of M customers") when the sample is smaller.
    """
    n = len(genders)
    gender_array = np.asarray(genders, dtype=object)
    # Float arrays (missing values as NaN) keep plotly fast and the page small (typed arrays).
    arrays = {key: np.array([np.nan if v is None else v for v in values[key]], dtype=float) for key, _ in columns}
    fig = go.Figure()
    for gender, label in GENDER_LABELS.items():
        mask = gender_array == gender
        if not mask.any():
            continue
        fig.add_trace(
            go.Splom(
                dimensions=[{"label": title, "values": arrays[key][mask]} for key, title in columns],
                name=label,
                legendgroup=gender,
                showupperhalf=False,
                diagonal={"visible": False},
                marker={"color": GENDER_COLORS[gender], "size": 4, "opacity": 0.6, "line": {"width": 0}},
            )
        )
    if n < total:
        subtitle = f"sample of {n:,} of {total:,} customers"
    else:
        subtitle = f"all {total:,} customers"
    size = 220 * max(len(columns), 2)
    fig.update_layout(
        title={"text": f"Pairwise scatter matrix, coloured by gender<br><sup>{subtitle}</sup>"},
        legend={
            "title": {"text": "Gender "},
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": 1.0,
            "yanchor": "bottom",
            "itemsizing": "constant",
        },
        dragmode="select",
        hovermode="closest",
        height=min(max(size, 480), 900),
        **_LAYOUT,
    )
    fig.update_layout(margin={"l": 90, "b": 80, "t": 110})
    return fig


def figure_html(fig: go.Figure, *, div_id: str) -> str:
    """The figure as an HTML fragment drawn by static/js/charts.js (the page loads plotly.js once)."""
    return render_div(fig, div_id=div_id)


def _num(x: float) -> str:
    return format_number(x)


# Lifetime value and purchases (the lifetime-value page and the data overview's purchase charts).
VALUE_HOLDOUT_DIV_ID = "chart-value-holdout"
VALUE_P_ALIVE_DIV_ID = "chart-value-p-alive"
VALUE_EXPECTED_DIV_ID = "chart-value-expected"
ORDERS_MONTH_DIV_ID = "chart-orders-month"
REVENUE_COUNTRY_DIV_ID = "chart-revenue-country"
TOP_PRODUCTS_DIV_ID = "chart-top-products"
ACTUAL_COLOR, MODEL_COLOR, NAIVE_COLOR = "#1f2933", BAR_COLOR, "#b45309"
LABEL_MAX = 32  # characters of a bar label on the axis


def holdout_frequency_figure(*, groups: Sequence[Mapping], model: str = "BG/NBD") -> go.Figure:
    """Mean holdout purchases per calibration frequency group: actual beside the model and the naive rate.

    `groups`: dicts with x (group label), customers, actual, predicted, naive (as stored by a fit)."""
    labels = [str(g["x"]) for g in groups]
    customers = [int(g["customers"]) for g in groups]
    fig = go.Figure()
    for key, name, color, dash in (
        ("actual", "Actual", ACTUAL_COLOR, "solid"),
        ("predicted", model, MODEL_COLOR, "dash"),
        ("naive", "Naive rate", NAIVE_COLOR, "dot"),
    ):
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=[float(g[key]) for g in groups],
                customdata=customers,
                mode="lines+markers",
                name=name,
                line={"color": color, "dash": dash},
                hovertemplate=f"{name}: %{{y:.2f}} purchases per customer (x = %{{x}}, %{{customdata:,}} customers)"
                "<extra></extra>",
            )
        )
    fig.update_layout(
        title={"text": "Holdout purchases per customer by calibration repeat purchases"},
        xaxis={"title": {"text": "Repeat purchases in the calibration period"}, "type": "category"},
        yaxis_title="Mean purchases in the holdout",
        legend={"orientation": "h", "y": -0.25},
        height=360,
        **_LAYOUT,
    )
    return fig


def binned_figure(
    *, title: str, axis_title: str, edges: Sequence[float], counts: Sequence[int], y_title: str = "Customers"
) -> go.Figure:
    """Customers per pre-computed bin drawn as categories ("0 – 0.78", ...): for unequal (log) bins."""
    if len(edges) != len(counts) + 1:
        raise ValueError(f"edges: expected {len(counts) + 1} values for {len(counts)} bins; got {len(edges)}")
    labels = [f"{_num(edges[i])} – {_num(edges[i + 1])}" for i in range(len(counts))]
    return category_figure(
        title=title, axis_title=axis_title, counts=list(zip(labels, counts, strict=True)), y_title=y_title
    )


def orders_month_figure(*, months: Sequence[str], orders: Sequence[int], revenue: Sequence[float]) -> go.Figure:
    """Orders per month (bars) and net revenue (line, right axis); `months` as "YYYY-MM"."""
    fig = go.Figure(
        [
            go.Bar(
                x=list(months),
                y=list(orders),
                name="Orders",
                marker={"color": BAR_COLOR},
                hovertemplate="%{x}: %{y:,} orders<extra></extra>",
            ),
            go.Scatter(
                x=list(months),
                y=[float(v) for v in revenue],
                name="Net revenue",
                yaxis="y2",
                mode="lines+markers",
                line={"color": NAIVE_COLOR},
                hovertemplate="%{x}: %{y:,.0f} net revenue<extra></extra>",
            ),
        ]
    )
    fig.update_layout(
        title={"text": "Orders and net revenue per month"},
        xaxis={"title": {"text": "Month"}, "type": "category"},
        yaxis_title="Orders",
        yaxis2={"title": {"text": "Net revenue"}, "overlaying": "y", "side": "right", "showgrid": False},
        legend={"orientation": "h", "y": -0.25},
        height=360,
        **_LAYOUT,
    )
    return fig


def ranked_bar_figure(
    *, title: str, labels: Sequence[str], values: Sequence[float], value_title: str, height: int = 380
) -> go.Figure:
    """Horizontal bars, the largest on top (revenue by country, top products); long labels are shortened on
    the axis (the hover shows them whole)."""
    short = [label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1] + "…" for label in labels]
    fig = go.Figure(
        go.Bar(
            x=[float(v) for v in values][::-1],
            y=short[::-1],
            customdata=list(labels)[::-1],
            orientation="h",
            marker={"color": BAR_COLOR},
            hovertemplate="%{customdata}: %{x:,.0f}<extra></extra>",
            name=value_title,
        )
    )
    fig.update_layout(
        title={"text": title},
        xaxis_title=value_title,
        yaxis={"type": "category", "automargin": True},
        showlegend=False,
        height=height,
        **_LAYOUT,
    )
    return fig
