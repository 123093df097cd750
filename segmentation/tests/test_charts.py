"""Every chart function on its figure's data and layout (not pixels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.ml import charts

PER_K = [
    {
        "k": k,
        "inertia": 1000.0 / k,
        "silhouette": s,
        "calinski_harabasz": 100.0 + k,
        "davies_bouldin": 1.5 - 0.1 * k,
        "stability": None if k == 6 else 0.9,
    }
    for k, s in zip(range(2, 7), [0.30, 0.42, 0.55, 0.50, 0.45], strict=True)
]
SEGMENTS = [
    {
        "label": 0,
        "name": "Low income · Low spending",
        "color": "#2563eb",
        "size": 30,
        "centroid": {"annual_income": 25.0, "spending_score": 20.0},
        "profile": {
            "annual_income": {"mean": 25.0, "median": 24.0, "min": 15.0, "max": 39.0, "z": -1.3},
            "spending_score": {"mean": 20.0, "median": 19.0, "min": 1.0, "max": 40.0, "z": -1.1},
        },
    },
    {
        "label": 1,
        "name": "High income · High spending",
        "color": "#dc2626",
        "size": 20,
        "centroid": {"annual_income": 86.5, "spending_score": 82.0},
        "profile": {
            "annual_income": {"mean": 86.5, "median": 80.0, "min": 69.0, "max": 137.0, "z": 1.2},
            "spending_score": {"mean": 82.0, "median": 83.0, "min": 63.0, "max": 97.0, "z": 1.3},
        },
    },
]
FEATURES = ["annual_income", "spending_score"]


@pytest.fixture
def sample() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    a = pd.DataFrame(
        {
            "annual_income": rng.normal(25, 5, 30),
            "spending_score": rng.normal(20, 5, 30),
            "age": rng.normal(50, 5, 30),
            "label": 0,
        }
    )
    b = pd.DataFrame(
        {
            "annual_income": rng.normal(86, 5, 20),
            "spending_score": rng.normal(82, 5, 20),
            "age": rng.normal(30, 5, 20),
            "label": 1,
        }
    )
    return pd.concat([a, b], ignore_index=True)


def test_feature_labels_in_real_units():
    assert charts.feature_label("annual_income") == "Annual income (k$)"
    assert charts.feature_label("age") == "Age (years)"
    assert charts.feature_label("visits_per_month") == "Visits per month"
    assert charts.format_value("annual_income", 86.54) == "86.5 k$"
    assert charts.format_value("spending_score", 82.2) == "82 / 100"
    assert charts.format_value("age", None) == "—"
    assert charts.format_value("age", 32.0) == "32 years"


@pytest.mark.parametrize(
    ("feature", "value", "unit", "text"),
    [
        ("income", 58_138.4, "$", "$58,138"),
        ("income", -1_250.0, "$", "-$1,250"),
        ("annual_income", 36_800.0, "$", "$36,800"),  # the run's own unit wins over the canonical k$
        ("mnt_wines", 629.04, "", "629"),
        ("visits", 1_234_567.0, "visits", "1,234,567 visits"),
        ("share", 0.0371, "", "0.0371"),
        ("spending_score", 55.0, "points", "55 points"),
        ("income", float("nan"), "$", "—"),
    ],
)
def test_format_value_in_the_run_unit_with_separators_and_no_exponent(feature, value, unit, text):
    assert charts.format_value(feature, value, unit) == text


def test_charts_label_and_format_with_the_run_units():
    units = {"annual_income": "$", "spending_score": "points"}
    segments = [
        {**s, "profile": {f: {**v, "mean": v["mean"] * 1000} for f, v in s["profile"].items()}} for s in SEGMENTS
    ]
    heat = charts.heatmap_figure(segments, FEATURES, units=units)
    assert list(heat.data[0].x) == ["Annual income ($)", "Spending score (points)"]
    assert heat.data[0].text[1][0] == "$86,500" and "e+" not in str(heat.data[0].text)
    html = charts.render(heat, "heatmap")
    assert "k$" not in html and "e+0" not in html
    bars = charts.radar_figure(segments, FEATURES, units=units)  # two features: grouped bars, not a radar
    assert bars.data[0].type == "bar" and bars.data[0].x[0] == "Annual income ($)"


def test_elbow_marks_knee_and_chosen_k():
    fig = charts.elbow_figure(PER_K, knee=3, chosen_k=4)
    names = [t.name for t in fig.data]
    assert names == ["Inertia", "Knee (k = 3)", "Chosen k = 4"]
    assert list(fig.data[0].x) == [2, 3, 4, 5, 6]
    assert fig.data[1].y == (1000.0 / 3,)
    assert fig.data[2].x == (4,)
    assert "Elbow" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "Number of segments (k)"
    assert "Inertia" in fig.layout.yaxis.title.text


def test_elbow_without_knee():
    fig = charts.elbow_figure(PER_K, knee=None, chosen_k=None)
    assert len(fig.data) == 1


def test_criteria_four_panels_with_preferences_and_chosen_line():
    fig = charts.criteria_figure(PER_K, chosen_k=4, preferred={"silhouette": 4, "davies_bouldin": 6})
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in lines] == ["Silhouette", "Calinski–Harabasz", "Davies–Bouldin", "Stability"]
    assert lines[3].y[-1] is None  # missing value stays a gap
    prefs = [t for t in fig.data if t.mode == "markers"]
    assert {t.name for t in prefs} == {"Silhouette prefers k = 4", "Davies–Bouldin prefers k = 6"}
    titles = [a.text for a in fig.layout.annotations]
    assert "Davies–Bouldin (lower is better)" in titles and "chosen k = 4" in titles
    assert any(s.x0 == 4 for s in fig.layout.shapes)


def test_scatter2d_colours_segments_and_draws_centroids(sample):
    fig = charts.scatter2d_figure(sample, x="annual_income", y="spending_score", segments=SEGMENTS, total=5000)
    assert [t.name for t in fig.data] == [
        "Low income · Low spending (#0)",
        "High income · High spending (#1)",
        "Centroids",
    ]
    assert len(fig.data[0].x) == 30 and len(fig.data[1].x) == 20
    assert fig.data[0].marker.color == "#2563eb"
    assert list(fig.data[2].x) == [25.0, 86.5]
    assert "sample of 50 of 5,000 customers" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "Annual income (k$)"
    assert fig.layout.yaxis.title.text == "Spending score (1–100)"
    assert fig.layout.legend.title.text == "Segment"


def test_scatter2d_without_centroid_for_axis(sample):
    fig = charts.scatter2d_figure(sample, x="age", y="spending_score", segments=SEGMENTS, total=50)
    assert [t.name for t in fig.data][-1] != "Centroids"


def test_scatter3d_axes(sample):
    fig = charts.scatter3d_figure(sample, x="age", y="annual_income", z="spending_score", segments=SEGMENTS, total=50)
    assert len(fig.data) == 2 and fig.data[0].type == "scatter3d"
    assert fig.layout.scene.xaxis.title.text == "Age (years)"
    assert fig.layout.scene.zaxis.title.text == "Spending score (1–100)"
    assert "sample of 50 of 50" in fig.layout.title.text


def test_heatmap_z_scores_and_means():
    fig = charts.heatmap_figure(SEGMENTS, FEATURES)
    hm = fig.data[0]
    assert hm.type == "heatmap"
    assert [list(r) for r in hm.z] == [[-1.3, -1.1], [1.2, 1.3]]
    assert list(hm.x) == ["Annual income (k$)", "Spending score (1–100)"]
    assert hm.text[1][0] == "86.5 k$"
    assert hm.zmid == 0
    assert hm.colorbar.title.text == "z-score"


def test_radar_scales_means_to_base_range():
    ages = ({"mean": 45.0, "min": 30.0, "max": 60.0}, {"mean": 30.0, "min": 18.0, "max": 40.0})
    three = [{**s, "profile": {**s["profile"], "age": a}} for s, a in zip(SEGMENTS, ages, strict=True)]
    fig = charts.radar_figure(three, [*FEATURES, "age"])  # a radar needs three features
    assert len(fig.data) == 2
    r0 = fig.data[0].r
    assert r0[0] == pytest.approx((25 - 15) / (137 - 15))
    assert r0[-1] == r0[0]  # closed polygon
    assert fig.layout.polar.radialaxis.range == (0, 1)


def test_box_quartiles_per_segment_and_feature(sample):
    fig = charts.box_figure(sample, features=FEATURES, segments=SEGMENTS)
    assert len(fig.data) == 4
    first = fig.data[0]
    vals = sample.loc[sample.label == 0, "annual_income"]
    assert first.median[0] == pytest.approx(float(np.median(vals)))
    assert first.q1[0] == pytest.approx(float(np.percentile(vals, 25)))
    assert first.showlegend is True and fig.data[2].showlegend is False
    assert [a.text for a in fig.layout.annotations] == ["Annual income (k$)", "Spending score (1–100)"]


def test_silhouette_bands_sorted_within_segment():
    values = np.array([0.1, 0.5, 0.3, 0.9, -0.2])
    labels = np.array([0, 0, 0, 1, 1])
    fig = charts.silhouette_figure(values, labels, segments=SEGMENTS)
    assert list(fig.data[0].x) == [0.5, 0.3, 0.1]
    assert list(fig.data[1].x) == [0.9, -0.2]
    assert fig.layout.xaxis.range == (-1, 1)
    assert any(s.x0 == pytest.approx(values.mean()) for s in fig.layout.shapes)
    assert "sample of 5" in fig.layout.title.text


def test_migration_matrix():
    fig = charts.migration_figure([[10, 2], [0, 7]], rows=["A0", "A1"], cols=["B0", "B1"])
    assert [list(r) for r in fig.data[0].z] == [[10, 2], [0, 7]]
    assert fig.layout.xaxis.title.text == "Later run's segment"


def test_render_uses_fixed_div_id_and_no_bundled_js():
    html = charts.render(charts.heatmap_figure(SEGMENTS, FEATURES), "heatmap")
    assert 'id="chart-heatmap"' in html
    assert "cdn.plot.ly" not in html and len(html) < 100_000
