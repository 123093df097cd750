"""Segment runs executed in-process: request, claim, progress, activation, failure, concurrency, upkeep."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.utils import timezone
from psycopg import sql

from core import queueing
from core.exceptions import ConfigError
from customers.models import Customer
from customers.signals import customers_changed
from customers.tests.factories import customer_blobs_create
from segmentation import ml
from segmentation.models import Membership, RunPin, RunStatus, Segment, Segmentation, SegmentRun
from segmentation.services import claims, config, housekeeping, memberships, runs, runs_queue, schedules

pytestmark = pytest.mark.django_db


@pytest.fixture
def seg() -> Segmentation:
    return config.segmentation_get_or_create_default()


@pytest.fixture
def blobs() -> list[Customer]:
    return customer_blobs_create(300)


def _request(seg: Segmentation, **overrides) -> SegmentRun:
    return runs.run_request(segmentation=seg, requested_by=None, trigger="manual", overrides=overrides or None)


def _run(seg: Segmentation, **overrides) -> SegmentRun:
    run = _request(seg, **overrides)
    runs.run_execute(run_id=run.pk, worker="test:1")
    run.refresh_from_db()
    return run


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ------------------------------------------------------------------ request


def test_request_freezes_params_and_bumps_version(seg, admin_user):
    before = seg.version
    run = runs.run_request(segmentation=seg, requested_by=admin_user, trigger="manual", overrides={"k": 4})
    seg.refresh_from_db()
    assert seg.version == before + 1 == run.version
    assert run.status == RunStatus.QUEUED
    assert run.params["features"] == ["annual_income", "spending_score"]
    assert run.params["k"] == 4 and run.params["scaler"] == "minmax" and run.params["random_state"] == 42
    assert seg.k is None, "overrides are for this run only"
    assert run.requested_by == admin_user


def test_request_enqueues_only_on_commit(seg, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _request(seg)
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"features": ["income"]}, r"features: 'income' is not a customer field; allowed are gender, age"),
        ({"features": []}, r"features: at least one feature"),
        ({"k": 1}, r"k: allowed is auto or a number from 2 to 100; got 1"),
        ({"k_min": 5, "k_max": 3}, r"k_max: allowed is k_min \(5\) to 100; got 3"),
        ({"scaler": "log"}, r"scaler: allowed are minmax, standard, robust, shared, none; got 'log'"),
        ({"colour": "red"}, r"override 'colour': allowed are"),
    ],
)
def test_request_rejects_bad_config(seg, overrides, message):
    with pytest.raises(ConfigError, match=message):
        _request(seg, **overrides)
    assert not SegmentRun.objects.exists()


# ------------------------------------------------------------------ execute


def test_success_activates_run_with_segments_and_memberships(seg, blobs):
    run = _run(seg, k_max=5)
    seg.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert seg.active_run_id == run.pk
    assert run.chosen_k == 3
    assert (run.stage, run.progress) == ("done", 100)
    assert run.rows_used == 300 and run.rows_dropped == 0
    assert [e["k"] for e in run.evidence["per_k"]] == [2, 3, 4, 5]
    assert run.model and run.attempts == 1 and run.started_at and run.finished_at
    segments = list(Segment.objects.filter(run=run))
    assert sorted(s.size for s in segments) == [100, 100, 100]
    assert all(s.strategy for s in segments)
    assert Membership.objects.filter(run=run, fitted=True).count() == 300


def test_duplicate_delivery_is_a_no_op(seg, blobs):
    run = _run(seg, k=3)
    finished = run.finished_at
    assert runs.run_execute(run_id=run.pk, worker="test:2") == claims.DUPLICATE
    run.refresh_from_db()
    assert run.finished_at == finished and run.attempts == 1
    assert Membership.objects.filter(run=run).count() == 300
    assert runs.run_execute(run_id=999_999) == claims.MISSING


def test_progress_is_written_while_computing(seg, blobs, monkeypatch):
    seen = []
    real = ml.segment

    def spy(df, config, *, progress=None):
        progress("fitting", 0.5)
        row = SegmentRun.objects.values("stage", "progress", "heartbeat_at", "status").get()
        seen.append(row)
        return real(df, config, progress=progress)

    monkeypatch.setattr(ml, "segment", spy)
    run = _run(seg, k=3)
    assert run.status == RunStatus.SUCCEEDED
    assert seen[0]["status"] == RunStatus.RUNNING
    assert seen[0]["stage"] == "fitting"
    assert 40 <= seen[0]["progress"] <= 55
    assert seen[0]["heartbeat_at"] is not None


def test_activation_is_one_transaction_with_lineage(seg, blobs, monkeypatch):
    calls = []

    def inherit(*, run, previous):
        # inside the activation transaction: the run is already succeeded, not yet active
        calls.append((run.status, Segmentation.objects.get(pk=seg.pk).active_run_id, previous and previous.pk))
        assert transaction.get_connection().in_atomic_block

    monkeypatch.setattr("segmentation.services.lineage.segments_inherit", inherit)
    first = _run(seg, k=3)
    second = _run(seg, k=3)
    assert calls == [(RunStatus.SUCCEEDED, None, None), (RunStatus.SUCCEEDED, first.pk, first.pk)]
    seg.refresh_from_db()
    assert seg.active_run_id == second.pk


def test_failure_in_activation_rolls_back_and_removes_partial_results(seg, blobs, monkeypatch):
    first = _run(seg, k=3)

    def broken(*, run, previous):
        raise RuntimeError("lineage exploded")

    monkeypatch.setattr("segmentation.services.lineage.segments_inherit", broken)
    second = _run(seg, k=3)
    assert second.status == RunStatus.FAILED
    assert "lineage exploded" in second.error and second.stage == "activating"
    seg.refresh_from_db()
    assert seg.active_run_id == first.pk
    assert not Segment.objects.filter(run=second).exists()
    assert not Membership.objects.filter(run=second).exists()
    assert Membership.objects.filter(run=first).count() == 300


def test_engine_that_raises_fails_the_run_and_keeps_previous_active(seg, blobs, monkeypatch):
    first = _run(seg, k=3)
    before = sorted(Membership.objects.filter(run=first).values_list("customer_id", "segment_id", "distance"))

    def boom(df, config, *, progress=None):
        raise RuntimeError("boom in the engine")

    monkeypatch.setattr(ml, "segment", boom)
    second = _run(seg, k=3)
    assert second.status == RunStatus.FAILED
    assert second.error == "RuntimeError: boom in the engine"
    assert second.stage == "segmenting" and second.finished_at
    seg.refresh_from_db()
    assert seg.active_run_id == first.pk
    assert sorted(Membership.objects.filter(run=first).values_list("customer_id", "segment_id", "distance")) == before


def test_soft_time_limit_fails_with_timeout_message(seg, blobs, monkeypatch, settings):
    def slow(df, config, *, progress=None):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(ml, "segment", slow)
    run = _run(seg, k=3)
    assert run.status == RunStatus.FAILED
    assert run.error == f"timed out after {settings.SEGMENTA_RUN_TIME_LIMIT} s"


def test_too_few_customers_is_a_clear_failure(seg):
    customer_blobs_create(2)
    run = _run(seg)
    assert run.status == RunStatus.FAILED
    assert "few" in run.error.lower()
    assert run.stage == "checking the data"
    assert Customer.objects.count() == 2


def test_constant_feature_is_a_clear_failure(seg, blobs):
    Customer.objects.update(spending_score=50)
    run = _run(seg)
    assert run.status == RunStatus.FAILED
    assert "spending_score" in run.error
    assert Customer.objects.count() == 300


def test_all_missing_feature_is_a_clear_failure(seg, blobs):
    Customer.objects.update(age=None)
    run = _run(seg, features=["age", "annual_income"])
    assert run.status == RunStatus.FAILED
    assert run.error
    assert Customer.objects.count() == 300


# ------------------------------------------------------------------ concurrency


def test_later_request_supersedes_earlier_queued_one(seg, blobs):
    older = _request(seg, k=3)
    newer = _request(seg, k=3)
    assert runs.run_execute(run_id=older.pk, worker="test:1") == claims.SUPERSEDED
    assert runs.run_execute(run_id=newer.pk, worker="test:1") == claims.SUCCEEDED
    older.refresh_from_db()
    assert older.status == RunStatus.SUPERSEDED and "newer request" in older.error
    seg.refresh_from_db()
    assert seg.active_run_id == newer.pk


def test_request_while_one_is_running_waits(seg, blobs):
    running = _request(seg, k=3)
    assert claims.run_claim(run_id=running.pk, worker=f"{socket.gethostname()}:1") == claims.CLAIMED
    waiting = _request(seg, k=3)
    # pid 1 is alive: the holder is not gone, so the newer request must wait
    assert runs.run_execute(run_id=waiting.pk, worker="test:2") == claims.BUSY
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.QUEUED
    assert SegmentRun.objects.filter(status=RunStatus.RUNNING).count() == 1


def test_sending_a_request_supersedes_older_queued_ones_at_once(seg, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(queueing.current_app, "send_task", lambda name, args=None, kwargs=None: None)
    with django_capture_on_commit_callbacks(execute=True):
        older = _request(seg)
    with django_capture_on_commit_callbacks(execute=True):
        newer = _request(seg)
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.status == RunStatus.SUPERSEDED and older.finished_at is not None
    assert older.error == f"superseded by run #{newer.pk}, a newer request for the same segmentation"
    assert newer.status == RunStatus.QUEUED and newer.heartbeat_at is not None  # sent: a sign of its message


def test_a_waiting_run_backs_off_without_a_cap_then_gives_up_after_the_wait_limit(seg, settings):
    settings.SEGMENTA_RUN_BUSY_RETRY = 10
    settings.SEGMENTA_RUN_WAIT_LIMIT = 3600
    running = _request(seg)
    claims.run_claim(run_id=running.pk, worker=f"{socket.gethostname()}:1")
    waiting = _request(seg)
    assert runs.run_execute(run_id=waiting.pk, worker="test:2") == claims.BUSY
    assert runs_queue.run_busy_wait(run_id=waiting.pk) == 10
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.QUEUED and waiting.stage == f"waiting for run #{running.pk}"
    SegmentRun.objects.filter(pk=waiting.pk).update(queued_at=timezone.now() - timedelta(minutes=2))
    assert runs_queue.run_busy_wait(run_id=waiting.pk) == pytest.approx(30, abs=1)
    SegmentRun.objects.filter(pk=waiting.pk).update(queued_at=timezone.now() - timedelta(minutes=50))
    assert runs_queue.run_busy_wait(run_id=waiting.pk) == 60  # at most once a minute, however long
    SegmentRun.objects.filter(pk=waiting.pk).update(queued_at=timezone.now() - timedelta(minutes=61))
    assert runs_queue.run_busy_wait(run_id=waiting.pk) is None
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.FAILED and waiting.finished_at is not None
    assert waiting.error.startswith("waited 36") and f"for run #{running.pk} of the same segmentation" in waiting.error


def test_inline_run_waits_for_the_running_one_then_runs(seg, blobs):
    running = _request(seg, k=3)
    claims.run_claim(run_id=running.pk, worker=f"{socket.gethostname()}:1")
    inline = runs.run_request(segmentation=seg, requested_by=None, trigger="command", enqueue=False, overrides={"k": 3})
    waits = []

    def sleep(seconds: float) -> None:  # meanwhile the running run ends
        waits.append(seconds)
        SegmentRun.objects.filter(pk=running.pk).update(status=RunStatus.FAILED, finished_at=timezone.now())

    assert runs.run_execute_waiting(run_id=inline.pk, worker="test:2", sleep=sleep) == claims.SUCCEEDED
    assert len(waits) == 1
    seg.refresh_from_db()
    assert seg.active_run_id == inline.pk


def test_inline_run_interrupted_while_waiting_is_failed_not_left_queued(seg):
    running = _request(seg)
    claims.run_claim(run_id=running.pk, worker=f"{socket.gethostname()}:1")
    inline = runs.run_request(segmentation=seg, requested_by=None, trigger="command", enqueue=False)

    def sleep(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runs.run_execute_waiting(run_id=inline.pk, worker="test:2", sleep=sleep)
    inline.refresh_from_db()
    assert inline.status == RunStatus.FAILED and "interrupted" in inline.error


def test_database_never_allows_two_running_runs(seg):
    a, b = _request(seg), _request(seg)
    SegmentRun.objects.filter(pk=a.pk).update(status=RunStatus.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentRun.objects.filter(pk=b.pk).update(status=RunStatus.RUNNING)


def test_run_of_a_dead_worker_is_reclaimed_and_completes(seg, blobs):
    first = _run(seg, k=3)
    run = _request(seg, k=3)
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    assert claims.run_claim(run_id=run.pk, worker=dead) == claims.CLAIMED
    assert runs.run_execute(run_id=run.pk, worker="elsewhere:7") == claims.DUPLICATE  # other host, fresh
    assert runs.run_execute(run_id=run.pk, worker=f"{socket.gethostname()}:{_dead_pid() + 10**6}") == (claims.SUCCEEDED)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 2
    assert run.error == "" and "was lost during attempt 1" in run.evidence["notes"][0]
    assert Membership.objects.filter(run=run).count() == 300
    assert Membership.objects.filter(run=first).count() == 300


def test_run_lost_too_often_fails(seg, blobs, settings):
    settings.SEGMENTA_RUN_MAX_ATTEMPTS = 2
    first = _run(seg, k=3)
    run = _request(seg, k=3)
    claims.run_claim(run_id=run.pk, worker="gone:1")
    SegmentRun.objects.filter(pk=run.pk).update(attempts=2, heartbeat_at=timezone.now() - timedelta(hours=1))
    assert runs.run_execute(run_id=run.pk, worker="test:2") == claims.FAILED
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "lost 2 times" in run.error
    seg.refresh_from_db()
    assert seg.active_run_id == first.pk


# ------------------------------------------------------------------ upkeep


def test_reaper_requeues_a_silent_running_run_and_leaves_live_ones(seg, blobs, django_capture_on_commit_callbacks):
    first = _run(seg, k=3)
    stuck = _request(seg, k=3)
    other = Segmentation.objects.create(name="Other")
    fresh_run = runs.run_request(segmentation=other, requested_by=None, trigger="manual")
    claims.run_claim(run_id=stuck.pk, worker="elsewhere:1")
    claims.run_claim(run_id=fresh_run.pk, worker="w:2")
    SegmentRun.objects.filter(pk=stuck.pk).update(heartbeat_at=timezone.now() - timedelta(hours=3))
    assert housekeeping.run_reap_stuck(older_than=3600) == 1
    stuck.refresh_from_db()
    fresh_run.refresh_from_db()
    assert stuck.status == RunStatus.QUEUED and stuck.worker == "" and stuck.stage == "queued"
    assert "re-queued: no sign of life from worker elsewhere:1 for more than 3600 s during attempt 1" in stuck.error
    assert fresh_run.status == RunStatus.RUNNING
    seg.refresh_from_db()
    assert seg.active_run_id == first.pk  # a reaped run never touches the active segments
    # The re-sent message runs it; the note of what happened stays with its evidence.
    assert runs.run_execute(run_id=stuck.pk, worker="test:3") == claims.SUCCEEDED
    stuck.refresh_from_db()
    assert stuck.status == RunStatus.SUCCEEDED and stuck.attempts == 2 and stuck.error == ""
    assert any("re-queued" in note for note in stuck.evidence["notes"])


def test_reaper_fails_a_silent_run_past_its_attempts(seg, settings):
    settings.SEGMENTA_RUN_MAX_ATTEMPTS = 1
    stuck = _request(seg)
    claims.run_claim(run_id=stuck.pk, worker="w:1")
    SegmentRun.objects.filter(pk=stuck.pk).update(heartbeat_at=timezone.now() - timedelta(hours=3))
    assert housekeeping.run_reap_stuck(older_than=3600) == 1
    stuck.refresh_from_db()
    assert stuck.status == RunStatus.FAILED
    assert stuck.error == "stuck: no sign of life from worker w:1 for more than 3600 s (attempt 1 of 1); giving up"


def test_reaper_resends_a_queued_run_nobody_picked_up(seg, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(
        queueing.current_app, "send_task", lambda name, args=None, kwargs=None: sent.append((name, args))
    )
    settings.SEGMENTA_RUN_QUEUED_STALE = 600
    orphan = _request(seg)  # requested, its message never sent (on_commit never ran: like a lost message)
    assert housekeeping.run_reap_stuck() == 0  # not stale yet
    SegmentRun.objects.filter(pk=orphan.pk).update(queued_at=timezone.now() - timedelta(minutes=11))
    assert housekeeping.run_reap_stuck() == 1
    assert sent == [(runs_queue.RUN_TASK, [orphan.pk])]
    orphan.refresh_from_db()
    assert orphan.status == RunStatus.QUEUED and orphan.heartbeat_at is not None
    assert housekeeping.run_reap_stuck() == 0  # just sent: a sign of life
    # Still nobody after the wait limit: failed, with the reason.
    settings.SEGMENTA_RUN_WAIT_LIMIT = 3600
    SegmentRun.objects.filter(pk=orphan.pk).update(
        queued_at=timezone.now() - timedelta(hours=2), heartbeat_at=timezone.now() - timedelta(minutes=11)
    )
    assert housekeeping.run_reap_stuck() == 1
    orphan.refresh_from_db()
    assert orphan.status == RunStatus.FAILED and orphan.finished_at is not None
    assert "no worker took it up (is a worker running?)" in orphan.error


def test_reaper_supersedes_a_stale_queued_run_with_a_newer_request(seg, blobs):
    older = _request(seg, k=3)
    newer = _run(seg, k=3)
    SegmentRun.objects.filter(pk=older.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    assert housekeeping.run_reap_stuck() == 1
    older.refresh_from_db()
    assert older.status == RunStatus.SUPERSEDED and f"superseded by run #{newer.pk}" in older.error


def test_retention_keeps_newest_and_active(seg, blobs):
    runs = [_run(seg, k=3) for _ in range(4)]
    failed = _request(seg)
    SegmentRun.objects.filter(pk=failed.pk).update(status=RunStatus.FAILED)
    seg.refresh_from_db()
    assert seg.active_run_id == runs[-1].pk
    deleted = housekeeping.runs_prune_history(keep=2)
    assert deleted == 3
    assert set(SegmentRun.objects.values_list("pk", flat=True)) == {runs[-1].pk, failed.pk}
    assert Membership.objects.filter(run_id__in=[r.pk for r in runs[:3]]).count() == 0
    assert Membership.objects.filter(run=runs[-1]).count() == 300


def test_new_customers_are_assigned_by_nearest_centroid(seg, blobs):
    run = _run(seg, k=3)
    Customer.objects.bulk_create(
        [
            Customer(external_id="N1", annual_income=21, spending_score=19),
            Customer(external_id="N2", annual_income=99, spending_score=31),
            Customer(external_id="N3", annual_income=None, spending_score=50),
        ]
    )
    assert memberships.memberships_assign_new() == 2  # N3 lacks income: not a member under `drop`, never imputed
    new = {
        m.customer.external_id: m for m in Membership.objects.filter(run=run, fitted=False).select_related("customer")
    }
    assert set(new) == {"N1", "N2"}
    assert sum(Segment.objects.filter(run=run).values_list("size", flat=True)) == 302  # sizes count the members
    near_low = Membership.objects.filter(run=run, customer__external_id="C00000").get().segment_id
    near_high = Membership.objects.filter(run=run, customer__external_id="C00002").get().segment_id
    assert new["N1"].segment_id == near_low and new["N2"].segment_id == near_high
    assert np.isfinite(new["N1"].distance)
    assert memberships.memberships_assign_new() == 0


def test_customers_changed_queues_assignment_on_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        customers_changed.send(sender=Customer, customer_ids=[1])
    assert len(callbacks) == 1


def test_schedule_keeps_a_periodic_task_that_queues_scheduled_runs(seg):
    from django_celery_beat.models import PeriodicTask

    seg.schedule = "*/15 9 * * 1-5"
    seg.save()
    task = schedules.segmentation_schedule_sync(segmentation=seg)
    assert PeriodicTask.objects.get() == task and task.task == "segmentation.run_scheduled_segmentation"
    assert json.loads(task.kwargs) == {"segmentation_id": seg.pk} and task.enabled
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "*/15", "9", "*", "*", "1-5",
    )  # fmt: skip
    schedule = cron.schedule  # as Celery beat reads it
    assert schedule.day_of_week == {1, 2, 3, 4, 5} and schedule.hour == {9} and schedule.minute == {0, 15, 30, 45}

    run = schedules.run_scheduled(segmentation_id=seg.pk)
    assert run is not None and run.trigger == "schedule" and run.status == RunStatus.QUEUED

    seg.schedule = "0 9 * * 7"  # day of week 7 is Sunday, as in cron
    seg.full_clean()
    assert schedules.segmentation_schedule_sync(segmentation=seg).crontab.schedule.day_of_week == {0}
    assert PeriodicTask.objects.count() == 1

    seg.schedule = ""
    schedules.segmentation_schedule_sync(segmentation=seg)
    assert not PeriodicTask.objects.exists()


def test_periodic_task_of_a_deleted_segmentation_removes_itself(seg):
    from django_celery_beat.models import PeriodicTask

    seg.schedule = "0 6 * * *"
    schedules.segmentation_schedule_sync(segmentation=seg)
    seg_id = seg.pk
    seg.delete()
    assert PeriodicTask.objects.count() == 1
    assert schedules.run_scheduled(segmentation_id=seg_id) is None
    assert not PeriodicTask.objects.exists()


def test_day_of_week_seven_is_sunday_for_celery():
    assert schedules._day_of_week_for_celery("7") == "0"
    assert schedules._day_of_week_for_celery("5-7") == "5,6,0"
    assert schedules._day_of_week_for_celery("1-5") == "1-5" and schedules._day_of_week_for_celery("0-7/2") == "0,2,4,6"
    assert schedules._day_of_week_for_celery("*") == "*" and schedules._day_of_week_for_celery("mon-fri") == "mon-fri"


def test_model_clean_names_the_bad_field(seg):
    from django.core.exceptions import ValidationError

    seg.features = ["annual_income", "shoe_size"]
    with pytest.raises(ValidationError, match="shoe_size") as info:
        seg.full_clean()
    assert "features" in info.value.message_dict
    seg.features = ["annual_income"]
    seg.schedule = "every day"
    with pytest.raises(ValidationError, match="expected 5 cron fields") as info:
        seg.full_clean()
    assert "schedule" in info.value.message_dict


def test_model_clean_keys_engine_errors_by_model_field(seg):
    from django.core.exceptions import ValidationError

    seg.missing_policy, seg.k = "guess", 101
    with pytest.raises(ValidationError, match="allowed are drop, median, most_frequent; got 'guess'") as info:
        seg.full_clean()
    errors = info.value.message_dict
    assert set(errors) == {"missing_policy", "k"}
    assert "allowed are drop, median, most_frequent; got 'guess'" in errors["missing_policy"]
    assert errors["k"] == ["allowed is auto or a number from 2 to 100; got 101"]


def test_service_config_error_is_the_engine_error_keyed_by_field(seg):
    from segmentation.ml.errors import ConfigInvalid

    with pytest.raises(ConfigInvalid, match=r"k_min: allowed is 2 to 100; got 1") as info:
        _request(seg, k_min=1)
    assert isinstance(info.value, ConfigError) and info.value.errors == {"k_min": "allowed is 2 to 100; got 1"}


def test_database_refuses_k_outside_the_allowed_range(seg):
    with pytest.raises(IntegrityError), transaction.atomic():
        Segmentation.objects.filter(pk=seg.pk).update(k=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Segmentation.objects.filter(pk=seg.pk).update(k_max=101)
    Segmentation.objects.filter(pk=seg.pk).update(k=100, k_max=100)  # up to 100 (migration 0006)


def test_reap_runs_command(seg, blobs):
    import io

    from django.core.management import call_command

    run = _request(seg)
    claims.run_claim(run_id=run.pk, worker="w:1")
    SegmentRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=5))
    out = io.StringIO()
    call_command("reap_runs", "--prune", stdout=out)
    assert "Reaped 1 run(s)" in out.getvalue() and "Deleted 0 old run(s)" in out.getvalue()
    assert SegmentRun.objects.get(pk=run.pk).status == RunStatus.QUEUED  # re-queued: attempt 1 of 3


def test_retention_keeps_pinned_runs(seg, blobs):
    runs = [_run(seg, k=3) for _ in range(3)]
    RunPin.objects.create(run=runs[0], holder="campaign:1")
    RunPin.objects.create(run=runs[1], holder="campaign:2")
    assert housekeeping.runs_prune_history(keep=1) == 0
    assert SegmentRun.objects.count() == 3
    assert Membership.objects.filter(run=runs[0]).count() == 300
    RunPin.objects.all().delete()
    assert housekeeping.runs_prune_history(keep=1) == 2


def test_loading_reads_fields_and_numeric_attributes_set_based(django_assert_max_num_queries):
    from customers.models import CustomerAttribute
    from segmentation import loading

    assert loading.customers_frame(features=["age", "gender"]).empty
    CustomerAttribute.objects.create(key="visits", label="Visits", kind="number")
    CustomerAttribute.objects.create(key="city", label="City", kind="text")
    Customer.objects.bulk_create(
        [
            Customer(external_id="A", gender="female", age=30, attributes={"visits": 3}),
            Customer(external_id="B", gender="male", age=None, attributes={"visits": "n/a"}),
            Customer(external_id="C", gender="unknown", age=50, attributes={}),
        ]
    )
    assert loading.features_available() == ["gender", "age", "annual_income", "spending_score", "visits"]
    with django_assert_max_num_queries(2):
        df = loading.customers_frame(features=["gender", "age", "visits"])
    df = df.sort_values("gender")
    ids = dict(Customer.objects.values_list("external_id", "pk"))
    assert list(df.index) == [ids["A"], ids["B"], ids["C"]]
    assert df["gender"].tolist() == ["female", "male", "unknown"]
    assert df["age"].tolist()[0] == 30 and np.isnan(df["age"].tolist()[1])
    assert df["visits"].tolist()[0] == 3 and np.isnan(df["visits"].tolist()[1]) and np.isnan(df["visits"].tolist()[2])


def test_loading_numeric_features_gives_one_sorted_float_block():
    from django.db import connection

    from customers.models import CustomerAttribute
    from segmentation import loading

    CustomerAttribute.objects.create(key="visits", label="Visits", kind="number")
    Customer.objects.bulk_create(
        [
            Customer(external_id="C", age=50, annual_income=70.5, attributes={"visits": 1.25}),
            Customer(external_id="A", age=None, annual_income=15.0, attributes={"visits": "n/a"}),
            Customer(external_id="B", age=30, annual_income=None, attributes={}),
        ]
    )
    df = loading.customers_frame(features=["annual_income", "visits", "age"])
    ids = dict(Customer.objects.values_list("external_id", "pk"))
    assert list(df.columns) == ["annual_income", "visits", "age"]
    assert sorted(df.index) == sorted(ids.values()) and df.index.name == "id"
    assert (df.dtypes == "float64").all()
    if connection.vendor == "postgresql":  # sorted by id, one contiguous block for the engine
        assert list(df.index) == sorted(ids.values()) and df._mgr.nblocks == 1
        in_ranges = loading._frame_postgres_numeric(canonical=["annual_income", "age"], attributes=["visits"], chunk=2)
        assert in_ranges.equals(df[["annual_income", "age", "visits"]])
    c = df.loc[ids["C"]]
    assert (c["annual_income"], c["visits"], c["age"]) == (70.5, 1.25, 50.0)
    assert np.isnan(df.loc[ids["A"], "age"]) and np.isnan(df.loc[ids["A"], "visits"])
    assert np.isnan(df.loc[ids["B"], "annual_income"]) and np.isnan(df.loc[ids["B"], "visits"])
    assert loading.customers_frame(features=["age"]).shape == (3, 1)
    Customer.objects.all().delete()
    empty = loading.customers_frame(features=["age", "visits"])
    assert empty.empty and list(empty.columns) == ["age", "visits"]


def test_run_results_identical_on_reruns_and_whatever_the_write_path(seg, blobs):
    first, second = _run(seg, k_max=5), _run(seg, k_max=5)
    rows = [
        sorted(Membership.objects.filter(run=r).values_list("customer_id", "segment__label", "distance", "fitted"))
        for r in (first, second)
    ]
    assert len(rows[0]) == 300 and rows[0] == rows[1]
    assert first.chosen_k == second.chosen_k == 3


def _partitions() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [Membership._meta.db_table],
        )
        return {name for (name,) in cursor.fetchall()}


def _table_exists(name: str) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


@pytest.fixture
def postgres_only():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("membership partitions are PostgreSQL only")


def test_memberships_of_a_run_are_its_own_indexed_partition(postgres_only, seg, blobs):
    from django.db import connection

    table = Membership._meta.db_table
    first = _run(seg, k=3)
    part = f"{table}_run_{first.pk}"
    assert _partitions() == {f"{table}_default", part}
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname", [part])
        indexes = [d for (d,) in cursor.fetchall()]
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(part)))
        assert cursor.fetchone()[0] == 300
    assert any("(segment_id, customer_id)" in d for d in indexes)
    assert any("UNIQUE" in d and "(customer_id, run_id)" in d for d in indexes)
    # A membership written through the ORM (assignment of a new customer) lands in the run's partition.
    customer = Customer.objects.create(external_id="NEW", annual_income=50, spending_score=50)
    assert memberships.memberships_assign_new(segmentation=seg) == 1
    assert Membership.objects.filter(run=first, customer=customer, fitted=False).exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(run=first, customer=customer, segment=first.segments.first(), distance=0.0)
    # Pruning history drops the partition of the removed run.
    second = _run(seg, k=3)
    assert housekeeping.runs_prune_history(keep=1, segmentation=seg) == 1
    assert not _table_exists(part)
    assert _partitions() == {f"{table}_default", f"{table}_run_{second.pk}"}
    assert Membership.objects.filter(run=second, fitted=True).count() == 301  # the new customer is fitted now


def test_failure_while_copying_memberships_leaves_no_rows_and_no_table(postgres_only, seg, blobs, monkeypatch):
    import functools

    first = _run(seg, k=3)
    real_rows = memberships._membership_rows_binary
    calls = []

    def rows_then_boom(**kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise OSError("connection to the database lost while copying")
        return real_rows(**kwargs)

    monkeypatch.setattr(memberships, "_membership_rows_binary", rows_then_boom)
    monkeypatch.setattr(
        memberships,
        "memberships_partition_write",
        functools.partial(memberships.memberships_partition_write, batch=100),
    )
    second = _run(seg, k=3)
    assert second.status == RunStatus.FAILED and second.stage == "saving memberships"
    assert "connection to the database lost" in second.error and len(calls) == 2
    seg.refresh_from_db()
    assert seg.active_run_id == first.pk
    assert not Membership.objects.filter(run=second).exists()
    assert not _table_exists(f"{Membership._meta.db_table}_run_{second.pk}")
    assert Membership.objects.filter(run=first).count() == 300


@pytest.mark.django_db(transaction=True)
def test_loading_in_parallel_reads_one_snapshot(postgres_only):
    from segmentation import loading

    Customer.objects.bulk_create(
        Customer(external_id=f"P{i}", age=20 + i % 50, annual_income=None if i % 7 == 0 else i * 0.5) for i in range(40)
    )
    features = dict(canonical=["age", "annual_income"], attributes=[])
    serial = loading._frame_postgres_numeric(**features, workers=1)
    parallel = loading._frame_postgres_numeric(**features, workers=3, chunk=7, parallel_from=0)
    assert len(serial) == 40 and serial.equals(parallel) and parallel.index.is_monotonic_increasing
    assert parallel._mgr.nblocks == 1


@pytest.mark.django_db(transaction=True)
def test_pruning_gives_way_to_a_busy_reader_and_prunes_later(postgres_only):
    import psycopg
    from django.db import OperationalError, connection

    customer_blobs_create(90)
    seg = config.segmentation_get_or_create_default()
    first, second = _run(seg, k=3), _run(seg, k=3)
    part = f"{Membership._meta.db_table}_run_{first.pk}"
    info = connection.connection.info
    with psycopg.connect(info.dsn, password=info.password or None) as reader:  # an export still reading
        reader.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(Membership._meta.db_table))).fetchone()
        with pytest.raises(OperationalError, match="lock timeout"):
            memberships.memberships_remove(run_ids=[first.pk], lock_timeout_ms=100)
        assert _table_exists(part)
    assert housekeeping.runs_prune_history(keep=1, segmentation=seg) == 1
    assert not _table_exists(part) and Membership.objects.filter(run=second).count() == 90


def test_admin_save_keeps_the_periodic_task_in_step(seg, admin_client):
    from django_celery_beat.models import PeriodicTask

    page = admin_client.get(f"/admin/segmentation/segmentation/{seg.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data.update({"features": '["annual_income", "spending_score"]', "age_bins": "[18, 25, 35, 45, 55, 65]"})
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        data.update({f"{management.prefix}-{k}": v for k, v in management.initial.items()})
    data["schedule"] = "0 6 * * 1"
    response = admin_client.post(f"/admin/segmentation/segmentation/{seg.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PeriodicTask.objects.get().crontab.day_of_week == "1"
    data["schedule"] = ""
    assert admin_client.post(f"/admin/segmentation/segmentation/{seg.pk}/change/", data).status_code == 302
    assert not PeriodicTask.objects.exists()


def test_imputing_run_keeps_customers_with_most_features_and_counts_the_rest(seg, blobs):
    Customer.objects.bulk_create(
        [
            Customer(external_id="TWO", age=30, annual_income=None, spending_score=50),  # 2 of 3: imputed
            Customer(external_id="ONE", age=30, annual_income=None, spending_score=None),  # 1 of 3: not a member
            Customer(external_id="NONE", attributes={"visits": 3}),  # none of them
        ]
    )
    run = _run(seg, features=["age", "annual_income", "spending_score"], missing="median", k=3)

    members = set(Membership.objects.filter(run=run).values_list("customer__external_id", flat=True))
    assert run.status == RunStatus.SUCCEEDED and "TWO" in members and not members & {"ONE", "NONE"}
    assert run.rows_used == 301 and run.rows_dropped == 2
    assert run.excluded == {"missing 2 of 3 features": 1, "missing all 3 features": 1}
    assert sum(run.segments.values_list("size", flat=True)) == len(members) == 301


def test_redis_visibility_timeout_follows_the_run_time_limit_and_the_reaper_runs_every_minute():
    code = (
        "import config.settings.base as b; "
        "print(b.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'], "
        "b.SEGMENTA_RUN_SILENT_AFTER, b.SEGMENTA_RUN_STUCK_AFTER)"
    )
    env = {"PATH": "/usr/bin:/bin", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0", "SEGMENTA_RUN_TIME_LIMIT": "600"}
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=repo, capture_output=True, text=True, check=True)
    out = out.stdout
    assert out.split() == ["780", "180", "7200"]  # hard limit (+60 s) + 2 min; not Redis's default of an hour
    from celery import current_app  # the project's app (no import of config from here: layers)

    reaper = current_app.conf.beat_schedule["segmentation-reap-stuck-runs"]
    assert reaper["task"] == "segmentation.reap_stuck_runs" and reaper["schedule"] <= 120


@pytest.mark.django_db(transaction=True)
def test_heartbeat_thread_beats_through_a_silent_stage_and_stops_when_the_run_is_lost(seg, settings):
    import time

    settings.SEGMENTA_RUN_HEARTBEAT = 1
    run = _request(seg)
    claims.run_claim(run_id=run.pk, worker="test:1")
    old = timezone.now() - timedelta(hours=1)
    SegmentRun.objects.filter(pk=run.pk).update(heartbeat_at=old)
    with runs.Heartbeat(run_id=run.pk, worker="test:1") as beat:
        time.sleep(2.5)  # a stage with no progress (loading, writing memberships)
        run.refresh_from_db()
        assert run.heartbeat_at > old + timedelta(minutes=59)
        SegmentRun.objects.filter(pk=run.pk).update(worker="other:2")  # taken over: the thread stops writing
        time.sleep(1.5)
        assert not beat._thread.is_alive()
