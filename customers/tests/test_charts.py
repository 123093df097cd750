"""Overview figures: data and layout, not pixels."""

from __future__ import annotations

import math

import pytest

from customers import charts


def test_histogram_from_bins():
    fig = charts.histogram_figure(
        title="Age: distribution", axis_title="Age (years)", edges=[15, 20, 25, 30], counts=[4, 0, 9]
    )
    (bar,) = fig.data
    assert list(bar.x) == [17.5, 22.5, 27.5]
    assert list(bar.y) == [4, 0, 9]
    assert list(bar.width) == [5, 5, 5]
    assert list(bar.customdata) == ["15 – 20", "20 – 25", "25 – 30"]
    assert fig.layout.title.text == "Age: distribution"
    assert fig.layout.xaxis.title.text == "Age (years)"
    assert fig.layout.yaxis.title.text == "Customers"
    assert fig.layout.bargap == 0


def test_histogram_rejects_mismatched_edges():
    with pytest.raises(ValueError, match="edges: expected 3 values for 2 bins; got 2"):
        charts.histogram_figure(title="t", axis_title="x", edges=[0, 1], counts=[1, 2])


def test_gender_bars_only_for_present_genders_with_shares():
    fig = charts.gender_figure(counts={"female": 112, "male": 88, "other": 0, "unknown": 0})
    (bar,) = fig.data
    assert list(bar.x) == ["Female", "Male"]
    assert list(bar.y) == [112, 88]
    assert list(bar.text) == ["56%", "44%"]
    assert list(bar.marker.color) == [charts.GENDER_COLORS["female"], charts.GENDER_COLORS["male"]]
    assert fig.layout.xaxis.title.text == "Gender"
    assert fig.layout.yaxis.range[1] > 112


def test_gender_bars_when_empty():
    fig = charts.gender_figure(counts={})
    assert list(fig.data[0].x) == ["Female", "Male", "Other", "Unknown"]


def test_missing_values_as_share_of_rows():
    fig = charts.missing_figure(missing=[("Gender", 5), ("Age (years)", 0)], rows=50)
    (bar,) = fig.data
    assert list(bar.y) == ["Gender", "Age (years)"]
    assert list(bar.x) == [10.0, 0.0]
    assert list(bar.customdata) == [5, 0]
    assert fig.layout.xaxis.title.text == "Missing (% of rows)"


def _sample():
    columns = [
        ("age", "Age (years)"),
        ("annual_income", "Annual income (k$)"),
        ("spending_score", "Spending score (1–100)"),
    ]
    values = {
        "age": [20, 30, 40, 50],
        "annual_income": [15, 40, None, 90],
        "spending_score": [80, 50, 20, 10],
    }
    return columns, values, ["female", "male", "female", "unknown"]


def test_scatter_matrix_one_trace_per_gender_with_units():
    columns, values, genders = _sample()
    fig = charts.scatter_matrix_figure(columns=columns, values=values, genders=genders, total=4)
    assert [t.name for t in fig.data] == ["Female", "Male", "Unknown"]
    female = fig.data[0]
    assert [d.label for d in female.dimensions] == ["Age (years)", "Annual income (k$)", "Spending score (1–100)"]
    assert list(female.dimensions[0].values) == [20, 40]
    assert female.dimensions[1].values[0] == 15 and math.isnan(female.dimensions[1].values[1])
    assert female.marker.color == charts.GENDER_COLORS["female"]
    assert fig.layout.legend.title.text.strip() == "Gender"
    assert "all 4 customers" in fig.layout.title.text


def test_scatter_matrix_says_it_is_a_sample():
    columns, values, genders = _sample()
    fig = charts.scatter_matrix_figure(columns=columns, values=values, genders=genders, total=1_000_000)
    assert "sample of 4 of 1,000,000 customers" in fig.layout.title.text


def test_figure_html_has_fixed_div_and_no_bundle():
    fig = charts.gender_figure(counts={"female": 1})
    html = charts.figure_html(fig, div_id=charts.GENDER_DIV_ID)
    assert 'id="chart-gender"' in html
    assert len(html) < 20_000  # plotly.js itself is served once per page, not inlined
    assert charts.histogram_div_id("Detergents Paper") == "chart-hist-detergents-paper"
