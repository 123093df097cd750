"""Static audiences: save the filtered customer list, target it with a campaign, export it; who may not."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from campaigns import selectors, services
from campaigns.models import Audience, AudienceStatus, Campaign, CampaignStatus
from campaigns.tests.factories import CampaignFactory
from core.exceptions import Conflict, DataError
from core.models import Activity
from customers.models import Customer

pytestmark = [pytest.mark.django_db]
CREATE = "/campaigns/audiences/new/"
FILTER = "?gender=female&age_min=30&sort=-age"


def _women_over_30() -> set[str]:
    return set(Customer.objects.filter(gender="female", age__gte=30).values_list("external_id", flat=True))


@pytest.fixture
def audience(mall_customers, marketer_user):
    return services.audience_create(
        actor=marketer_user, name="Women 30+", filters={"gender": "female", "age_min": "30"},
        description="gender = female; age_min = 30", expected_size=100,
    )  # fmt: skip


def test_confirm_page_says_size_and_filters(marketer_client, mall_customers):
    html = marketer_client.get(CREATE + FILTER).content.decode()
    assert f'<strong id="audience-size">{len(_women_over_30())}</strong>' in html
    assert "gender = female; age_min = 30" in html
    assert "sort" not in html.split('id="audience-filters"')[1].split("</span>")[0]


def test_marketer_saves_the_filtered_list(marketer_client, marketer_user, mall_customers):
    response = marketer_client.post(CREATE + FILTER, {"name": "Women 30+", "gender": "female", "age_min": "30"})
    assert response.status_code == 302 and response["Location"] == "/campaigns/audiences/"
    audience = Audience.objects.get()
    expected = _women_over_30()
    assert audience.size == len(expected) > 0
    assert set(audience.customers.values_list("external_id", flat=True)) == expected
    assert audience.filters == {"gender": "female", "age_min": "30"} and audience.created_by == marketer_user
    entry = Activity.objects.get(verb="audience.create")
    assert entry.actor == marketer_user and entry.after["filters"] == {"gender": "female", "age_min": "30"}
    assert "Women 30+" in marketer_client.get("/campaigns/audiences/").content.decode()


def test_members_are_written_in_one_statement(marketer_user, mall_customers, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):  # savepoints, audit, claim, column schema, one INSERT: not one per customer
        audience = services.audience_create(
            actor=marketer_user, name="All", filters={}, description="", expected_size=200
        )
    assert audience.size == Customer.objects.count() == 200 and audience.status == AudienceStatus.READY


def test_a_large_list_is_saved_by_the_task(
    marketer_user, mall_customers, django_capture_on_commit_callbacks, monkeypatch
):
    from campaigns import tasks

    sent = []
    monkeypatch.setattr(
        services.current_app,
        "send_task",
        lambda name, args: sent.append(args[0]) if name == tasks.audience_fill_task.name else None,
    )
    monkeypatch.setattr(services, "AUDIENCE_INLINE_MAX", 10)
    with django_capture_on_commit_callbacks(execute=True):
        audience = services.audience_create(
            actor=marketer_user, name="Big", filters={"gender": "female"}, description="", expected_size=112
        )
    assert sent == [audience.pk]
    audience.refresh_from_db()
    assert audience.status == AudienceStatus.QUEUED and not audience.members.exists()
    with pytest.raises(DataError, match="audience: 'Big' .* is being saved; a campaign can target it once it is ready"):
        services.campaign_create(actor=marketer_user, name="x", audience=audience)
    assert tasks.audience_fill_task.run(audience.pk) == "ready"
    assert tasks.audience_fill_task.run(audience.pk) == "skipped"  # a redelivery does nothing
    audience.refresh_from_db()
    assert audience.status == AudienceStatus.READY
    assert audience.size == Customer.objects.filter(gender="female").count() == audience.members.count()


def test_empty_name_is_refused(marketer_client, mall_customers):
    response = marketer_client.post(CREATE, {"name": ""})
    assert response.status_code == 200 and not Audience.objects.exists()
    with pytest.raises(DataError, match="name: an audience needs a name"):
        services.audience_create(actor=None, name=" ", filters={}, description="", expected_size=0)


@pytest.mark.parametrize("persona", ["viewer", "outsider"])
def test_who_may_not_save_an_audience(persona, client, request, mall_customers):
    client.force_login(request.getfixturevalue(f"{persona}_user"))
    assert client.get(CREATE + FILTER).status_code == 403
    assert client.post(CREATE, {"name": "x"}).status_code == 403
    assert not Audience.objects.exists()


def test_anonymous_goes_to_login(anon_client):
    for url in (CREATE, "/campaigns/audiences/"):
        response = anon_client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_viewer_reads_the_list_without_create_links(viewer_client, audience):
    html = viewer_client.get("/campaigns/audiences/").content.decode()
    assert "Women 30+" in html and "New campaign" not in html


def test_campaign_on_a_static_audience_counts_schedules_and_exports(marketer_client, marketer_user, audience):
    response = marketer_client.post("/campaigns/new/", {"name": "Autumn", "channel": "email", "audience": audience.pk})
    campaign = Campaign.objects.get(name="Autumn")
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.audience == audience and not campaign.segments.exists()
    html = marketer_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'<span id="audience-total">{audience.size}</span>' in html and "Women 30+" in html
    body = b"".join(marketer_client.get(f"/campaigns/{campaign.pk}/export/?format=csv").streaming_content)
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert {r["external_id"] for r in rows} == _women_over_30()
    assert set(rows[0]) == {"external_id", "audience_name", "campaign_name", "offer", "strategy"}
    assert {r["audience_name"] for r in rows} == {"Women 30+"}
    data = json.loads(b"".join(marketer_client.get(f"/campaigns/{campaign.pk}/export/?format=json").streaming_content))
    assert len(data) == audience.size
    campaign = services.campaign_schedule(actor=marketer_user, campaign=campaign)
    assert campaign.status == CampaignStatus.SCHEDULED and campaign.pinned_run is None
    assert selectors.campaign_audience_counts(campaign=campaign)["total"] == audience.size


def test_static_audience_through_the_api(api_as, marketer_user, audience):
    client = api_as(marketer_user, "token")
    created = client.post("/api/campaigns/", {"name": "API static", "audience": audience.pk}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    page = client.get(f"/api/campaigns/{pk}/audience/").json()
    assert {r["external_id"] for r in page["results"]} == _women_over_30()
    assert {r["audience_name"] for r in page["results"]} == {"Women 30+"}
    csv_body = b"".join(client.get(f"/api/campaigns/{pk}/audience/?format=csv").streaming_content).decode()
    assert len(list(csv.DictReader(io.StringIO(csv_body)))) == audience.size


def test_segments_or_audience_not_both(marketer_user, audience, mall_run):
    segment = mall_run.segments.first()
    with pytest.raises(DataError, match="segments: a campaign targets segments or a static audience, not both"):
        services.campaign_create(actor=marketer_user, name="x", segments=[segment], audience=audience)
    with pytest.raises(DataError, match="segments: a campaign targets at least one segment"):
        services.campaign_create(actor=marketer_user, name="x")
    campaign = services.campaign_create(actor=marketer_user, name="x", audience=audience)
    with pytest.raises(Conflict, match="targets a static audience"):
        services.campaign_repin(actor=marketer_user, campaign=campaign, run=mall_run)


def test_new_campaign_preselects_the_segment_or_audience(marketer_client, mall_run, audience):
    segment = mall_run.segments.get(size=39)
    html = marketer_client.get(f"/campaigns/new/?segment={segment.pk}").content.decode()
    checked = [line for line in html.splitlines() if 'name="segments"' in line and "checked" in line]
    assert len(checked) == 1 and f'value="{segment.pk}"' in checked[0]
    html = marketer_client.get(f"/campaigns/new/?audience={audience.pk}").content.decode()
    assert f'<option value="{audience.pk}" selected>' in html
    html = marketer_client.get("/campaigns/new/?segment=999999").content.decode()
    assert not [line for line in html.splitlines() if 'name="segments"' in line and "checked" in line]


def test_save_link_tag_for_the_customer_list(marketer_user, viewer_user):
    template = Template("{% load campaign_tags %}{% audience_save_url as url %}[{{ url }}]")
    request = RequestFactory().get("/customers/?gender=female&age_min=30")
    request.user = marketer_user
    assert template.render(Context({"request": request})) == (
        "[/campaigns/audiences/new/?gender=female&amp;age_min=30]"
    )
    request.user = viewer_user
    assert template.render(Context({"request": request})) == "[]"


def test_factory_campaign_keeps_working_on_segments(marketer_user, mall_run):
    campaign = CampaignFactory(actor=marketer_user, segments=[mall_run.segments.first()])
    assert campaign.audience is None


def test_admin_lists_audiences_read_only(admin_client, audience):
    assert "Women 30+" in admin_client.get("/admin/campaigns/audience/").content.decode()
    assert admin_client.get(f"/admin/campaigns/audience/{audience.pk}/change/").status_code == 200
    assert admin_client.get("/admin/campaigns/audience/add/").status_code == 403


def test_customer_list_offers_save_as_audience_to_marketers_only(marketer_client, viewer_client, mall_customers):
    html = marketer_client.get("/customers/" + FILTER).content.decode()
    assert 'id="save-audience-link"' in html and "/campaigns/audiences/new/?gender=female" in html
    assert 'id="save-audience-link"' not in viewer_client.get("/customers/" + FILTER).content.decode()


def test_saving_an_audience_reads_as_a_sentence_in_the_activity_log(admin_client, marketer_user, audience):
    html = admin_client.get("/activity/").content.decode()
    assert f"{marketer_user.get_username()} saved the audience “Women 30+” from the customer list" in html
