"""Customer pages: list (search, filter, sort, paginate), detail, data overview; every persona."""

from __future__ import annotations

import re
import threading

import pytest
from django.urls import reverse

from customers.models import AttributeKind, Customer, CustomerAttribute
from customers.selectors import overview

pytestmark = pytest.mark.django_db

# external_id, gender, age, income, score, attributes
ROWS = [
    ("C001", "female", 25, 15.0, 39.0, {"visits": 3, "channel": "web"}),
    ("C002", "male", 35, 16.0, 81.0, {"visits": 7}),
    ("C003", "female", 45, None, 6.0, {"visits": 1}),
    ("C004", "unknown", None, 20.0, 77.0, {}),
    ("C005", "male", 60, 80.0, None, {"visits": 12}),
    ("X010", "female", 30, 50.0, 50.0, {"visits": 5, "first_seen": "2024-03-01"}),
]


@pytest.fixture
def known(db):
    CustomerAttribute.objects.create(key="visits", label="Visits", kind=AttributeKind.NUMBER)
    CustomerAttribute.objects.create(key="channel", label="Channel", kind=AttributeKind.TEXT)
    CustomerAttribute.objects.create(key="first_seen", label="First seen", kind=AttributeKind.DATE)
    Customer.objects.bulk_create(
        Customer(external_id=e, gender=g, age=a, annual_income=i, spending_score=s, attributes=attrs)
        for e, g, a, i, s, attrs in ROWS
    )
    return {c.external_id: c for c in Customer.objects.all()}


def ids_in(response) -> list[str]:
    return [c.external_id for c in response.context["customers"]]


PAGES = [
    ("customers:list", {}),
    ("customers:overview", {}),
    ("customers:detail", {"external_id": "C001"}),
]


# --- who may see the pages -------------------------------------------------------------------


