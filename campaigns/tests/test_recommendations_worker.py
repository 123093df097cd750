"""The recommendation task through a real Celery worker (sent by name, claimed, executed, activated)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from campaigns.recommendations.models import Recommendation, RecommendationRun
from campaigns.tests.test_recommendations import shop_create

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_recommend_command_through_the_worker(celery_worker):
    shop_create(customers=40)
    out = io.StringIO()
    call_command("recommend", "--json", "--timeout", "300", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["status"] == "succeeded", celery_worker.log()
    run = RecommendationRun.objects.get(pk=summary["run"])
    assert run.is_active and run.trigger == "command" and run.started_at and run.finished_at
    assert Recommendation.objects.filter(run=run).values("customer").distinct().count() == 40
