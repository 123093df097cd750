"""The OpenAPI schema renders, validates against the OpenAPI 3 spec, and its docs need a login."""

from __future__ import annotations

import pytest
from django.core.management import call_command


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
    assert "external_id, segment_label, segment_name, run_id" in fmt["description"]
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
    html = viewer_client.get("/api/docs/").content.decode()
    assert "GET /api/campaigns/{id}/audience/" in html
    assert "external_id, segment_label, segment_name, run_id" in html
    assert 'id="schema-Campaign"' in html
    assert "cdn." not in html and "<script" not in html
