"""Large customer uploads are imported by the worker (issue 14, finding 3): a queued ImportJob, a thin task
that claims it once, a time limit that fails it with its reason, the page that waits for the outcome."""

from __future__ import annotations

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.imports import jobs, service
from customers.models import Customer, ImportJob, ImportStatus
from customers.tasks import run_customer_import

pytestmark = pytest.mark.django_db
GOOD = b"CustomerID,Age\n1,30\n2,40\n3,50\n"


@pytest.fixture(autouse=True)
def _small_inline_limit(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.SEGMENTA_IMPORT_INLINE_MAX_BYTES = 10  # every test upload goes to the worker


@pytest.fixture
def run_inline(monkeypatch):
    """Run the task in the test process when the upload commits (no worker)."""
    ran: list[str] = []
    monkeypatch.setattr(
        jobs, "customer_import_enqueue", lambda *, import_id: ran.append(run_customer_import(import_id))
    )
    return ran


def upload(client, data: bytes = GOOD, **fields):
    return client.post(reverse("customers:import"), {"file": SimpleUploadedFile("big.csv", data), **fields})


def test_a_large_upload_is_queued_then_imported_by_the_task(
    marketer_client, run_inline, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(marketer_client)
    assert response.status_code == 302
    assert run_inline == [ImportStatus.SUCCEEDED]
    job = ImportJob.objects.get()
    assert (job.status, job.rows_added, job.stored_path, job.source) == (ImportStatus.SUCCEEDED, 3, "", "upload")
    assert job.created_by is not None
    assert Customer.objects.count() == 3
    assert list((settings.VAR_DIR / "customer-uploads").iterdir()) == []  # the stored upload is deleted
    page = marketer_client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in page and "Refused" not in page


def test_a_queued_import_page_waits_for_the_outcome(marketer_client, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(jobs, "customer_import_enqueue", lambda *, import_id: sent.append(import_id))
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(marketer_client, dry_run="on")
    job = ImportJob.objects.get()
    assert sent == [job.pk] and job.status == ImportStatus.QUEUED and job.options == {"dry_run": True}
    page = marketer_client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in page and "Waiting for the worker" in page
    assert run_customer_import(job.pk) == ImportStatus.DRY_RUN
    assert run_customer_import(job.pk) == "skipped"  # a redelivered message does nothing
    assert Customer.objects.count() == 0


def test_a_refused_queued_file_fails_with_its_reason(marketer_client, run_inline, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(marketer_client, b"CustomerID,Age\n1,abc\n")
    assert run_inline == [ImportStatus.FAILED]
    html = marketer_client.get(response["Location"]).content.decode()
    assert "row 2, column Age: &#x27;abc&#x27; is not a number" in html and "Nothing was changed." in html


def test_past_the_time_limit_the_import_fails_with_that_reason(
    marketer_client, run_inline, django_capture_on_commit_callbacks, monkeypatch
):
    def too_slow(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(service.validation, "chunk_validate", too_slow)
    with pytest.raises(SoftTimeLimitExceeded), django_capture_on_commit_callbacks(execute=True):
        upload(marketer_client)
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert job.error == (
        "the import took longer than 1,800 seconds and was stopped, so nothing was imported; split the file"
    )
    assert job.stored_path == "" and Customer.objects.count() == 0


def test_small_uploads_are_still_imported_at_once(marketer_client, settings):
    settings.SEGMENTA_IMPORT_INLINE_MAX_BYTES = 1024 * 1024
    response = upload(marketer_client)
    assert response.status_code == 302 and Customer.objects.count() == 3
    assert ImportJob.objects.get().status == ImportStatus.SUCCEEDED


@pytest.mark.worker
@pytest.mark.slow
def test_a_large_upload_is_imported_by_a_real_worker(celery_worker, marketer_client):
    import time

    rows = b"".join(b"c%d,%d\n" % (i, 20 + i % 60) for i in range(5000))
    response = upload(marketer_client, b"CustomerID,Age\n" + rows)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    deadline = time.monotonic() + 120
    while not job.is_done and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED, (job.error, celery_worker.log())
    assert job.rows_added == 5000 and Customer.objects.count() == 5000 and job.stored_path == ""