@pytest.mark.parametrize("name,kwargs", PAGES)
def test_anonymous_is_sent_to_login(known, anon_client, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    response = anon_client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("name,kwargs", PAGES)
@pytest.mark.parametrize("persona", ["viewer_client", "marketer_client", "admin_client"])
def test_every_role_may_read(known, request, persona, name, kwargs):
    client = request.getfixturevalue(persona)
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 200


@pytest.mark.parametrize("name,kwargs", PAGES)
def test_user_without_a_role_is_refused(known, outsider_user, client, name, kwargs):
    client.force_login(outsider_user)
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 403


def test_nav_links_every_area(viewer_client):
    html = viewer_client.get(reverse("customers:list")).content.decode()
    for href, label in [
        ("/", "Dashboard"),
        ("/customers/", "Customers"),
        ("/customers/overview/", "Data overview"),
        ("/customers/imports/", "Imports"),
        ("/campaigns/", "Campaigns"),
    ]:
        assert re.search(rf'<a href="{re.escape(href)}"[^>]*>{label}</a>', html), label


# --- the list ----------------------------------------------------------------------------------


def test_list_shows_customers_sorted_by_id(known, viewer_client):
    response = viewer_client.get("/customers/")
    assert ids_in(response) == ["C001", "C002", "C003", "C004", "C005", "X010"]
    assert b"6 customers" in response.content
    assert response.context["notes"] == []


def test_search_contains_and_prefix(known, viewer_client):
    assert ids_in(viewer_client.get("/customers/?q=01")) == ["C001", "X010"]
    assert ids_in(viewer_client.get("/customers/?q=c00")) == ["C001", "C002", "C003", "C004", "C005"]
    assert ids_in(viewer_client.get("/customers/?q=X&match=prefix")) == ["X010"]
    assert ids_in(viewer_client.get("/customers/?q=01&match=prefix")) == []


def test_filter_by_gender_and_age_range(known, marketer_client):
    assert ids_in(marketer_client.get("/customers/?gender=female")) == ["C001", "C003", "X010"]
    assert ids_in(marketer_client.get("/customers/?age_min=30&age_max=45")) == ["C002", "C003", "X010"]
    assert ids_in(marketer_client.get("/customers/?gender=male&age_min=40")) == ["C005"]
    assert ids_in(marketer_client.get("/customers/?age_max=25")) == ["C001"]


@pytest.mark.parametrize(
    "sort,expected",
    [
        ("id", ["C001", "C002", "C003", "C004", "C005", "X010"]),
        ("-id", ["X010", "C005", "C004", "C003", "C002", "C001"]),
        ("age", ["C001", "X010", "C002", "C003", "C005", "C004"]),  # missing age last
        ("-age", ["C005", "C003", "C002", "X010", "C001", "C004"]),  # missing age last too
        ("income", ["C001", "C002", "C004", "X010", "C005", "C003"]),
        ("-score", ["C002", "C004", "X010", "C001", "C003", "C005"]),
        ("gender", ["C001", "C003", "X010", "C002", "C005", "C004"]),  # ties by row order
    ],
)
def test_sort_by_any_column(known, viewer_client, sort, expected):
    assert ids_in(viewer_client.get(f"/customers/?sort={sort}")) == expected


def test_sort_by_updated(known, viewer_client):
    Customer.objects.filter(external_id="C003").update(age=46)  # update() leaves updated_at alone
    c = Customer.objects.get(external_id="C003")
    c.save()  # now the most recently updated
    assert ids_in(viewer_client.get("/customers/?sort=-updated"))[0] == "C003"


def test_bad_query_values_are_ignored_with_a_note(known, viewer_client):
    response = viewer_client.get("/customers/?gender=robot&age_min=abc&age_max=300&sort=shoe_size&match=fuzzy&page=zz")
    assert response.status_code == 200
    assert ids_in(response) == ["C001", "C002", "C003", "C004", "C005", "X010"]
    notes = " | ".join(response.context["notes"])
    assert "gender: expected one of female, male, other, unknown; got 'robot'" in notes
    assert "age_min: 'abc' is not a whole number" in notes
    assert "age_max: 300 is outside 0–120" in notes
    assert "sort: expected one of id, gender, age, income, score, updated" in notes
    assert "match: expected one of contains, prefix" in notes
    assert "page: 'zz' does not exist" in notes
    assert b'id="query-notes"' in response.content


def test_swapped_age_range_is_swapped_with_a_note(known, viewer_client):
    response = viewer_client.get("/customers/?age_min=45&age_max=30")
    assert ids_in(response) == ["C002", "C003", "X010"]
    assert "swapped" in response.context["notes"][0]


def test_sort_links_keep_filters_and_toggle_direction(known, viewer_client):
    response = viewer_client.get("/customers/?gender=female&sort=age")
    columns = {c["key"]: c for c in response.context["columns"]}
    assert columns["age"]["params"] == {"gender": "female", "sort": "-age"}
    assert columns["income"]["params"] == {"gender": "female", "sort": "income"}
    assert columns["age"]["aria_sort"] == "ascending"


def test_pagination_50_per_page(db, viewer_client):
    Customer.objects.bulk_create(Customer(external_id=f"P{i:04d}", age=20 + i % 50) for i in range(120))
    page1 = viewer_client.get("/customers/")
    assert len(ids_in(page1)) == 50 and ids_in(page1)[0] == "P0000"
    page3 = viewer_client.get("/customers/?page=3")
    assert ids_in(page3) == [f"P{i:04d}" for i in range(100, 120)]
    assert b"Page 3 of 3" in page3.content
    filtered = viewer_client.get("/customers/?age_min=69&page=1")
    assert len(ids_in(filtered)) == 2  # P0049 and P0099: no page count over the whole table needed
    beyond = viewer_client.get("/customers/?page=99")
    assert ids_in(beyond) == ids_in(page3)


def test_no_matches_is_not_the_empty_database(known, viewer_client):
    response = viewer_client.get("/customers/?q=nobody")
    assert b'id="no-matches"' in response.content
    assert b'id="empty-state"' not in response.content


def test_empty_database_list_and_overview(db, viewer_client, marketer_client):
    for url in ("/customers/", "/customers/overview/"):
        response = viewer_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="empty-state"' in html
        assert 'href="/customers/imports/"' in html
        assert 'href="/customers/import/"' not in html  # a Viewer cannot import
    assert b"plotly" not in viewer_client.get("/customers/overview/").content
    assert b'href="/customers/import/"' in marketer_client.get("/customers/").content


# --- detail -------------------------------------------------------------------------------------


def test_detail_shows_fields_and_typed_attributes(known, viewer_client):
    response = viewer_client.get("/customers/id/X010/")
    html = response.content.decode()
    assert "Customer X010" in html
    assert "50 k$" in html and "30 years" in html
    attrs = {a.key: a for a in response.context["attributes"]}
    assert attrs["visits"].kind == "number" and attrs["visits"].value == 5
    assert attrs["first_seen"].value.isoformat() == "2024-03-01"
    assert attrs["channel"].value is None  # in the schema, not set for this customer
    assert "2024-03-01" in html and "Visits" in html
    assert 'id="no-segments"' in html


def test_detail_missing_values_are_said_so(known, viewer_client):
    html = viewer_client.get("/customers/id/C004/").content.decode()
    assert "missing" in html
    assert "Unknown" in html


def test_detail_unknown_id_is_404(known, viewer_client):
    assert viewer_client.get("/customers/id/NOPE/").status_code == 404


def test_detail_id_with_slash_and_space(db, viewer_client):
    Customer.objects.create(external_id="A/7 b", age=40)
    url = reverse("customers:detail", kwargs={"external_id": "A/7 b"})
    response = viewer_client.get(url)
    assert response.status_code == 200
    assert b"Customer A/7 b" in response.content


# --- the data overview --------------------------------------------------------------------------


def test_overview_numbers_on_a_known_dataset(known, viewer_client):
    response = viewer_client.get("/customers/overview/")
    ov = response.context["overview"]
    assert ov.rows == 6
    assert dict(ov.missing) == {
        "Gender": 1,
        "Age (years)": 1,
        "Annual income (k$)": 1,
        "Spending score (1–100)": 1,
        "Visits": 1,
        "Channel": 5,
    }
    assert ov.genders == {"female": 3, "male": 2, "other": 0, "unknown": 1}
    hists = {h.feature.key: h for h in ov.histograms}
    assert set(hists) == {"age", "annual_income", "spending_score", "visits"}
    assert hists["age"].total == 5 and hists["annual_income"].total == 5 and hists["visits"].total == 5
    # every value lands in the bin whose edges hold it
    ages = [25, 35, 45, 60, 30]
    h = hists["age"]
    for age in ages:
        i = next(i for i in range(len(h.counts)) if h.edges[i] <= age < h.edges[i + 1])
        assert h.counts[i] >= 1
    assert ov.sample_size == 6


def test_overview_page_renders_every_chart_once_with_plotly_once(known, viewer_client):
    html = viewer_client.get("/customers/overview/").content.decode()
    assert html.count("/static/vendor/plotly/plotly-segmenta.min.js") == 1
    for div_id in ("chart-scatter-matrix", "chart-hist-age", "chart-correlation", "chart-age-groups"):
        assert html.count(f'id="{div_id}"') == 1, div_id
    assert 'id="chart-hist-visits"' not in html  # one distribution at a time: the chosen column's
    assert "All 6 customers" in html
    assert 'data-missing="1"' in html
    assert 'id="stat-rows"' in html


def test_overview_says_when_the_scatter_is_a_sample(db, viewer_client, settings):
    Customer.objects.bulk_create(
        Customer(
            external_id=f"S{i:05d}",
            gender="female" if i % 3 else "male",
            age=20 + i % 40,
            annual_income=10 + i % 90,
            spending_score=1 + i % 100,
        )
        for i in range(400)
    )
    ov = overview.customer_overview(sample_size=120)
    assert ov.rows == 400 and ov.sample_size == 120
    assert len(ov.sample["age"]) == 120 and len(ov.sample["gender"]) == 120


def test_sample_ids_are_fixed_by_seed_and_bounded(db):
    Customer.objects.bulk_create(Customer(external_id=f"S{i:05d}") for i in range(500))
    Customer.objects.filter(external_id__endswith="3").delete()  # gaps in the ids
    a = overview.overview_sample_ids(size=100, seed=7)
    b = overview.overview_sample_ids(size=100, seed=7)
    c = overview.overview_sample_ids(size=100, seed=8)
    assert a == b and a != c
    assert len(a) == 100 and len(set(a)) == 100
    assert set(a) <= set(Customer.objects.values_list("pk", flat=True))
    assert overview.overview_sample_ids(size=1000, seed=7) == sorted(Customer.objects.values_list("pk", flat=True))


@pytest.mark.parametrize(
    "lo,hi,integer,start,width",
    [
        (18, 70, True, 15, 5),
        (15, 137, False, 10, 10),
        (1, 99, False, 0, 5),
        (0.1, 0.9, False, 0.1, 0.05),
        (5, 5, False, 5, 1),
    ],
)
def test_nice_bins_cover_the_range(lo, hi, integer, start, width):
    s, w, n = overview.nice_bins(lo, hi, integer=integer)
    assert s == pytest.approx(start) and w == pytest.approx(width)
    assert s <= lo and s + n * w > hi
    assert n <= 21


def test_descending_sort_with_and_without_missing_values(db, viewer_client):
    Customer.objects.bulk_create(Customer(external_id=f"D{i}", annual_income=float(i)) for i in range(1, 5))
    assert ids_in(viewer_client.get("/customers/?sort=-income")) == ["D4", "D3", "D2", "D1"]
    Customer.objects.create(external_id="D0")  # no income
    assert ids_in(viewer_client.get("/customers/?sort=-income")) == ["D4", "D3", "D2", "D1", "D0"]
    assert ids_in(viewer_client.get("/customers/?sort=income")) == ["D1", "D2", "D3", "D4", "D0"]


def test_filtered_count_is_capped_with_a_note(db, viewer_client, monkeypatch):
    from customers import views

    monkeypatch.setattr(views, "COUNT_CAP", 60)
    Customer.objects.bulk_create(Customer(external_id=f"P{i:04d}", age=30) for i in range(120))
    response = viewer_client.get("/customers/?age_min=20")
    assert response.context["capped"]
    assert b'id="capped-note"' in response.content
    assert b"more than 60 customers match" in response.content
    assert len(ids_in(response)) == 50
    few = viewer_client.get("/customers/?q=P000")  # one page of matches: counted from the page itself
    assert not few.context["capped"] and ids_in(few) == [f"P000{i}" for i in range(10)]
    assert b"10 customers match" in few.content


def test_overview_follows_changes_to_the_data(known, viewer_client):
    first = viewer_client.get("/customers/overview/").context["overview"]
    again = viewer_client.get("/customers/overview/").context["overview"]
    assert again.fingerprint == first.fingerprint
    Customer.objects.filter(external_id="C005").update(annual_income=81.0)  # no signal, no timestamp
    changed = viewer_client.get("/customers/overview/").context["overview"]
    assert changed.fingerprint != first.fingerprint
    assert 81.0 in changed.sample["annual_income"] and 80.0 not in changed.sample["annual_income"]


def test_overview_second_visit_reuses_the_sample_and_text_counts(known, viewer_client):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()  # identical data in an earlier test may have filled it
    with CaptureQueriesContext(connection) as first:
        viewer_client.get("/customers/overview/")
    assert not any("FLOOR" in q["sql"].upper() for q in first.captured_queries)  # histograms from the sample
    assert sum("GROUP BY" in q["sql"].upper() for q in first.captured_queries) == 1  # the text column's values
    with CaptureQueriesContext(connection) as second:
        response = viewer_client.get("/customers/overview/")
    assert not any("GROUP BY" in q["sql"].upper() for q in second.captured_queries)
    assert response.context["overview"].histograms
    assert b'id="chart-hist-age"' in response.content


# --- the Mall table and a real browser ------------------------------------------------------------


def _load_mall(path) -> None:
    """The Mall table straight into the model (the importer has its own tests)."""
    import pandas as pd

    frame = pd.read_csv(path, dtype={"CustomerID": str})
    Customer.objects.bulk_create(
        Customer(
            external_id=row["CustomerID"],
            gender=row["Genre"].lower(),
            age=int(row["Age"]),
            annual_income=float(row["Annual Income (k$)"]),
            spending_score=float(row["Spending Score (1-100)"]),
        )
        for _, row in frame.iterrows()
    )


@pytest.mark.datasets
def test_overview_of_the_mall_table(mall_csv, viewer_client):
    _load_mall(mall_csv)
    response = viewer_client.get("/customers/overview/")
    ov = response.context["overview"]
    assert ov.rows == 200
    assert ov.genders["female"] == 112 and ov.genders["male"] == 88
    assert all(n == 0 for _, n in ov.missing)
    hists = {h.feature.key: h for h in ov.histograms}
    assert hists["annual_income"].total == 200 and hists["spending_score"].total == 200
    assert hists["age"].edges[0] <= 18 and hists["age"].edges[-1] > 70
    assert "All 200 customers" in response.content.decode()
    listing = viewer_client.get("/customers/?sort=-income&gender=female")
    assert [c.annual_income for c in listing.context["customers"]][:2] == [126.0, 120.0]


def _chromium() -> str:
    import os
    import shutil

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI")
        pytest.skip("no Chromium installed")
    return path


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_overview_charts_render_in_a_browser(live_server, viewer_user):
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    Customer.objects.bulk_create(
        Customer(
            external_id=f"B{i:03d}",
            gender="female" if i % 2 else "male",
            age=20 + i % 50,
            annual_income=15 + i % 100,
            spending_score=1 + i % 100,
        )
        for i in range(300)
    )

    def journey() -> None:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            try:
                for width, height in ((1280, 800), (390, 844)):
                    page = browser.new_page(viewport={"width": width, "height": height})
                    errors: list[str] = []
                    page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                    page.goto(f"{live_server.url}/accounts/login/?next=/customers/overview/")
                    page.fill("#id_username", viewer_user.username)
                    page.fill("#id_password", "pw-" + viewer_user.username)
                    page.click("button[type=submit]")
                    page.wait_for_selector("#chart-scatter-matrix .main-svg", timeout=20_000)
                    # age groups, the chosen distribution, correlations, scatter matrix
                    assert page.locator(".plot-container").count() == 4
                    assert page.evaluate("document.documentElement.scrollWidth") <= width
                    assert "all 300 customers" in page.inner_text("#sample-note").lower()
                    assert errors == []
                    page.goto(f"{live_server.url}/customers/?sort=-age")
                    assert page.locator("#customer-table tbody tr").count() == 50
                    page.close()
            finally:
                browser.close()

    # Playwright's sync API runs in a thread of its own, so a browser session another test keeps open
    # in this thread does not get in its way.
    failures: list[BaseException] = []

    def run() -> None:
        try:
            journey()
        except BaseException as exc:  # handed back to the test thread
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=180)
    assert not thread.is_alive(), "the browser journey did not finish in 3 minutes"
    if failures:
        raise failures[0]


@pytest.mark.django_db
def test_ids_that_look_like_page_names_have_their_own_detail_page(viewer_client):
    for external_id in ("import", "imports", "overview"):
        Customer.objects.create(external_id=external_id, age=40)
        html = viewer_client.get(f"/customers/id/{external_id}/").content.decode()
        assert external_id in html
    assert viewer_client.get("/customers/overview/").status_code == 200
