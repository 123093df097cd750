"""The order import through a real Celery worker: the upload is queued, the worker imports it."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.orders.models import Order, OrderImport, OrderImportStatus
from customers.orders.service import order_import_queue
from customers.tests.orders.factories import ONLINE_RETAIL

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(import_id: int, timeout: float = 90) -> OrderImport:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = OrderImport.objects.get(pk=import_id)
        if job.is_done:
            return job
        time.sleep(0.3)
    raise AssertionError(f"import {import_id} not finished in {timeout} s")


def test_worker_imports_a_queued_upload_and_refuses_a_bad_one(celery_worker):
    upload = SimpleUploadedFile("retail.csv", ONLINE_RETAIL.encode(), content_type="text/csv")
    job = order_import_queue(upload=upload, user=None, options={"mapping": {}, "columns": ""})
    job = _wait(job.pk)
    assert job.status == OrderImportStatus.SUCCEEDED, (job.error, celery_worker.log())
    assert job.counts["imported"] == 6 and Order.objects.count() == 4
    bad = SimpleUploadedFile("bad.csv", b"\x00\x01binary\x00" * 40, content_type="text/csv")
    job = _wait(order_import_queue(upload=bad, user=None, options={"mapping": {}, "columns": ""}).pk)
    assert job.status == OrderImportStatus.FAILED and "not a CSV" in job.error, celery_worker.log()
    assert Order.objects.count() == 4
