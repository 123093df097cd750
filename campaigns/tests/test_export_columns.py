"""Exports shaped by the user: chosen columns, CSV for Excel, plain CSV and JSON, on the page and the API."""

from __future__ import annotations

import csv
import io
import json

import pytest

from campaigns import services
from campaigns.columns import (
    export_column_provider_register,
    export_columns_available,
    export_columns_default,
    export_columns_validate,
)
from campaigns.export import audience_export_stream
from campaigns.tests.factories import CampaignFactory
from core.csvsafe import EXCEL_CONVERTS
from core.exceptions import DataError
from core.models import Activity
from customers.models import Customer, CustomerAttribute

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def with_email(mall_customers):
    """An e-mail attribute on every customer (Mall ids keep leading zeros: 0001..0200), one formula-like."""
    CustomerAttribute.objects.create(key="e_mail", label="E-mail", kind="text")
    CustomerAttribute.objects.create(key="zip_code", label="Zip", kind="text")
    CustomerAttribute.objects.create(key="visits", label="Visits", kind="number")
    for c in mall_customers:
        c.attributes = {**c.attributes, "e_mail": f"c{c.external_id}@example.com", "zip_code": "01234", "visits": 3}
        c.save()
    first = Customer.objects.get(external_id="0124")
    first.attributes = {**first.attributes, "e_mail": '=HYPERLINK("http://x")'}
    first.save()
    return mall_customers


@pytest.fixture
def campaign(mall_run, marketer_user, with_email):
    segment = mall_run.memberships.get(customer__external_id="0124").segment
    return CampaignFactory(
        actor=marketer_user, name="Rentrée · café", segments=[segment], offer="-20 % on shoes", strategy="Call them"
    )


def _download(client, campaign, **params):
    response = client.get(f"/campaigns/{campaign.pk}/export/", params)
    assert response.status_code == 200, response.content
    return response, b"".join(response.streaming_content)


def test_default_columns_include_the_contact_field(with_email):
    assert export_columns_default() == [
        "external_id", "e_mail", "segment_name", "campaign_name", "offer", "strategy",
    ]  # fmt: skip
    assert export_columns_default(static=True)[2] == "audience_name"


def test_every_customer_field_and_attribute_is_offered(with_email):
    names = set(export_columns_available())
    assert {"external_id", "gender", "age", "annual_income", "spending_score"} <= names
    assert {"e_mail", "zip_code", "visits", "segment_name", "campaign_name", "offer", "strategy"} <= names


def test_unknown_columns_rejected_with_their_names(with_email):
    with pytest.raises(DataError, match=r"columns: unknown column 'shoe_size', 'iq'; allowed: external_id"):
        export_columns_validate("external_id,shoe_size,iq")
    with pytest.raises(DataError, match=r"columns: column 'age' chosen twice"):
        export_columns_validate(["age", "age"])
    with pytest.raises(DataError, match=r"columns: choose at least one column"):
        export_columns_validate("")


def test_campaign_stores_validated_columns(campaign, marketer_user):
    services.campaign_update(actor=marketer_user, campaign=campaign, export_columns=["external_id", "e_mail"])
    campaign.refresh_from_db()
    assert campaign.export_columns == ["external_id", "e_mail"]
    with pytest.raises(DataError, match=r"export_columns: unknown column 'nope'"):
        services.campaign_update(actor=marketer_user, campaign=campaign, export_columns=["nope"])


def test_excel_csv_has_bom_keeps_leading_zeros_and_neutralises_formulas(marketer_client, campaign):
    response, body = _download(marketer_client, campaign, format="excel", columns="external_id,e_mail,zip_code,offer")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["external_id", "e_mail", "zip_code", "offer"]
    first = next(r for r in rows if "0124" in r[0])
    # Read as text (what the spreadsheet's cell shows): the id and zip code keep their leading zero.
    assert first[0] == '="0124"' and first[2] == '="01234"'
    assert first[1] == '\'=HYPERLINK("http://x")'  # formula neutralised by core.csvsafe
    assert first[3] == "'-20 % on shoes"
    assert not any(
        v.startswith(("=", "+", "-", "@")) and not EXCEL_CONVERTS.fullmatch(v[2:-1]) for r in rows for v in r
    )
    assert "\r\n" in text


@pytest.mark.parametrize(
    ("value", "field"), [("0124", '"=""0124"""'), ("1-2", '"=""1-2"""'), ("124", "124"), ("0124 ", "0124 ")]
)
def test_excel_constant_cells_follow_the_core_rule(value, field):
    from campaigns.export import _constant_cell

    assert _constant_cell(value, excel=True) == field
    assert _constant_cell(value, excel=False) == value


