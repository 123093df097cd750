"""Strategy text references recommendations (issue 13, Deliver 4): the segment page fills in {top_products}
and shows "Products to feature" next to the strategy; the dashboard's cards and campaign pages show them too."""

from __future__ import annotations

from django.urls import reverse

from campaigns.recommendations import selectors
from campaigns.recommendations.strategy_text import FALLBACK, product_words, strategy_fill, strategy_placeholders
from campaigns.tests.factories import CampaignFactory
from campaigns.tests.test_recommendations import active, segmented, shop  # noqa: F401 (fixtures)
from segmentation.models import Segment


def test_placeholders_are_filled_in_words_and_fall_back_when_there_are_no_products():
    text = "Feature {top_products}; also {defining_products}. {unknown} stays."
    assert strategy_placeholders(text) == ["{top_products}", "{defining_products}"]
    products = {"{top_products}": [{"code": "A1", "description": "Red mug"}, {"code": "B2", "description": ""}]}
    assert strategy_fill(text, products) == f"Feature Red mug and B2; also {FALLBACK}. {{unknown}} stays."
    assert product_words([{"code": c, "description": c.lower()} for c in "ABC"]) == "a, b and c"
    assert strategy_fill("No placeholder", {}) == "No placeholder"


def test_products_to_feature_mix_defining_and_recommended_without_repeats(active, segmented):  # noqa: F811
    segment = segmented.segments.order_by("label").first()
    featured = selectors.segment_products_to_feature(segment=segment, n=4)
    codes = [p["code"] for p in featured]
    assert len(codes) == len(set(codes)) == 4
    assert featured[0]["why"] == "defines this segment"
    assert {p["why"] for p in featured} == {"defines this segment", "most recommended to its members"}


def test_without_an_active_run_there_is_nothing_to_feature(segmented):  # noqa: F811
    assert selectors.segment_products_to_feature(segment=segmented.segments.first()) == []


def test_segment_page_fills_the_strategy_and_shows_products_to_feature(
    active,  # noqa: F811
    segmented,  # noqa: F811
    viewer_client,
    outsider_user,
    client,
):
    segment = segmented.segments.order_by("label").first()
    Segment.objects.filter(pk=segment.pk).update(strategy="Send <b>{top_products}</b> to them.")
    featured = selectors.segment_products_to_feature(segment=segment)
    html = viewer_client.get(reverse("segmentation:segment-detail", args=[segment.pk])).content.decode()
    words = product_words(featured)
    assert f"Send &lt;b&gt;{words}&lt;/b&gt; to them." in html  # escaped, filled in
    assert "{top_products}" not in html.split('class="strategy-text"')[1].split("</p>")[0]
    assert 'class="products-to-feature"' in html and all(p["code"] in html for p in featured)
    dashboard = viewer_client.get(reverse("segmentation:dashboard")).content.decode()
    assert words in dashboard


def test_without_permission_the_placeholder_reads_as_the_fallback(active, segmented, client, django_user_model):  # noqa: F811
    from django.contrib.auth.models import Permission

    segment = segmented.segments.order_by("label").first()
    Segment.objects.filter(pk=segment.pk).update(strategy="Feature {top_products}.")
    user = django_user_model.objects.create_user("seg-only", password="x")
    user.user_permissions.add(Permission.objects.get(codename="view_segment"))
    client.force_login(user)
    response = client.get(reverse("segmentation:segment-detail", args=[segment.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Feature {FALLBACK}." in html and 'class="products-to-feature"' not in html


def test_campaign_page_shows_each_segments_products_to_feature(active, segmented, marketer_user, marketer_client):  # noqa: F811
    segments = list(segmented.segments.order_by("label"))
    campaign = CampaignFactory(actor=marketer_user, segments=segments)
    html = marketer_client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "Products to feature" in html
    for segment in segments:
        assert f'data-segment="{segment.pk}"' in html
        for p in selectors.segment_products_to_feature(segment=segment):
            assert p["code"] in html
