"""Campaign and playbook pages for every persona."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse

from campaigns import selectors, services
from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory
from core.models import Activity
from segmentation.models import PlaybookRule
from segmentation.tests.factories import SegmentRunFactory

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def campaign(mall_run, marketer_user):
    return CampaignFactory(actor=marketer_user, name="VIP spring", segments=[mall_run.segments.get(size=39)])


def test_anonymous_goes_to_login(anon_client, campaign):
    for url in ("/campaigns/", f"/campaigns/{campaign.pk}/", "/campaigns/new/", "/campaigns/playbook/"):
        response = anon_client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("persona", "expected"), [("admin", 200), ("marketer", 200), ("viewer", 200), ("outsider", 403)]
)
def test_list_and_detail(persona, expected, campaign, client, request):
    client.force_login(request.getfixturevalue(f"{persona}_user"))
    listing = client.get("/campaigns/")
    assert listing.status_code == expected
    detail = client.get(f"/campaigns/{campaign.pk}/")
    assert detail.status_code == expected
    if expected == 200:
        assert "VIP spring" in listing.content.decode()
        html = detail.content.decode()
        assert '<span id="audience-total">39</span>' in html
        assert ("Download CSV for Excel" in html) == (persona != "viewer")
        assert ("Schedule (pin audience)" in html) == (persona != "viewer")


def test_create_and_edit_by_marketer(marketer_client, mall_run):
    seg = mall_run.segments.get(size=35)
    assert marketer_client.get("/campaigns/new/").status_code == 200
    response = marketer_client.post(
        "/campaigns/new/",
        {
            "name": "Premium push",
            "channel": "ads",
            "segments": [seg.pk],
            "starts_on": "2026-06-01",
            "ends_on": "2026-05-01",
        },
    )
    assert response.status_code == 200
    assert "must be on or after the start" in response.content.decode()
    response = marketer_client.post(
        "/campaigns/new/", {"name": "Premium push", "channel": "ads", "segments": [seg.pk], "starts_on": "2026-05-01"}
    )
    campaign = Campaign.objects.get(name="Premium push")
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    response = marketer_client.post(
        f"/campaigns/{campaign.pk}/edit/",
        {"name": "Premium push", "channel": "email", "segments": [seg.pk], "offer": "Free delivery", "status": "draft"},
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.channel, campaign.offer) == ("email", "Free delivery")
    assert Activity.objects.filter(verb="campaign.update", object_id=str(campaign.pk)).exists()


def test_viewer_cannot_write(viewer_client, campaign):
    assert viewer_client.get("/campaigns/new/").status_code == 403
    assert viewer_client.get(f"/campaigns/{campaign.pk}/edit/").status_code == 403
    assert viewer_client.post(f"/campaigns/{campaign.pk}/schedule/").status_code == 403
    assert viewer_client.post(f"/campaigns/{campaign.pk}/archive/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_detail_shows_repin_preview(marketer_client, marketer_user, campaign, segmentation, mall_customers, mall_run):
    services.campaign_schedule(actor=marketer_user, campaign=campaign)
    member = sorted(selectors.campaign_audience(campaign=campaign).values_list("customer__external_id", flat=True))[0]
    for c in mall_customers:
        if c.external_id == member:
            c.annual_income, c.spending_score = 50, 50
            c.save()
    newer = SegmentRunFactory(segmentation=segmentation, k=5)
    html = marketer_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f"If re-pinned to run {newer.pk}: <strong>0</strong> would enter, <strong>1</strong> would leave" in html
    assert member in html
    response = marketer_client.post(f"/campaigns/{campaign.pk}/repin/", {"run": newer.pk})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.pinned_run == newer


def test_schedule_and_archive_pages(marketer_client, campaign, mall_run):
    marketer_client.post(f"/campaigns/{campaign.pk}/schedule/")
    campaign.refresh_from_db()
    assert campaign.pinned_run == mall_run
    marketer_client.post(f"/campaigns/{campaign.pk}/archive/")
    campaign.refresh_from_db()
    assert campaign.status == "archived"
    assert "VIP spring" not in marketer_client.get("/campaigns/").content.decode()
    assert "VIP spring" in marketer_client.get("/campaigns/?status=archived").content.decode()


def _segment_campaigns(segment, **context) -> str:
    return Template("{% load campaign_tags %}{% segment_campaigns segment %}").render(
        Context({"segment": segment, **context})
    )


def test_segment_campaigns_tag(campaign, mall_run):
    html = _segment_campaigns(mall_run.segments.get(size=39))
    assert "VIP spring" in html
    assert f"/campaigns/{campaign.pk}/" in html
    empty = _segment_campaigns(mall_run.segments.get(size=81))
    assert "No campaign uses this segment yet." in empty
    assert reverse("campaigns:create") not in empty
    assert reverse("campaigns:create") in _segment_campaigns(mall_run.segments.get(size=81), can_write=True)


def test_segment_page_shows_its_campaigns(campaign, mall_run, marketer_client, viewer_client):
    segment = mall_run.segments.get(size=39)
    url = reverse("segmentation:segment-detail", args=[segment.pk])
    as_marketer = marketer_client.get(url).content.decode()
    assert "Campaigns using this segment" in as_marketer and "VIP spring" in as_marketer
    assert f'href="{reverse("campaigns:create")}?segment={segment.pk}"' in as_marketer
    as_viewer = viewer_client.get(url).content.decode()
    assert "VIP spring" in as_viewer and reverse("campaigns:create") not in as_viewer


@pytest.mark.parametrize(
    ("persona", "read", "write"), [("admin", 200, 200), ("marketer", 200, 403), ("viewer", 200, 403)]
)
def test_playbook_pages(persona, read, write, client, request):
    client.force_login(request.getfixturevalue(f"{persona}_user"))
    rule = PlaybookRule.objects.get(flags=["upsell"])
    page = client.get("/campaigns/playbook/")
    assert page.status_code == read
    assert rule.actions in page.content.decode()
    assert client.get(f"/campaigns/playbook/{rule.pk}/edit/").status_code == write
    response = client.post(
        f"/campaigns/playbook/{rule.pk}/edit/",
        {
            "name": rule.name,
            "priority": 20,
            "active": "on",
            "flags": "upsell",
            "conditions": "",
            "actions": "Premium preview night.",
        },
    )
    rule.refresh_from_db()
    if write == 200:
        assert response.status_code == 302
        assert rule.actions == "Premium preview night."
        entry = Activity.objects.get(verb="playbook.update")
        assert entry.before["actions"].startswith("Win the share of wallet")
        assert entry.after["actions"] == "Premium preview night."
    else:
        assert response.status_code == 403
        assert rule.actions.startswith("Win the share of wallet")


def test_playbook_form_rejects_bad_conditions(admin_client):
    rule = PlaybookRule.objects.first()
    response = admin_client.post(
        f"/campaigns/playbook/{rule.pk}/edit/",
        {
            "name": rule.name,
            "priority": 1,
            "flags": "",
            "conditions": '[{"feature": "age", "op": "~", "value": 1}]',
            "actions": "x",
        },
    )
    assert response.status_code == 200
    assert "condition 1, op: expected one of gt, gte, lt, lte; got &#x27;~&#x27;" in response.content.decode()


def test_admin_has_no_delete_and_audits_playbook(admin_client, campaign):
    rule = PlaybookRule.objects.get(flags=["high_value"])
    assert admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/delete/").status_code == 403
    assert admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").status_code == 200
    response = admin_client.post(
        f"/admin/segmentation/playbookrule/{rule.pk}/change/",
        {
            "name": rule.name, "priority": 10, "active": "on", "flags": '["high_value"]', "conditions": "[]",
            "actions": "VIP lounge access.", "rationale": rule.rationale,
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = Activity.objects.get(verb="playbook.update")
    assert entry.after["actions"] == "VIP lounge access."
    assert admin_client.get("/admin/authtoken/tokenproxy/").status_code == 200
