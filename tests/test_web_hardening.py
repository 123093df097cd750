"""Issue 14, finding 9 (web): clear 400s instead of 500s, bounded validators, entry points never on debug settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from customers.tests.factories import customer_groups_create
from segmentation.models import PlaybookRule
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory

REPO = Path(__file__).resolve().parent.parent

# Every search or filter parameter that reached the database (and a few more).
NUL_PAGES = [
    "/customers/?q=a%00b",
    "/customers/export.csv?q=a%00b",
    "/customers/?gender=%00",
    "/runs/?status=%00",
    "/activity/?verb=x%00",
    "/campaigns/?status=%00",
    "/campaigns/new/?segment=%00",
    "/segments/1/?q=%00",
]
NUL_API = [
    "/api/runs/?segmentation=1%00",
    "/api/campaigns/?status=%00",
    "/api/segments/?q=%00",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", NUL_PAGES)
def test_nul_in_a_page_parameter_is_400(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 400, url
    assert "NUL character" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", NUL_API)
def test_nul_in_an_api_parameter_is_a_json_400(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 400, url
    assert response["Content-Type"] == "application/json"
    assert "NUL character" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_nul_in_a_form_field_is_400(admin_client):
    response = admin_client.post("/campaigns/new/", {"name": "a\x00b"})
    assert response.status_code == 400 and "form field “name”" in response.content.decode()


@pytest.mark.django_db
def test_clean_parameters_pass(admin_client):
    assert admin_client.get("/customers/?q=ab").status_code == 200


@pytest.mark.django_db
def test_repin_with_a_run_that_is_not_a_number_is_400(admin_client, admin_user):
    from campaigns.tests.factories import CampaignFactory

    seg = SegmentationFactory(name="s")
    customer_groups_create({0: 6, 1: 4})
    run = SegmentRunFactory(segmentation=seg, k=2)
    campaign = CampaignFactory(actor=admin_user, name="c", segments=[run.segments.first()])
    for bad in ("abc", "", "1e5", "99999999999999999999999"):
        response = admin_client.post(f"/campaigns/{campaign.pk}/repin/", {"run": bad})
        assert response.status_code == 400, bad
        assert "run: expected the number of a run" in response.content.decode()


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.django_db
def test_a_5000_level_playbook_condition_is_refused_with_a_message(admin_client):
    data = {"name": "deep", "priority": 5, "active": "on", "actions": "a", "conditions": _nested(5000)}
    response = admin_client.post("/campaigns/playbook/new/", data)
    assert response.status_code == 200
    assert "nested 5000 levels deep; at most 8 levels are allowed" in response.content.decode()
    assert not PlaybookRule.objects.filter(name="deep").exists()
    # the admin's JSON box too
    response = admin_client.post("/admin/segmentation/playbookrule/add/", {**data, "flags": "[]"})
    assert response.status_code == 200 and "nested 5000 levels deep" in response.content.decode()
    assert not PlaybookRule.objects.filter(name="deep").exists()


def test_playbook_validator_never_echoes_a_huge_value():
    from core.exceptions import ConfigError
    from segmentation.playbook import conditions_validate

    with pytest.raises(ConfigError) as info:
        conditions_validate([{"feature": "x" * 100_000, "op": "gt", "value": [1] * 100_000}])
    assert len(str(info.value)) < 200
    with pytest.raises(ConfigError, match="at most 50 conditions"):
        conditions_validate([{"feature": "age", "op": "gt", "value": 1}] * 51)


@pytest.mark.django_db
def test_a_segment_colour_must_be_a_colour(admin_client, admin_user):
    customer_groups_create({0: 6, 1: 4})
    run = SegmentRunFactory(segmentation=SegmentationFactory(name="s"), k=2)
    segment = run.segments.first()
    segment.color = "red;}"
    with pytest.raises(ValidationError, match="expected a colour like #1f77b4"):
        segment.full_clean()
    segment.color = "#1F77b4"
    segment.full_clean()
    page = admin_client.get(f"/admin/segmentation/segment/{segment.pk}/change/")
    assert page.status_code == 200
    response = admin_client.post(
        f"/admin/segmentation/segment/{segment.pk}/change/",
        {"name": segment.name, "color": "url(x)", "strategy": "", "strategy_source": "playbook"},
    )
    assert response.status_code == 200 and "expected a colour like #1f77b4" in response.content.decode()


# --- entry points: never on debug settings by accident ---------------------------------------


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    full = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL")
    }
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=full, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", ["config.wsgi", "config.celery"])
def test_servers_default_to_production_settings(module):
    refused = _run(f"import {module}; from django.conf import settings; settings.DEBUG")
    assert refused.returncode != 0 and "SECRET_KEY must be set" in refused.stderr
    key = "k" * 60
    started = _run(
        f"import {module}; from django.conf import settings; import django; django.setup();"
        " print(settings.SETTINGS_MODULE, settings.DEBUG)",
        SECRET_KEY=key,
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["config.settings.production", "False"]


def test_manage_py_says_when_it_uses_development_settings():
    proc = _run(
        "import runpy, sys; sys.argv = ['manage.py', 'check']; runpy.run_path('manage.py', run_name='__main__')"
    )
    assert proc.returncode == 0, proc.stderr
    assert "DJANGO_SETTINGS_MODULE is not set; using the development settings" in proc.stderr
    quiet = _run(
        "import runpy, sys; sys.argv = ['manage.py', 'check']; runpy.run_path('manage.py', run_name='__main__')",
        DJANGO_SETTINGS_MODULE="config.settings.local",
    )
    assert quiet.returncode == 0 and "not set" not in quiet.stderr


def test_json_depth_reads_strings_and_escapes():
    from segmentation.validators import json_depth

    assert json_depth(json.dumps([{"feature": "[[[[", "v": '\\"[['}])) == 2
    assert json_depth(_nested(5000)) == 5000
