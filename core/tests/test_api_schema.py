"""The OpenAPI schema renders, validates against the OpenAPI 3 spec, and its docs need a login."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse


@pytest.mark.django_db
def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    import yaml

    schema = yaml.safe_load(out.read_text())
    for path in (
        "/api/segments/", "/api/runs/", "/api/runs/{id}/", "/api/campaigns/", "/api/campaigns/{id}/",
        "/api/campaigns/{id}/audience/",
    ):  # fmt: skip
        assert path in schema["paths"]
    audience = schema["paths"]["/api/campaigns/{id}/audience/"]["get"]
    fmt = next(p for p in audience["parameters"] if p["name"] == "format")
    assert {"json", "csv", "excel", "json-stream"} <= set(fmt["schema"]["enum"])
    columns = next(p for p in audience["parameters"] if p["name"] == "columns")
    assert "external_id, segment_label, segment_name, run_id" in columns["description"]
    assert "text/csv" in audience["responses"]["200"]["content"]
    assert "delete" not in schema["paths"]["/api/campaigns/{id}/"]


@pytest.mark.django_db
def test_schema_and_docs_need_login(anon_client, viewer_client):
    assert anon_client.get("/api/schema/").status_code in (401, 403)
    docs = anon_client.get("/api/docs/")
    assert docs.status_code == 302
    assert docs["Location"].startswith("/accounts/login/")
    assert viewer_client.get("/api/schema/").status_code == 200


@pytest.mark.django_db
def test_docs_are_served_without_cdn(viewer_client):
    response = viewer_client.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assets = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    # no inline script (Content-Security-Policy): the start-up script is a file served by the docs view itself
    start = [a for a in assets if a.startswith(reverse("api-docs"))]
    assert len(start) == 1 and "<script>" not in html
    assert reverse("api-schema") in viewer_client.get(start[0]).content.decode()
    for asset in (a for a in assets if a not in start):  # every other script, stylesheet and icon: a static file
        assert not re.match(r"(?i)^(https?:)?//", asset), asset
        assert asset.startswith(settings.STATIC_URL), asset
        assert finders.find(asset.removeprefix(settings.STATIC_URL)), asset
    assert "cdn." not in html
