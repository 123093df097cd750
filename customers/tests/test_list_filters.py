"""The customers list's column filters, column chooser, natural id order, extra filters and CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from core.models import Activity
from customers import filters as list_filters
from customers.export import BOM
from customers.models import AttributeKind, Customer, CustomerAttribute
from customers.selectors import customers as selectors

pytestmark = pytest.mark.django_db

# external_id, gender, age, income, score, attributes
ROWS = [
    ("10001", "female", 25, 15.0, 39.0, {"visits": 3, "channel": "web", "note": "Zoë"}),
    ("0", "male", 35, 16.0, 81.0, {"visits": 7, "channel": "shop"}),
    ("1000", "female", 45, 70.0, 6.0, {"visits": 1, "channel": "web"}),
    ("1", "unknown", None, 20.0, 77.0, {}),
    ("0124", "male", 60, 80.0, None, {"visits": 12, "channel": "=HYPERLINK(1)"}),
]


@pytest.fixture
def table(db):
    CustomerAttribute.objects.create(key="visits", label="Visits", kind=AttributeKind.NUMBER, unit="")
    CustomerAttribute.objects.create(key="channel", label="Channel", kind=AttributeKind.TEXT)
    CustomerAttribute.objects.create(key="note", label="Note", kind=AttributeKind.TEXT)
    Customer.objects.bulk_create(
        Customer(external_id=e, gender=g, age=a, annual_income=i, spending_score=s, attributes=attrs)
        for e, g, a, i, s, attrs in ROWS
    )


def ids(response) -> list[str]:
    return [c.external_id for c in response.context["customers"]]


def parse(**params) -> selectors.CustomerQuery:
    qd = QueryDict(mutable=True)
    for k, v in params.items():
        qd.setlist(k.replace("__", "."), v if isinstance(v, list) else [v])
    return selectors.customer_query_parse(params=qd)


# --- natural id order --------------------------------------------------------------------------------


def test_numeric_ids_sort_as_numbers_both_ways(table, viewer_client):
    assert ids(viewer_client.get("/customers/")) == ["0", "1", "0124", "1000", "10001"]
    assert ids(viewer_client.get("/customers/?sort=-id")) == ["10001", "1000", "0124", "1", "0"]


def test_id_order_is_served_by_the_natural_order_index(table):
    qs = selectors.customer_list(query=parse())
    sql = str(qs.query).upper()
    assert "LENGTH" in sql and '"EXTERNAL_ID"' in sql
    index = next(i for i in Customer._meta.indexes if i.name == "customer_id_natural_order")
    assert "Length" in repr(index.expressions[0])


# --- column ranges and values ------------------------------------------------------------------------


def test_range_on_a_canonical_and_a_numeric_attribute(table, viewer_client):
    assert ids(viewer_client.get("/customers/?min.annual_income=16&max.annual_income=75")) == ["0", "1", "1000"]
    response = viewer_client.get("/customers/?min.visits=3&max.visits=7.5")
    assert ids(response) == ["0", "10001"]
    html = response.content.decode()
    assert 'name="min.visits" value="3"' in html and 'name="max.visits" value="7.5"' in html
    both = viewer_client.get("/customers/?min.visits=2&max.annual_income=20")
    assert ids(both) == ["0", "10001"]
    assert both.context["query"].is_filtered


def test_equals_on_a_text_attribute(table, viewer_client):
    assert ids(viewer_client.get("/customers/?eq.channel=web")) == ["1000", "10001"]
    assert ids(viewer_client.get("/customers/?eq.channel=mail")) == []


def test_bad_column_filters_are_dropped_with_a_note(table, viewer_client):
    response = viewer_client.get(
        "/customers/?min.visits=many&max.nothing=3&eq.visits=3&min.channel=1&cols=nope&cols=gender&segment=42"
    )
    assert response.status_code == 200
    assert ids(response) == ["0", "1", "0124", "1000", "10001"]
    notes = "\n".join(response.context["notes"])
    assert "min.visits: 'many' is not a number" in notes
    assert "there is no column 'nothing'" in notes
    assert "Visits is not a text column" in notes
    assert "Channel is not a numeric column" in notes
    assert "cols: 'nope' is not an imported column" in notes
    assert "cols: 'gender' is not an imported column" in notes


def test_swapped_range_and_non_finite_bounds(table):
    query = parse(min__visits="10", max__visits="2", min__age="nan", max__age="inf")
    assert query.ranges == (("visits", 2.0, 10.0),)
    assert any("swapped" in n for n in query.notes)
    assert sum("not a finite number" in n for n in query.notes) == 2


def test_query_round_trips_through_its_params(table):
    query = parse(min__visits="2", max__annual_income="20.5", eq__channel="web", cols="visits,channel", q="1")
    again = selectors.customer_query_parse(params=query.as_params())
    assert again == query
    assert query.as_params()["min.visits"] == "2" and query.as_params()["cols"] == "visits,channel"


# --- chosen columns ----------------------------------------------------------------------------------


def test_chosen_columns_are_shown(table, viewer_client):
    html = viewer_client.get("/customers/?cols=visits&cols=channel").content.decode()
    assert '<th scope="col" class="num" data-key="visits">Visits</th>' in html
    assert '<th scope="col" data-key="channel">Channel</th>' in html
    assert ">shop</td>" in html and ">12</td>" in html
    plain = viewer_client.get("/customers/").content.decode()
    assert 'data-key="visits">Visits</th>' not in plain


def test_every_id_links_to_its_customer(table, viewer_client):
    html = viewer_client.get("/customers/").content.decode()
    for external_id, *_ in ROWS:
        assert f'href="/customers/id/{external_id}/"' in html


# --- extra filters registered by higher apps ---------------------------------------------------------


@pytest.fixture
def vip_filter():
    def apply(qs, value):
        return qs.filter(attributes__visits__gte=int(value))

    vip = list_filters.ListFilter(
        name="vip",
        label="Loyalty",
        choices=lambda: [("Visits", [("5", "5 or more"), ("10", "10 or more")])],
        apply=apply,
    )
    list_filters.list_filter_register(vip)
    yield vip
    list_filters._REGISTRY.pop("vip", None)


def test_a_registered_filter_flows_through_parse_and_list(table, vip_filter, viewer_client):
    query = parse(vip="10")
    assert query.extra == (("vip", "10"),) and query.is_filtered
    assert [c.external_id for c in selectors.customer_list(query=query)] == ["0124"]
    response = viewer_client.get("/customers/?vip=5")
    assert ids(response) == ["0", "0124"]
    assert '<optgroup label="Visits">' in response.content.decode()
    bad = viewer_client.get("/customers/?vip=3")
    assert ids(bad) == ["0", "1", "0124", "1000", "10001"]
    assert "vip: '3' is not one of the loyalty choices" in bad.context["notes"]


def test_a_filter_may_not_take_a_list_parameter():
    taken = list_filters.ListFilter(name="sort", label="x", choices=list, apply=lambda qs, v: qs)
    with pytest.raises(ValueError, match="name: 'sort' is taken by the customers list"):
        list_filters.list_filter_register(taken)


# --- export ------------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[len(BOM) :])))


def test_export_the_filtered_customers(table, marketer_client, marketer_user):
    response = marketer_client.get("/customers/export.csv?eq.channel=web&sort=-id")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="customers.csv"' in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:5] == ["Customer ID", "Gender", "Age (years)", "Annual income (k$)", "Spending score (1-100)"]
    assert rows[0][5:] == ["Channel", "Note", "Visits"]
    assert [r[0] for r in rows[1:]] == ["10001", "1000"]
    assert rows[1][6] == "Zoë"
    entry = Activity.objects.get(verb="customers.exported")
    assert entry.actor == marketer_user
    assert entry.detail["rows"] == 2
    assert entry.detail["filter"] == {"eq.channel": "web", "sort": "-id"}


def test_export_keeps_leading_zeros_and_defuses_formulas(table, admin_client):
    rows = _csv(admin_client.get("/customers/export.csv"))
    by_id = {r[0]: r for r in rows[1:]}
    assert '="0124"' in by_id  # Excel shows the text 0124
    assert by_id['="0124"'][5] == "'=HYPERLINK(1)"
    assert "0" in by_id and "1000" in by_id


def test_export_streams_in_constant_queries(table, admin_client):
    with CaptureQueriesContext(connection) as ctx:
        b"".join(admin_client.get("/customers/export.csv").streaming_content)
    assert len(ctx.captured_queries) < 15


def test_viewer_may_not_export(table, viewer_client):
    assert viewer_client.get("/customers/export.csv").status_code == 403
    assert not Activity.objects.filter(verb="customers.exported").exists()


def test_export_link_only_for_those_who_may(table, viewer_client, marketer_client):
    assert b'id="export-link"' not in viewer_client.get("/customers/").content
    html = marketer_client.get("/customers/?eq.channel=web").content.decode()
    assert 'href="/customers/export.csv?eq.channel=web"' in html


def test_anonymous_is_sent_to_login(table, anon_client):
    for url in ("/customers/export.csv", "/customers/?min.visits=2"):
        response = anon_client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_outsider_may_not_export(table, outsider_user, client):
    client.force_login(outsider_user)
    assert client.get("/customers/export.csv").status_code == 403
