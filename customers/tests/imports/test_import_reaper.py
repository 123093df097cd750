"""Issue 14: customer imports left queued or running by a dead worker are failed by a reaper (as order imports
are), with the reason, their stored upload deleted; the beat runs it every 5 minutes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from customers.imports.jobs import customer_import_queue, customer_imports_reap_stuck
from customers.models import Customer, ImportJob, ImportStatus
from customers.tasks import reap_stuck_customer_imports, run_customer_import

pytestmark = pytest.mark.django_db
GOOD = b"CustomerID,Age\n1,30\n2,40\n"


@pytest.fixture(autouse=True)
def _var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.SEGMENTA_IMPORT_TIME_LIMIT = 600  # running imports are stuck after 600 + 120 s
    settings.SEGMENTA_RUN_STUCK_AFTER = 3600  # queued ones after an hour


def _queued(name: str = "big.csv") -> ImportJob:
    return customer_import_queue(upload=SimpleUploadedFile(name, GOOD), user=None)


def _age(job: ImportJob, **fields) -> None:
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def test_the_reaper_fails_stuck_imports_only():
    now = timezone.now()
    queued_lost = _queued("lost.csv")  # its message was lost: nobody took it in an hour
    _age(queued_lost, created_at=now - timedelta(hours=2))
    running_dead = _queued("dead.csv")  # its worker was SIGKILLed 20 minutes ago
    _age(running_dead, status=ImportStatus.RUNNING, started_at=now - timedelta(minutes=20))
    running_late = _queued("late.csv")  # waited long in the queue, taken 5 minutes ago: alive
    _age(
        running_late,
        created_at=now - timedelta(hours=3),
        status=ImportStatus.RUNNING,
        started_at=now - timedelta(minutes=5),
    )
    queued_fresh = _queued("fresh.csv")
    done = ImportJob.objects.create(file_name="done.csv", status=ImportStatus.SUCCEEDED)
    _age(done, created_at=now - timedelta(days=1))
    stored = {job.pk: job.stored_path for job in (queued_lost, running_dead)}

    assert customer_imports_reap_stuck() == 2

    jobs = {job.file_name: job for job in ImportJob.objects.all()}
    assert jobs["lost.csv"].status == ImportStatus.FAILED
    assert "no worker took it within 3,600 s; nothing was imported" in jobs["lost.csv"].error
    assert jobs["dead.csv"].status == ImportStatus.FAILED
    assert "its worker stopped (killed or out of memory)" in jobs["dead.csv"].error
    assert "within 720 s" in jobs["dead.csv"].error
    for pk, path in stored.items():
        assert ImportJob.objects.get(pk=pk).stored_path == ""
        assert not Path(path).exists()
    assert jobs["late.csv"].status == ImportStatus.RUNNING
    assert jobs["fresh.csv"].status == ImportStatus.QUEUED and jobs["fresh.csv"].pk == queued_fresh.pk
    assert jobs["done.csv"].status == ImportStatus.SUCCEEDED
    assert customer_imports_reap_stuck() == 0  # conditional: nothing twice
    assert reap_stuck_customer_imports() == 0  # the beat's task calls the same service


def test_a_reaped_import_is_not_run_by_a_late_message():
    job = _queued()
    _age(job, created_at=timezone.now() - timedelta(hours=2))
    assert customer_imports_reap_stuck() == 1
    assert run_customer_import(job.pk) == "skipped"  # the message arrives after all: nothing imported
    assert Customer.objects.count() == 0


def test_the_worker_records_when_it_took_the_import():
    job = _queued()
    before = timezone.now()
    assert run_customer_import(job.pk) == ImportStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.started_at is not None and job.started_at >= before
    assert Customer.objects.count() == 2
