"""Issue 14: a JSON API body nested thousands of levels deep is a 400 with a message, not a 500 (RecursionError)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from core.parsers import JSON_MAX_DEPTH, json_depth_exceeds


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_login(admin_user)  # a session: the upload-limit middleware sees a user
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("levels", [5000, 200_000])
def test_a_deeply_nested_json_body_is_a_json_400(api, levels):
    body = '{"name": "deep", "segments": ' + _nested(levels) + "}"
    response = api.post("/api/campaigns/", body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert f"nested more than {JSON_MAX_DEPTH} levels deep" in error["message"]


@pytest.mark.django_db
def test_an_ordinary_body_still_parses(api):
    response = api.post("/api/campaigns/", {"name": "", "segments": []}, format="json")
    assert response.status_code == 400  # a validation error, so the body was parsed
    assert "name" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_malformed_json_keeps_the_decoders_message(api):
    response = api.post("/api/campaigns/", '{"name": ', content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error - Expecting value" in response.json()["error"]["message"]


def test_depth_counts_brackets_outside_strings_only():
    assert not json_depth_exceeds(json.dumps({"a": "[" * 1000, "b": '\\"[[' * 100}))
    assert not json_depth_exceeds(_nested(JSON_MAX_DEPTH))
    assert json_depth_exceeds(_nested(JSON_MAX_DEPTH + 1))
    assert json_depth_exceeds('{"a": "x\\"y", "b": ' + _nested(JSON_MAX_DEPTH) + "}")
