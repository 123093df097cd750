"""The data overview: per-column summaries, text columns, age groups, correlations, the chosen distribution and
scatter matrix, the sample said on the page, and tables of other shapes."""

from __future__ import annotations

import math

import pytest
from django.core.cache import cache
from django.urls import reverse

from customers.imports.service import customer_import
from customers.models import AttributeKind, Customer, CustomerAttribute
from customers.selectors import overview as overview_selectors
from customers.selectors import summaries
from tests import synth

pytestmark = pytest.mark.django_db
URL = reverse("customers:overview")

# external_id, gender, age, income, score, attributes
ROWS = [
    ("C1", "female", 17, 10.0, 90.0, {"visits": 1, "channel": "web"}),
    ("C2", "male", 22, 20.0, 80.0, {"visits": 2, "channel": "web"}),
    ("C3", "female", 30, 30.0, 70.0, {"visits": 3, "channel": "shop"}),
    ("C4", "female", 41, 40.0, 60.0, {"visits": 4, "channel": "web"}),
    ("C5", "male", 58, 50.0, 50.0, {"visits": 5}),
    ("C6", "other", 70, 160.0, None, {"visits": 6, "channel": "phone"}),
    ("C7", "unknown", None, None, 30.0, {}),
]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def known(db):
    CustomerAttribute.objects.create(key="visits", label="Visits", kind=AttributeKind.NUMBER)
    CustomerAttribute.objects.create(key="channel", label="Channel", kind=AttributeKind.TEXT)
    Customer.objects.bulk_create(
        Customer(external_id=e, gender=g, age=a, annual_income=i, spending_score=s, attributes=attrs)
        for e, g, a, i, s, attrs in ROWS
    )


def test_numeric_summaries(known, viewer_client):
    ov = viewer_client.get(URL).context["overview"]
    by_key = {s.key: s for s in ov.numeric}
    income = by_key["annual_income"]
    assert (income.count, income.missing) == (6, 1)
    assert income.mean == pytest.approx(310 / 6)
    assert (income.minimum, income.maximum, income.median) == (10.0, 160.0, 35.0)
    assert income.p5 == pytest.approx(12.5) and income.p95 == pytest.approx(132.5)
    assert income.skew > 1  # one big earner: a long right tail
    assert income.missing_share == pytest.approx(1 / 7)
    visits = by_key["visits"]
    assert (visits.count, visits.missing, visits.mean, visits.skew) == (6, 1, 3.5, 0.0)


def test_text_columns_show_distinct_and_most_common_values(known, viewer_client):
    response = viewer_client.get(URL)
    (channel,) = response.context["overview"].text_summaries
    assert (channel.title, channel.count, channel.missing, channel.distinct) == ("Channel", 5, 2, 3)
    assert channel.top == (("web", 3), ("phone", 1), ("shop", 1))
    html = response.content.decode()
    assert 'id="text-channel"' in html and '<td>web</td><td class="num" data-count="3">3</td>' in html


def test_age_groups(known, viewer_client):
    response = viewer_client.get(URL)
    groups = dict(response.context["overview"].age_groups)
    assert groups == {
        "Under 18": 1,
        "18–24": 1,
        "25–34": 1,
        "35–44": 1,
        "45–54": 0,
        "55–64": 1,
        "65 and over": 1,
    }
    assert 'id="chart-age-groups"' in response.content.decode()


def test_age_groups_leave_out_under_18_when_nobody_is():
    assert [label for label, _ in summaries.age_groups_from({"age_group_0": 0, "age_group_1": 4})][0] == "18–24"


def test_correlation_heatmap_with_coefficients_and_the_strongest_pairs(known, viewer_client):
    response = viewer_client.get(URL)
    corr = response.context["overview"].correlation
    assert corr.keys == ("age", "annual_income", "spending_score", "visits")
    i, j = corr.keys.index("age"), corr.keys.index("visits")
    assert corr.matrix[i][i] == 1.0 and corr.matrix[i][j] == corr.matrix[j][i] > 0.9
    first = corr.pairs[0]
    assert abs(first.r) == max(abs(p.r) for p in corr.pairs)
    assert len(corr.pairs) == 5
    html = response.content.decode()
    assert 'id="chart-correlation"' in html and '"texttemplate":"%{text}"' in html
    assert "Spending score (1–100) and Visits: r = -1.00 (strong, negative)" in html


def test_pair_sentence():
    assert (
        summaries.Pair("Income", "Wines spend", 0.7312).sentence
        == "Income and Wines spend: r = 0.73 (strong, positive)"
    )
    assert summaries.Pair("A", "B", -0.25).sentence == "A and B: r = -0.25 (weak, negative)"
    assert summaries.Pair("A", "B", 0.05).strength == "very weak"
    assert summaries.Pair("A", "B", -0.004).sentence == "A and B: r = 0.00 (very weak, negative)"


def test_any_column_distribution_is_chosen_by_a_select(known, viewer_client):
    default = viewer_client.get(URL)
    assert default.context["choice"].column == "age"
    assert 'id="chart-hist-age"' in default.content.decode()
    visits = viewer_client.get(URL + "?column=visits").content.decode()
    assert 'id="chart-hist-visits"' in visits and 'id="chart-hist-age"' not in visits
    assert '<option value="visits" selected>' in visits
    assert 'id="chart-hist-channel"' in viewer_client.get(URL + "?column=channel").content.decode()
    assert 'id="chart-gender"' in viewer_client.get(URL + "?column=gender").content.decode()


