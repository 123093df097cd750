"""Cold start on the Django side (issue 13, Deliver 2): `cold_start_below` as a run parameter, a command option
and a field of "Run now"; the customer page says "popular in your segment" / "popular overall" per customer; the
recommendation page follows a queued or running run through a small status endpoint instead of reloading."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.recommendations import services
from campaigns.recommendations.models import Recommendation, RecommendationRun, RecommendationRunStatus
from campaigns.tests.test_recommendations import active, run_inline, segmented, shop  # noqa: F401 (fixtures)
from core.exceptions import ConfigError
from customers.models import Customer
from segmentation.ml.recommend import RecommendConfig


def test_the_parameter_defaults_to_the_engines_and_is_checked(db):
    assert services.recommendation_params()["cold_start_below"] == RecommendConfig.cold_start_below == 1
    assert services.recommendation_params(cold_start_below=3)["cold_start_below"] == 3
    for bad in (0, 366, "2", True, 1.5):
        with pytest.raises(ConfigError, match="cold_start_below"):
            services.recommendation_params(cold_start_below=bad)


def test_the_command_option_makes_everyone_with_less_history_a_cold_start(segmented, shop):  # noqa: F811
    out = run_inline(cold_start_below=50)
    run = RecommendationRun.objects.get(pk=out["run"])
    assert run.status == RecommendationRunStatus.SUCCEEDED and run.params["cold_start_below"] == 50
    lines = Recommendation.objects.filter(run=run)
    assert lines.exists() and not lines.filter(cold_start=False).exists()
    assert set(lines.values_list("reason_kind", flat=True)) <= {"segment_popular", "popular"}
    default = RecommendationRun.objects.get(pk=run_inline()["run"])
    assert default.params["cold_start_below"] == 1
    assert Recommendation.objects.filter(run=default, cold_start=False).exists()


def test_customer_page_says_why_a_cold_start_list(active, shop, viewer_client):  # noqa: F811
    newbie = Customer.objects.get(external_id="newbie")
    html = viewer_client.get(reverse("customers:detail", args=[newbie.external_id])).content.decode()
    assert 'id="recommendation-basis"' in html and "no purchase history yet" in html
    kind = Recommendation.objects.filter(run=active, customer=newbie).values_list("reason_kind", flat=True).first()
    assert ("Popular in your segment" if kind == "segment_popular" else "Popular overall") in html
    regular = Customer.objects.get(external_id="c01")
    html = viewer_client.get(reverse("customers:detail", args=[regular.external_id])).content.decode()
    assert 'id="customer-recommendations"' in html and 'id="recommendation-basis"' not in html


def test_run_now_takes_the_threshold_and_refuses_a_bad_one(db, admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        bad = admin_client.post(reverse("campaigns:recommendations-run"), {"cold_start_below": "lots"}, follow=True)
    assert "cold_start_below" in bad.content.decode() and not RecommendationRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post(reverse("campaigns:recommendations-run"), {"cold_start_below": "4"})
    assert RecommendationRun.objects.get().params["cold_start_below"] == 4


def test_the_page_polls_the_status_endpoint_while_a_run_is_in_progress(
    db, admin_client, viewer_client, client, outsider_user
):
    run = services.recommendation_run_request(trigger="manual", enqueue=False)
    html = admin_client.get(reverse("campaigns:recommendations")).content.decode()
    url = reverse("campaigns:recommendations-run-status", args=[run.pk])
    assert f'data-run-status-url="{url}"' in html and "run-status.js" in html
    assert 'http-equiv="refresh"' not in html
    response = viewer_client.get(url)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert response.json() == {"id": run.pk, "status": "queued", "stage": "queued", "progress": 0, "error": ""}
    assert viewer_client.get(reverse("campaigns:recommendations-run-status", args=[run.pk + 99])).status_code == 404
    client.force_login(outsider_user)
    assert client.get(url).status_code == 403
    RecommendationRun.objects.filter(pk=run.pk).update(status=RecommendationRunStatus.FAILED, error="boom")
    assert "run-status.js" not in admin_client.get(reverse("campaigns:recommendations")).content.decode()
