"""A run requested while the task broker cannot be reached fails with the reason, and the user is told.

The broker is a closed local port. Requests commit for real (transactional database) so that the
enqueue runs on commit as it does in production, before the view or admin action answers.
"""

from __future__ import annotations

import time

import pytest
from django.contrib.messages import constants
from django.test import Client
from django.urls import reverse

from config.celery import app
from segmentation.models import RunStatus, Segmentation, SegmentRun
from segmentation.services import config, runs
from tests.worker import _reset_producers

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"
REASON = "the task broker is unreachable"


@pytest.fixture
def unreachable_broker(monkeypatch):
    """Point the Celery app (as the web process sees it) at a broker nobody listens on."""
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", CLOSED_PORT_BROKER)
    overrides = {"CELERY_BROKER_URL": CLOSED_PORT_BROKER}
    if app.conf.get("CELERY_BROKER_TRANSPORT_OPTIONS"):  # the filesystem broker's folders mean nothing to Redis
        overrides["CELERY_BROKER_TRANSPORT_OPTIONS"] = {}
    saved = {key: app.conf.get(key) for key in overrides}
    app.conf.update(overrides)
    _reset_producers(app)
    yield CLOSED_PORT_BROKER
    monkeypatch.undo()
    app.conf.update(saved)
    _reset_producers(app)


@pytest.fixture
def seg() -> Segmentation:
    return config.segmentation_get_or_create_default()


def _messages(client: Client) -> list[tuple[int, str]]:
    response = client.get(reverse("segmentation:dashboard"))
    return [(m.level, str(m)) for m in response.context["messages"]]


def _assert_failed_with_reason(run: SegmentRun) -> None:
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.stage == "queueing"
    assert REASON in run.error
    assert run.finished_at is not None


def _assert_told(messages: list[tuple[int, str]], run: SegmentRun) -> None:
    errors = [text for level, text in messages if level == constants.ERROR]
    assert any(f"#{run.pk}" in text and REASON in text for text in errors), messages
    assert not any("queued" in text.lower() for _, text in messages), messages
    assert not any(level == constants.SUCCESS for level, _ in messages), messages


def test_service_fails_the_run_with_the_reason(unreachable_broker, seg):
    started = time.monotonic()
    run = runs.run_request(segmentation=seg, requested_by=None, trigger="manual")
    assert time.monotonic() - started < 30, "an unreachable broker must not hang the request"
    _assert_failed_with_reason(run)


def test_dashboard_resegment_tells_the_user(unreachable_broker, admin_client, seg):
    response = admin_client.post(reverse("segmentation:run-request", args=[seg.pk]))
    assert response.status_code == 302
    run = SegmentRun.objects.get()
    _assert_failed_with_reason(run)
    _assert_told(_messages(admin_client), run)


def test_admin_action_tells_the_user(unreachable_broker, admin_client, seg):
    changelist = reverse("admin:segmentation_segmentation_changelist")
    data = {"action": "resegment_now", "_selected_action": [seg.pk], "confirm": "yes"}
    response = admin_client.post(changelist, data)
    assert response.status_code == 302
    run = SegmentRun.objects.get()
    _assert_failed_with_reason(run)
    _assert_told(_messages(admin_client), run)


def test_editor_save_and_run_tells_the_user(unreachable_broker, admin_client):
    from segmentation.tests.test_editor import NEW, form_data

    response = admin_client.post(NEW, form_data(action="save_run"))
    assert response.status_code == 302
    run = SegmentRun.objects.get()
    _assert_failed_with_reason(run)
    errors = [text for level, text in _messages(admin_client) if level == constants.ERROR]
    assert any(f"run #{run.pk} failed" in text and REASON in text for text in errors), errors