def test_a_bad_column_is_a_note_not_an_error(known, viewer_client):
    response = viewer_client.get(URL + "?column=<script>&matrix=nope&matrix=age")
    assert response.status_code == 200
    notes = response.context["notes"]
    assert "column: '<script>' is not a column of this table; showing 'age'" in notes
    assert "matrix: 'nope' is not a numeric column with values; left out" in notes
    html = response.content.decode()
    assert "<script>'" not in html and "&#x27;&lt;script&gt;&#x27;" in html
    assert response.context["choice"].matrix == ("age",)
    assert response.context["scatter_chart"] == ""  # one column is no matrix


def test_scatter_matrix_shows_the_chosen_columns_at_most_five(known, viewer_client):
    default = viewer_client.get(URL).context["choice"]
    assert default.matrix == ("age", "annual_income", "spending_score", "visits")
    chosen = viewer_client.get(URL + "?matrix=visits&matrix=age")
    assert chosen.context["choice"].matrix == ("visits", "age")
    assert chosen.context["scatter_chart"].count('"label":"Visits"') >= 1
    assert '"label":"Spending score' not in chosen.context["scatter_chart"]

    class Params(dict):
        def getlist(self, key):
            return self.get(key, [])

    ov = overview_selectors.customer_overview()
    many = overview_selectors.overview_choice_parse(params=Params(matrix=["age"] * 2 + ["visits"] * 6), overview=ov)
    assert many.matrix == ("age", "visits")
    ov.histograms = ov.histograms * 2  # pretend there are more numeric columns
    six = [h.feature.key for h in ov.histograms[:4]] + ["x1", "x2"]
    assert len(overview_selectors.overview_choice_parse(params=Params(matrix=six), overview=ov).matrix) == 4


def test_the_page_says_when_charts_come_from_a_sample(db, viewer_client, monkeypatch):
    monkeypatch.setattr(overview_selectors, "SAMPLE_SIZE", 120)
    Customer.objects.bulk_create(
        Customer(external_id=f"S{i:05d}", gender="female", age=18 + i % 50, annual_income=10 + i % 90)
        for i in range(400)
    )
    response = viewer_client.get(URL)
    ov = response.context["overview"]
    assert ov.sampled and ov.sample_size == 120 and ov.rows == 400
    html = response.content.decode()
    assert "Charts drawn from a random sample of 120 of 400 customers" in html
    assert "sample of 120 of 400 customers" in response.context["correlation_chart"]
    assert sum(h.total for h in ov.histograms if h.feature.key == "age") == 120  # drawn from the sample
    assert sum(n for _, n in ov.age_groups) == 400  # counted over everyone
    (age,) = [s for s in ov.numeric if s.key == "age"]
    assert age.count == 400 and age.mean == pytest.approx(sum(18 + i % 50 for i in range(400)) / 400)


def test_small_tables_are_drawn_whole(known, viewer_client):
    html = viewer_client.get(URL).content.decode()
    assert "random sample" not in html and "All 7 customers" in html


# --- tables of other shapes --------------------------------------------------------------------------


def test_a_personality_like_table(tmp_path, viewer_client):
    customer_import(file=synth.personality_tsv(tmp_path / "marketing_campaign.csv", n=300), source="command")
    response = viewer_client.get(URL)
    assert response.status_code == 200
    ov = response.context["overview"]
    texts = {t.key: t for t in ov.text_summaries}
    assert {"education", "marital_status"} <= set(texts)
    assert texts["education"].distinct == 5 and sum(n for _, n in texts["education"].top) == 300
    assert texts["education"].top[0][0] == "Graduation"
    assert len(ov.correlation.keys) >= 10 and len(ov.correlation.pairs) == 5
    assert all(-1 <= p.r <= 1 and not math.isnan(p.r) for p in ov.correlation.pairs)
    html = response.content.decode()
    assert 'id="chart-correlation"' in html and 'id="strongest-pairs"' in html
    assert 'id="text-education"' in html and 'id="text-marital_status"' in html
    assert response.context["choice"].matrix == tuple(h.feature.key for h in ov.histograms[:4])
    education = viewer_client.get(URL + "?column=education")
    assert "Graduation" in education.context["distribution_chart"]


def test_a_wholesale_like_table_without_ids_or_ages(tmp_path, viewer_client):
    customer_import(file=synth.wholesale_csv(tmp_path / "wholesale.csv", n=200), source="command", number_rows=True)
    response = viewer_client.get(URL)
    assert response.status_code == 200
    ov = response.context["overview"]
    assert ov.rows == 200 and ov.age_groups == []
    assert 'id="chart-age-groups"' not in response.content.decode()
    assert len(ov.correlation.keys) >= 6
    numeric = {s.key: s for s in ov.numeric}
    assert numeric["age"].count == 0 and numeric["age"].mean is None
    assert response.context["choice"].column != "age"
    assert viewer_client.get(URL + "?column=age").context["notes"]


def test_correlation_figure_prints_each_coefficient():
    from customers import charts

    fig = charts.correlation_figure(
        titles=["A", "B"], matrix=[[1.0, -0.001], [-0.001, 1.0]], subtitle="all 9 customers"
    )
    heat = fig.data[0]
    assert heat.type == "heatmap" and heat.texttemplate == "%{text}"
    assert [list(r) for r in heat.text] == [["1.00", "0.00"], ["0.00", "1.00"]]
    assert (heat.zmin, heat.zmax) == (-1, 1)
    assert "all 9 customers" in fig.layout.title.text


def test_category_figure_keeps_the_order_given():
    from customers import charts

    fig = charts.category_figure(title="Age groups", axis_title="Age", counts=[("18–24", 2), ("25–34", 6)])
    assert list(fig.data[0].x) == ["18–24", "25–34"] and list(fig.data[0].text) == ["25%", "75%"]