def test_plain_csv_has_no_bom_and_plain_values(marketer_client, campaign):
    _, body = _download(marketer_client, campaign, format="csv", columns="external_id,zip_code,visits,campaign_name")
    assert not body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    first = next(r for r in rows if r["external_id"] == "0124")
    assert first == {"external_id": "0124", "zip_code": "01234", "visits": "3", "campaign_name": "Rentrée · café"}


def test_json_is_valid_and_typed(marketer_client, campaign, mall_run):
    response, body = _download(marketer_client, campaign, format="json", columns="external_id,age,visits,segment_name")
    assert response["Content-Type"] == "application/json"
    data = json.loads(body)
    assert len(data) == campaign.segments.get().size
    first = next(r for r in data if r["external_id"] == "0124")
    assert list(first) == ["external_id", "age", "visits", "segment_name"]
    assert isinstance(first["age"], int) and first["visits"] == 3
    assert first["segment_name"] == campaign.segments.get().name


def test_page_download_uses_the_campaigns_columns_and_is_audited(marketer_client, campaign, marketer_user):
    marketer_client.post(
        f"/campaigns/{campaign.pk}/export/columns/", {"columns": ["external_id", "e_mail", "campaign_name"]}
    )
    campaign.refresh_from_db()
    assert campaign.export_columns == ["external_id", "e_mail", "campaign_name"]
    _, body = _download(marketer_client, campaign, format="csv")
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["external_id", "e_mail", "campaign_name"]
    entry = Activity.objects.filter(verb="campaign.export").latest("pk")
    assert entry.actor == marketer_user
    assert entry.detail["columns"] == ["external_id", "e_mail", "campaign_name"]
    assert entry.detail["rows"] == len(rows) - 1 and entry.detail["format"] == "csv" and entry.detail["complete"]


def test_page_rejects_bad_format_and_columns(marketer_client, campaign):
    bad = marketer_client.get(f"/campaigns/{campaign.pk}/export/", {"format": "xls"})
    assert bad.status_code == 400 and "format: expected one of excel, csv, json; got 'xls'" in bad.content.decode()
    bad = marketer_client.get(f"/campaigns/{campaign.pk}/export/", {"columns": "external_id,shoe_size"})
    assert bad.status_code == 400 and "unknown column 'shoe_size'" in bad.content.decode()


@pytest.mark.parametrize(("persona", "expected"), [("viewer", 403), ("outsider", 403)])
def test_who_may_not_export_or_choose_columns(persona, expected, client, request, campaign):
    client.force_login(request.getfixturevalue(f"{persona}_user"))
    assert client.get(f"/campaigns/{campaign.pk}/export/").status_code == expected
    response = client.post(f"/campaigns/{campaign.pk}/export/columns/", {"columns": ["external_id"]})
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.export_columns == []


