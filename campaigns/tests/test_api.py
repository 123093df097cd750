"""API: every endpoint x persona (admin, marketer, viewer, outsider, anonymous; token and session)."""

from __future__ import annotations

import csv
import io

import pytest
from rest_framework.throttling import ScopedRateThrottle

from campaigns import services
from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory
from core.models import Activity
from segmentation.tests.factories import SegmentRunFactory

pytestmark = [pytest.mark.django_db]


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def users(admin_user, marketer_user, viewer_user, outsider_user):
    return {"admin": admin_user, "marketer": marketer_user, "viewer": viewer_user, "outsider": outsider_user}


@pytest.fixture
def campaign(mall_run, marketer_user):
    return CampaignFactory(
        actor=marketer_user, name="VIP spring", segments=[mall_run.segments.get(size=39)], channel="email"
    )


READ_EXPECT = {"admin": 200, "marketer": 200, "viewer": 200, "outsider": 403, None: 401}
WRITE_EXPECT = {"admin": 201, "marketer": 201, "viewer": 403, "outsider": 403, None: 401}
EXPORT_EXPECT = {"admin": 200, "marketer": 200, "viewer": 403, "outsider": 403, None: 401}
PERSONAS = ["admin", "marketer", "viewer", "outsider", None]
HOWS = ["token", "session"]


def _client(api_as, users, persona, how):
    return api_as(users[persona] if persona else None, how)


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    "url", ["/api/segments/", "/api/runs/", "/api/runs/{run}/", "/api/campaigns/", "/api/campaigns/{campaign}/"]
)
def test_read_endpoints(api_as, users, campaign, mall_run, persona, how, url):
    response = _client(api_as, users, persona, how).get(url.format(run=mall_run.pk, campaign=campaign.pk))
    assert response.status_code == READ_EXPECT[persona], response.content
    if persona is None:
        assert response.json()["error"]["code"] == "not_authenticated"
        if how == "token":
            assert response["WWW-Authenticate"] == "Token"
    elif READ_EXPECT[persona] == 403:
        assert response.json()["error"]["code"] == "permission_denied"


def test_segments_of_active_run(api_as, admin_user, mall_run):
    data = api_as(admin_user).get("/api/segments/").json()
    assert sorted(s["size"] for s in data["results"]) == [22, 23, 35, 39, 81]
    first = data["results"][0]
    assert {"id", "label", "name", "size", "flags", "strategy", "centroid"} <= set(first)
    high = next(s for s in data["results"] if s["size"] == 39)
    assert high["flags"] == ["high_value"]
    assert high["centroid"]["annual_income"] == pytest.approx(86.5, abs=0.1)


def test_runs_list_and_detail(api_as, viewer_user, mall_run):
    client = api_as(viewer_user)
    listing = client.get("/api/runs/").json()
    assert [r["id"] for r in listing["results"]] == [mall_run.pk]
    assert listing["results"][0]["is_active"] is True
    detail = client.get(f"/api/runs/{mall_run.pk}/").json()
    assert len(detail["segments"]) == 5
    assert client.get("/api/runs/999999/").status_code == 404


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_create_campaign(api_as, users, mall_run, persona, how):
    client = _client(api_as, users, persona, how)
    seg = mall_run.segments.get(size=39)
    response = client.post(
        "/api/campaigns/", {"name": "Spring VIP", "segments": [seg.pk], "channel": "sms"}, format="json"
    )
    assert response.status_code == WRITE_EXPECT[persona], response.content
    if response.status_code == 201:
        body = response.json()
        assert body["status"] == "draft"
        assert body["segments"] == [seg.pk]
        assert body["owner"] == users[persona].username
        assert Activity.objects.filter(verb="campaign.create", object_id=str(body["id"])).exists()
    else:
        assert not Campaign.objects.exists()


