"""Run triggers per persona: the run-request view, the status endpoint and the admin action."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from segmentation.models import RunStatus, Segmentation, SegmentRun
from segmentation.services import config, runs

pytestmark = pytest.mark.django_db


@pytest.fixture
def seg() -> Segmentation:
    return config.segmentation_get_or_create_default()


def test_admin_requests_a_run_and_is_sent_to_the_run_page(admin_client, seg, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(reverse("segmentation:run-request", args=[seg.pk]))
    run = SegmentRun.objects.get()
    assert response.status_code == 302
    assert response["Location"].rstrip("/").endswith(f"/runs/{run.pk}")
    assert run.status == RunStatus.QUEUED and run.trigger == "manual" and run.requested_by.username == "alice-admin"
    assert len(callbacks) == 1


@pytest.mark.parametrize("persona", ["marketer_client", "viewer_client", "outsider_user"])
def test_others_may_not_request_a_run(request, persona, seg):
    client = request.getfixturevalue(persona)
    if not isinstance(client, Client):
        user, client = client, Client()
        client.force_login(user)
    response = client.post(reverse("segmentation:run-request", args=[seg.pk]))
    assert response.status_code == 403
    assert not SegmentRun.objects.exists()


def test_anonymous_is_sent_to_login(anon_client, seg):
    response = anon_client.post(reverse("segmentation:run-request", args=[seg.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not SegmentRun.objects.exists()


def test_run_request_needs_post_and_csrf(admin_user, seg):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.get(reverse("segmentation:run-request", args=[seg.pk])).status_code == 405
    assert client.post(reverse("segmentation:run-request", args=[seg.pk])).status_code == 403
    assert not SegmentRun.objects.exists()


def test_run_request_unknown_segmentation_is_404(admin_client):
    assert admin_client.post(reverse("segmentation:run-request", args=[12345])).status_code == 404


def test_run_request_with_a_bad_saved_config_says_why(admin_client, seg):
    Segmentation.objects.filter(pk=seg.pk).update(features=["shoe_size"])
    evil = admin_client.post(reverse("segmentation:run-request", args=[seg.pk]), HTTP_REFERER="https://evil.example/x")
    assert evil.status_code == 302 and "evil.example" not in evil["Location"]
    response = admin_client.post(reverse("segmentation:run-request", args=[seg.pk]), follow=True)
    assert not SegmentRun.objects.exists()
    assert "shoe_size" in " ".join(str(m) for m in response.context["messages"])


@pytest.mark.parametrize("persona", ["admin_client", "marketer_client", "viewer_client"])
def test_status_endpoint(request, persona, seg):
    run = runs.run_request(segmentation=seg, requested_by=None, trigger="manual")
    response = request.getfixturevalue(persona).get(reverse("segmentation:run-status", args=[run.pk]))
    assert response.status_code == 200
    assert response.json() == {
        "id": run.pk,
        "status": "queued",
        "stage": "queued",
        "progress": 0,
        "error": "",
        "chosen_k": None,
        "finished_at": None,
    }
    assert response["Cache-Control"] == "no-store"


def test_status_endpoint_refuses_outsiders_and_anonymous(outsider_user, anon_client, seg):
    run = runs.run_request(segmentation=seg, requested_by=None, trigger="manual")
    client = Client()
    client.force_login(outsider_user)
    assert client.get(reverse("segmentation:run-status", args=[run.pk])).status_code == 403
    assert anon_client.get(reverse("segmentation:run-status", args=[run.pk])).status_code == 302
    assert client.get(reverse("segmentation:run-status", args=[999])).status_code == 403


# ------------------------------------------------------------------ admin action

CHANGELIST = "admin:segmentation_segmentation_changelist"


def _action(client: Client, seg: Segmentation, **extra):
    data = {"action": "resegment_now", "_selected_action": [seg.pk], **extra}
    return client.post(reverse(CHANGELIST), data)


def test_admin_action_confirms_then_queues(admin_client, seg, django_capture_on_commit_callbacks):
    response = _action(admin_client, seg)
    assert response.status_code == 200
    assert b"Re-segment now?" in response.content and seg.name.encode() in response.content
    assert not SegmentRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _action(admin_client, seg, confirm="yes")
    run = SegmentRun.objects.get()
    assert response.status_code == 302
    assert run.trigger == "admin" and len(callbacks) == 1
    messages = [str(m) for m in admin_client.get(reverse(CHANGELIST)).context["messages"]]
    assert any(f"run #{run.pk}" in m and "Queued 1 run" in m for m in messages)


@pytest.mark.parametrize("persona", ["marketer_client", "viewer_client"])
def test_admin_action_refused_to_others(request, persona, seg):
    client = request.getfixturevalue(persona)
    response = client.get(reverse(CHANGELIST))
    if response.status_code == 200:
        assert b"resegment_now" not in response.content
    _action(client, seg, confirm="yes")
    assert not SegmentRun.objects.exists()


def test_run_admin_is_read_only_with_evidence(admin_client, seg):
    run = runs.run_request(segmentation=seg, requested_by=None, trigger="manual")
    response = admin_client.get(reverse("admin:segmentation_segmentrun_change", args=[run.pk]))
    assert response.status_code == 200
    assert b"Evidence" in response.content
    assert b'name="_save"' not in response.content
    page = admin_client.get(reverse("admin:segmentation_segmentation_change", args=[seg.pk]))
    assert page.status_code == 200 and f"Run #{run.pk}".encode() in page.content or b"queued" in page.content
