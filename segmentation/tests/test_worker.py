"""Segment runs through a real Celery worker process (tests/worker.py)."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import call_command
from django.db import transaction

from customers.tests.factories import customer_blobs_create, customers_import_file
from segmentation.models import Membership, RunStatus, Segmentation, SegmentRun
from segmentation.services import claims, config, runs

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def _wait(run_id: int, until, timeout: float = 120.0) -> SegmentRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = SegmentRun.objects.get(pk=run_id)
        if until(run):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not get there in {timeout} s: {SegmentRun.objects.get(pk=run_id)}")


def _active_snapshot(seg: Segmentation) -> tuple[int, list]:
    seg.refresh_from_db()
    rows = sorted(
        Membership.objects.filter(run_id=seg.active_run_id).values_list("customer_id", "segment_id", "distance")
    )
    return seg.active_run_id, rows


@pytest.mark.datasets
def test_segment_command_through_the_worker_on_mall(celery_worker, mall_csv):
    customers_import_file(mall_csv)
    out = io.StringIO()
    call_command(
        "segment", "--features", "annual_income,spending_score", "--k", "auto", "--json", "--timeout", "180", stdout=out
    )
    summary = json.loads(out.getvalue())
    assert summary["status"] == "succeeded", celery_worker.log()
    assert summary["k"] == 5
    assert sorted((s["size"] for s in summary["segments"]), reverse=True) == [81, 39, 35, 23, 22]
    run = SegmentRun.objects.get(pk=summary["run"])
    assert run.worker and run.attempts == 1 and run.progress == 100


@pytest.mark.parametrize("worker_env", [{"SEGMENTA_TEST_SEGMENT_FAIL": "engine blew up"}])
def test_task_that_raises_fails_the_run_and_keeps_previous_segments(celery_worker):
    customer_blobs_create(150)
    seg = config.segmentation_get_or_create_default()
    first = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", enqueue=False, overrides={"k": 3})
    assert runs.run_execute(run_id=first.pk) == claims.SUCCEEDED  # in this process: no failure hook here
    before = _active_snapshot(seg)
    run = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", overrides={"k": 3})
    run = _wait(run.pk, lambda r: r.is_finished)
    assert run.status == RunStatus.FAILED, celery_worker.log()
    assert run.error == "RuntimeError: engine blew up"
    assert run.stage == "segmenting"
    assert _active_snapshot(seg) == before
    assert not Membership.objects.filter(run=run).exists()


@pytest.mark.parametrize("worker_env", [{"SEGMENTA_TEST_SEGMENT_DELAY": "4"}])
def test_worker_killed_mid_run_is_redelivered_and_completes(celery_worker, admin_client):
    customer_blobs_create(150)
    seg = config.segmentation_get_or_create_default()
    first = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", enqueue=False, overrides={"k": 3})
    runs.run_execute(run_id=first.pk)
    before = _active_snapshot(seg)
    run = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", overrides={"k": 3})
    running = _wait(run.pk, lambda r: r.status == RunStatus.RUNNING and r.stage == "preparing", timeout=60)
    killed = celery_worker.child_pids()
    assert killed, "no pool process to kill"
    celery_worker.kill_children()
    # Meanwhile the previous segments stay active and untouched.
    assert _active_snapshot(seg) == before
    run = _wait(run.pk, lambda r: r.is_finished, timeout=120)
    assert run.status == RunStatus.SUCCEEDED, (run.error, celery_worker.log())
    assert run.attempts == 2
    assert run.worker != running.worker
    assert run.error == ""
    assert any("was lost during attempt 1" in note for note in run.evidence["notes"])
    seg.refresh_from_db()
    assert seg.active_run_id == run.pk
    assert Membership.objects.filter(run=run).count() == 150
    assert Membership.objects.filter(run=first).count() == 150  # history kept
    # The run page says what happened.
    html = admin_client.get(f"/runs/{run.pk}/").content.decode()
    assert "Completed after a restart" in html and "was lost during attempt 1" in html


def test_two_requests_at_once_never_run_twice(celery_worker):
    customer_blobs_create(150)
    seg = config.segmentation_get_or_create_default()
    with transaction.atomic():  # two requests at once: both messages are sent when they commit
        a = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", overrides={"k": 3})
        b = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", overrides={"k": 3})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert SegmentRun.objects.filter(segmentation=seg, status=RunStatus.RUNNING).count() <= 1
        if all(r.is_finished for r in SegmentRun.objects.filter(pk__in=[a.pk, b.pk])):
            break
        time.sleep(0.1)
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == RunStatus.SUPERSEDED, celery_worker.log()
    assert b.status == RunStatus.SUCCEEDED
    seg.refresh_from_db()
    assert seg.active_run_id == b.pk


# Issue 14, findings 1 and 2: every request reaches an outcome, with two worker processes.
SLOW_RUN = {"SEGMENTA_TEST_SEGMENT_DELAY": "25", "SEGMENTA_RUN_BUSY_RETRY": "1"}


@pytest.mark.parametrize("worker_env", [SLOW_RUN])
def test_two_requests_during_a_slow_run_with_two_workers_both_reach_an_outcome(celery_worker):
    # Before: a waiting run retried with `self.retry(max_retries=None)`, i.e. the task's default of 5
    # retries; after the 5th (here ~6 s into a 25 s run) it stayed queued forever.
    celery_worker.start_another()
    customer_blobs_create(150)
    seg = config.segmentation_get_or_create_default()
    first = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", overrides={"k": 3})
    _wait(first.pk, lambda r: r.status == RunStatus.RUNNING and r.stage == "preparing", timeout=60)
    b = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", overrides={"k": 3})
    c = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", overrides={"k": 3})
    # The later request wins at once: the earlier queued one is superseded, not left queued.
    b = _wait(b.pk, lambda r: r.is_finished, timeout=30)
    assert b.status == RunStatus.SUPERSEDED
    # The other waits for the running run (many more than 5 tries), then runs.
    first = _wait(first.pk, lambda r: r.is_finished, timeout=120)
    assert first.status == RunStatus.SUCCEEDED, celery_worker.log()
    c = _wait(c.pk, lambda r: r.is_finished, timeout=150)
    assert c.status == RunStatus.SUCCEEDED, (c.error, celery_worker.log())
    assert not SegmentRun.objects.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).exists()
    seg.refresh_from_db()
    assert seg.active_run_id == c.pk
    assert f"superseded by run #{c.pk}" in b.error
    logs = celery_worker.log() + "".join(w.log() for w in celery_worker.others)
    assert logs.count("'waiting'") > 5, "the waiting run was looked at more than the 5 retries of before"


@pytest.mark.parametrize(
    "worker_env",
    [
        {
            "SEGMENTA_TEST_SEGMENT_DELAY": "8",
            "SEGMENTA_RUN_HEARTBEAT": "2",
            "SEGMENTA_RUN_SILENT_AFTER": "6",
            "SEGMENTA_RUN_REAP_EVERY": "2",
        }
    ],
)
def test_a_whole_worker_killed_is_noticed_within_seconds_and_its_run_requeued(celery_worker):
    # Before: with the main process killed too, nothing redelivered the message before the broker's
    # visibility timeout (an hour on Redis) and the reaper waited two hours: the run stayed "running".
    customer_blobs_create(150)
    seg = config.segmentation_get_or_create_default()
    first = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", enqueue=False, overrides={"k": 3})
    runs.run_execute(run_id=first.pk)
    before = _active_snapshot(seg)
    run = runs.run_request(segmentation=seg, requested_by=None, trigger="manual", overrides={"k": 3})
    running = _wait(run.pk, lambda r: r.status == RunStatus.RUNNING and r.stage == "preparing", timeout=60)
    celery_worker.kill_all()  # the machine is lost: main process and pool together
    killed_at = time.monotonic()
    celery_worker.start_another(beat=True)  # another machine, with the one beat (the reaper every 2 s here)
    requeued = _wait(run.pk, lambda r: r.worker != running.worker, timeout=60)
    noticed = time.monotonic() - killed_at
    print(f"whole worker killed: run re-queued after {noticed:.1f} s")
    assert noticed < 45, noticed
    assert _active_snapshot(seg) == before  # meanwhile the previous segments stay active and untouched
    run = _wait(run.pk, lambda r: r.is_finished, timeout=120)
    assert run.status == RunStatus.SUCCEEDED, (run.error, celery_worker.others[0].log())
    assert run.attempts == 2 and requeued.worker != running.worker
    assert any(f"no sign of life from worker {running.worker}" in note for note in run.evidence["notes"])
    seg.refresh_from_db()
    assert seg.active_run_id == run.pk
    assert Membership.objects.filter(run=run).count() == 150