def test_create_campaign_errors(api_as, marketer_user, mall_run):
    client = api_as(marketer_user)
    seg = mall_run.segments.get(size=39)
    bad_dates = client.post(
        "/api/campaigns/",
        {"name": "x", "segments": [seg.pk], "starts_on": "2026-05-10", "ends_on": "2026-05-01"},
        format="json",
    )
    assert bad_dates.status_code == 400
    assert "ends_on" in bad_dates.json()["error"]["message"]
    no_segments = client.post("/api/campaigns/", {"name": "x", "segments": []}, format="json")
    assert no_segments.status_code == 400
    assert "segments" in no_segments.json()["error"]["message"]
    bad_channel = client.post("/api/campaigns/", {"name": "x", "segments": [seg.pk], "channel": "fax"}, format="json")
    assert bad_channel.status_code == 400
    assert "fax" in bad_channel.json()["error"]["message"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_update_campaign(api_as, users, campaign, persona):
    response = _client(api_as, users, persona, "token").patch(
        f"/api/campaigns/{campaign.pk}/", {"offer": "20% off"}, format="json"
    )
    expected = {201: 200}.get(WRITE_EXPECT[persona], WRITE_EXPECT[persona])
    assert response.status_code == expected
    campaign.refresh_from_db()
    assert (campaign.offer == "20% off") == (expected == 200)


def test_no_delete(api_as, admin_user, campaign):
    response = api_as(admin_user).delete(f"/api/campaigns/{campaign.pk}/")
    assert response.status_code == 405
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_schedule_archive(api_as, marketer_user, viewer_user, campaign, mall_run):
    assert api_as(viewer_user).post(f"/api/campaigns/{campaign.pk}/schedule/").status_code == 403
    client = api_as(marketer_user)
    response = client.post(f"/api/campaigns/{campaign.pk}/schedule/")
    assert response.status_code == 200
    assert response.json()["pinned_run"] == mall_run.pk
    assert response.json()["status"] == "scheduled"
    again = client.post(f"/api/campaigns/{campaign.pk}/schedule/")
    assert again.status_code == 409
    assert again.json()["error"] == {"code": "conflict", "message": again.json()["error"]["message"]}
    archived = client.post(f"/api/campaigns/{campaign.pk}/archive/")
    assert archived.json()["status"] == "archived"
    assert client.get("/api/campaigns/").json()["results"] == []
    assert client.get("/api/campaigns/?status=archived").json()["results"][0]["id"] == campaign.pk
    assert client.patch(f"/api/campaigns/{campaign.pk}/", {"offer": "x"}, format="json").status_code == 409


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_audience_permissions(api_as, users, campaign, persona, how):
    client = _client(api_as, users, persona, how)
    for suffix in ("", "?format=csv"):
        response = client.get(f"/api/campaigns/{campaign.pk}/audience/{suffix}")
        assert response.status_code == EXPORT_EXPECT[persona]
        if response.status_code != 200:
            assert response["Content-Type"].startswith("application/json")
            assert "error" in response.json()


def test_high_value_campaign_exports_its_39_customers_as_csv_with_token(api_as, marketer_user, campaign, mall_run):
    services.campaign_schedule(actor=marketer_user, campaign=campaign)
    response = api_as(marketer_user, "token").get(f"/api/campaigns/{campaign.pk}/audience/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = _csv(response)
    assert len(rows) == 39
    assert list(rows[0]) == [
        "external_id", "segment_label", "segment_name", "run_id", "gender", "age",
        "annual_income", "spending_score", "strategy", "campaign_id",
    ]  # fmt: skip
    expected = set(mall_run.segments.get(size=39).memberships.values_list("customer__external_id", flat=True))
    assert {r["external_id"] for r in rows} == expected
    assert {r["run_id"] for r in rows} == {str(mall_run.pk)}
    assert {r["campaign_id"] for r in rows} == {str(campaign.pk)}
    incomes = [float(r["annual_income"]) for r in rows]
    assert sum(incomes) / len(incomes) == pytest.approx(86.5, abs=0.1)
    export = Activity.objects.get(verb="campaign.export")
    assert export.actor == marketer_user
    assert export.detail == {
        "campaign": campaign.pk, "run": mall_run.pk, "rows": 39, "format": "csv", "complete": True,
        "columns": list(rows[0]),
    }  # fmt: skip


def test_all_segments_campaign_exports_every_customer(api_as, admin_user, mall_run, mall_customers):
    c = services.campaign_create(actor=admin_user, name="Everyone", segments=list(mall_run.segments.all()))
    rows = _csv(api_as(admin_user).get(f"/api/campaigns/{c.pk}/audience/?format=csv"))
    assert len(rows) == 200
    assert {r["external_id"] for r in rows} == {cu.external_id for cu in mall_customers}


def test_formula_injection_neutralised(api_as, marketer_user, mall_run, mall_customers):
    customer = mall_customers[0]
    customer.external_id = "=2+3"
    customer.save()
    seg = mall_run.memberships.get(customer=customer).segment
    seg.name = "@SUM(A1)"
    seg.save()
    c = services.campaign_create(actor=marketer_user, name="x", segments=[seg], strategy="-1+cmd|' /C calc'!A0")
    rows = _csv(api_as(marketer_user).get(f"/api/campaigns/{c.pk}/audience/?format=csv"))
    row = next(r for r in rows if r["external_id"].endswith("=2+3"))
    assert row["external_id"] == "'=2+3"
    assert row["segment_name"] == "'@SUM(A1)"
    assert row["strategy"] == "'-1+cmd|' /C calc'!A0"
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())


def test_audience_json_cursor_pagination(api_as, admin_user, mall_run):
    c = services.campaign_create(actor=admin_user, name="Everyone", segments=list(mall_run.segments.all()))
    client = api_as(admin_user)
    url = f"/api/campaigns/{c.pk}/audience/?page_size=60"
    seen = []
    pages = 0
    while url:
        body = client.get(url).json()
        seen += [r["external_id"] for r in body["results"]]
        url = body["next"]
        pages += 1
    assert pages == 4
    assert len(seen) == len(set(seen)) == 200
    first = client.get(f"/api/campaigns/{c.pk}/audience/").json()["results"][0]
    assert set(first) == {
        "external_id", "segment_label", "segment_name", "run_id", "gender", "age",
        "annual_income", "spending_score", "strategy", "campaign_id",
    }  # fmt: skip
    # The row carries its segment's strategy as the run wrote it (the playbook's text for that group).
    assert first["strategy"] == mall_run.segments.get(label=first["segment_label"]).strategy != ""


def test_export_throttled_per_token(api_as, marketer_user, campaign, settings, monkeypatch):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "export": "2/hour"}
    # DRF reads the rates into the throttle class when it is imported, so the test sets them there.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    client = api_as(marketer_user)
    url = f"/api/campaigns/{campaign.pk}/audience/"
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    third = client.get(url)
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "throttled"
    assert client.get(f"/api/campaigns/{campaign.pk}/").status_code == 200  # the export scope only


def test_repin_preview_and_repin_via_api(
    api_as, marketer_user, viewer_user, campaign, segmentation, mall_customers, mall_run
):
    services.campaign_schedule(actor=marketer_user, campaign=campaign)
    newer = SegmentRunFactory(segmentation=segmentation, k=5, random_state=7)
    client = api_as(marketer_user)
    preview = client.get(f"/api/campaigns/{campaign.pk}/repin-preview/?run={newer.pk}")
    assert preview.status_code == 200
    assert preview.json()["unmatched"] == []
    assert api_as(viewer_user).post(f"/api/campaigns/{campaign.pk}/repin/", {"run": newer.pk}).status_code == 403
    response = client.post(f"/api/campaigns/{campaign.pk}/repin/", {"run": newer.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["pinned_run"] == newer.pk


def test_campaign_status_is_draft_on_create(api_as, marketer_user, mall_run):
    seg = mall_run.segments.get(size=39)
    response = api_as(marketer_user).post(
        "/api/campaigns/", {"name": "x", "segments": [seg.pk], "status": "active"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "dataerror"