def test_anonymous_page_export_goes_to_login(anon_client, campaign):
    response = anon_client.get(f"/campaigns/{campaign.pk}/export/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_api_formats_and_columns(api_as, marketer_user, campaign):
    client = api_as(marketer_user, "token")
    url = f"/api/campaigns/{campaign.pk}/audience/"
    excel = client.get(url, {"format": "excel", "columns": "external_id,e_mail"})
    assert excel.status_code == 200
    body = b"".join(excel.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf") and b'"=""0124"""' in body
    streamed = client.get(url, {"format": "json-stream", "columns": "external_id,offer"})
    data = json.loads(b"".join(streamed.streaming_content))
    assert {"external_id": "0124", "offer": "-20 % on shoes"} in data  # JSON carries values as they are


def test_api_errors_name_the_parameter_and_value(api_as, marketer_user, campaign, anon_client):
    client = api_as(marketer_user, "token")
    url = f"/api/campaigns/{campaign.pk}/audience/"
    bad_columns = client.get(url, {"format": "csv", "columns": "external_id,shoe_size"})
    assert bad_columns.status_code == 400
    assert "columns: unknown column 'shoe_size'" in bad_columns.json()["error"]["message"]
    bad_format = client.get(url, {"format": "xls"})
    assert bad_format.status_code == 400
    assert bad_format.json()["error"]["message"] == "format: expected one of json, csv, excel, json-stream; got 'xls'"
    paged = client.get(url, {"columns": "external_id"})
    assert paged.status_code == 400 and "columns:" in paged.json()["error"]["message"]
    assert api_as(None).get(url, {"format": "excel"}).status_code == 401


def test_provider_columns_extend_the_choice(with_email, campaign, marketer_user):
    from campaigns.columns import ExportColumn, _providers

    provider = lambda: [ExportColumn("customer_since", "Customer since", "customer", kind="date", path="created_at")]  # noqa: E731
    export_column_provider_register(provider)
    try:
        assert "customer_since" in export_columns_available()
        body = b"".join(
            audience_export_stream(
                actor=marketer_user, campaign=campaign, columns=["external_id", "customer_since"], format="csv"
            )
        ).decode()
        assert body.splitlines()[0] == "external_id,customer_since"
        assert Customer.objects.get(external_id="0124").created_at.isoformat()[:10] in body
        data = json.loads(
            b"".join(
                audience_export_stream(
                    actor=marketer_user, campaign=campaign, columns=["external_id", "customer_since"], format="json"
                )
            )
        )
        assert data[0]["customer_since"][:4].isdigit()
    finally:
        _providers.remove(provider)


def test_api_uses_the_campaigns_columns_still_available(api_as, marketer_user, campaign):
    services.campaign_update(actor=marketer_user, campaign=campaign, export_columns=["external_id", "e_mail"])
    client = api_as(marketer_user, "token")
    url = f"/api/campaigns/{campaign.pk}/audience/?format=csv"
    assert b"".join(client.get(url).streaming_content).splitlines()[0] == b"external_id,e_mail"
    CustomerAttribute.objects.filter(key="e_mail").delete()  # an Admin removed the attribute
    assert b"".join(client.get(url).streaming_content).splitlines()[0] == b"external_id"


@pytest.mark.parametrize("excel", [False, True])
@pytest.mark.parametrize(
    "value",
    ["plain", "", None, "=2+3", "+1", "-1", "@x", "\tT", "\rC", "a,b", 'q"x', "l\nb", "0124", "124", "1-2", "1E5",
     "12345678901234567", "Rentrée · café", " lead", "'q"],
)  # fmt: skip
def test_row_writer_writes_what_csv_writer_and_core_csvsafe_write(value, excel):
    from campaigns.export import ExportColumn, _csv_renderer, _row_blocks
    from core.csvsafe import excel_text, safe_cell

    columns = [ExportColumn("a", "", "customer", path="a"), ExportColumn("n", "", "customer", kind="number", path="n")]
    renderers = [_csv_renderer(c, excel=excel) for c in columns]
    blocks = list(_row_blocks([(1, value, 7), (1, value, None)], renderers, {1: "{0},{1}\r\n".format}, 1))
    assert [len(block) for block in blocks] == [1, 1, 0]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[excel_text(value) if excel else safe_cell(value), n] for n in (7, None)])
    assert "".join(line for block in blocks for line in block) == buffer.getvalue()


@pytest.mark.parametrize(
    ("stored", "written"), [("3", "3"), ("3.0", "3"), ("4.50", "4.5"), ("-2", "-2"), ("n/a", "n/a")]
)
def test_number_attributes_are_written_as_numbers(stored, written):
    from campaigns.export import ExportColumn, _csv_renderer, _row_blocks

    column = ExportColumn("v", "", "customer", kind="number", path="v", attribute="v")
    blocks = list(_row_blocks([(1, stored), (1, None)], [_csv_renderer(column, excel=True)], {1: "{0}".format}, 5))
    assert blocks == [[written, ""]]


def test_only_constant_columns(marketer_user, campaign):
    body = b"".join(
        audience_export_stream(actor=marketer_user, campaign=campaign, columns=["campaign_name"], format="csv")
    ).decode()
    assert body.splitlines()[1:] == ["Rentrée · café"] * campaign.segments.get().size


def test_lifetime_value_columns_once_values_exist(api_as, marketer_user, viewer_user, campaign):
    from django.utils import timezone

    from customers.orders.value_models import CustomerValue, ValueFit

    assert "expected_value" not in export_columns_available()  # nothing fitted: not offered
    fit = ValueFit.objects.create(status="ok")
    first = Customer.objects.get(external_id="0124")
    CustomerValue.objects.create(
        customer=first, fit=fit, p_alive=0.25, expected_purchases=1.5, expected_value=42.5, x=2, t_x=3, T=9,
        fitted_at=timezone.now(),
    )  # fmt: skip
    assert {"p_active", "expected_purchases", "expected_value"} <= set(export_columns_available())
    client = api_as(marketer_user, "token")
    url = f"/api/campaigns/{campaign.pk}/audience/"
    streamed = client.get(
        url, {"format": "json-stream", "columns": "external_id,p_active,expected_purchases,expected_value"}
    )
    data = json.loads(b"".join(streamed.streaming_content))
    assert {"external_id": "0124", "p_active": 0.25, "expected_purchases": 1.5, "expected_value": 42.5} in data
    assert any(row["expected_value"] is None for row in data)  # a member without a value: empty
    csv_body = b"".join(client.get(url, {"format": "csv", "columns": "external_id,expected_value"}).streaming_content)
    assert b"0124,42.5" in csv_body
    assert (
        api_as(viewer_user, "token").get(url, {"format": "csv", "columns": "external_id,expected_value"}).status_code
        == 403
    )
    assert Activity.objects.filter(verb__contains="export").exists()  # exports stay audited
