"""Celery tasks of segment runs: thin wrappers that load by id and call the services.

`segmentation.run_segment_run` is acks_late + reject_on_worker_lost: a worker killed mid-run has its
message redelivered, and the claim (`segmentation.services.claims.run_claim`) lets the redelivery take
the run over (see `segmentation.services.runs`). Only transient database / broker errors are retried;
anything else fails the run with its reason. The soft time limit (SEGMENTA_RUN_TIME_LIMIT) fails the run
"timed out after N s"; if the task ignores it, the hard limit (60 s later) kills the process and the
reaper re-queues or fails the run. A run whose segmentation already has a running run waits
(`segmentation.services.runs_queue.run_busy_wait`): the task sends its message again with a countdown
(SEGMENTA_RUN_BUSY_RETRY s growing to once a minute), as many times as needed, until it can claim the run,
a newer request supersedes it, or it has been queued longer than SEGMENTA_RUN_WAIT_LIMIT (then it fails
with the reason). Not `self.retry`: its retries are capped (`max_retries=None` in the call means the
task's default, 5), and the transient-error retries keep their own count.

Celery beat (django-celery-beat's DatabaseScheduler): each segmentation with a cron `schedule` has a
periodic task that sends `segmentation.run_scheduled_segmentation` (segmentation.services.schedules);
the housekeeping tasks (`segmentation.reap_stuck_runs`, `segmentation.prune_runs`) are declared in
`config/celery.py`.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from segmentation.services import claims, housekeeping, memberships, runs, runs_queue, schedules

TRANSIENT = (DatabaseOperationalError, InterfaceError, BrokerOperationalError)


@shared_task(
    name="segmentation.run_segment_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.SEGMENTA_RUN_TIME_LIMIT,
    time_limit=settings.SEGMENTA_RUN_TIME_LIMIT + 60,
    max_retries=5,
)
def run_segment_run(self, run_id: int) -> str:
    try:
        outcome = runs.run_execute(run_id=run_id, worker=claims.worker_identity())
    except TRANSIENT as exc:  # the claim could not reach the database: try again later
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1))) from exc
    if outcome == claims.BUSY:  # another run of the same segmentation is running: wait for it
        countdown = runs_queue.run_busy_wait(run_id=run_id)
        if countdown is None:  # waited too long (the run says why), or superseded meanwhile
            return runs_queue.run_status_of(run_id=run_id)
        self.apply_async(args=[run_id], countdown=countdown)  # a fresh message: no retry cap
        return "waiting"
    return outcome


@shared_task(name="segmentation.reap_stuck_runs")
def reap_stuck_runs() -> int:
    return housekeeping.run_reap_stuck(older_than=settings.SEGMENTA_RUN_SILENT_AFTER)


@shared_task(name="segmentation.run_scheduled_segmentation")
def run_scheduled_segmentation(segmentation_id: int) -> int | None:
    run = schedules.run_scheduled(segmentation_id=segmentation_id)
    return run.pk if run is not None else None


@shared_task(name="segmentation.assign_new_customers", acks_late=True, max_retries=5, bind=True)
def assign_new_customers(self) -> int:
    try:
        return memberships.memberships_assign_new()
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=10) from exc


@shared_task(name="segmentation.prune_runs")
def prune_runs() -> int:
    return housekeeping.runs_prune_history(keep=settings.SEGMENTA_RUN_RETENTION)
