"""A customer import as a queued row: the page's door for large files, the task's run, the reaper.

`customer_import_queue` stores the upload and queues the task after commit; the worker's
`customer_import_run` claims the row (queued -> running, one worker only) and runs the one import
service (`service.customer_import`) on the stored file; `customer_imports_reap_stuck` fails rows a
dead worker left behind (the rule of `customers.stuck_jobs`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from core.exceptions import DataError
from core.uploads import upload_name, upload_store
from customers.imports.service import customer_import
from customers.models import ImportJob, ImportStatus
from customers.stuck_jobs import stuck_jobs, stuck_jobs_fail

#: The Celery task that runs a queued customer import (customers.tasks), sent by name as runs are.
CUSTOMER_IMPORT_TASK = "customers.run_customer_import"


def customer_upload_folder() -> Path:
    return Path(settings.VAR_DIR) / "customer-uploads"


def customer_import_queue(
    *,
    upload: Any,
    user: AbstractBaseUser | AnonymousUser | None,
    source: str = "upload",
    mapping: dict[str, str] | None = None,
    skip_invalid: bool = False,
    number_rows: bool = False,
    dry_run: bool = False,
) -> ImportJob:
    """Store an uploaded file and queue its import: the worker parses it (with the task's time limit)
    while the page shows the queued job. The task is sent after commit."""
    stored = upload_store(upload=upload, folder=customer_upload_folder())
    job = ImportJob.objects.create(
        created_by=user if getattr(user, "is_authenticated", False) else None,
        source=source,
        file_name=upload_name(upload),
        file_size=stored.stat().st_size,
        status=ImportStatus.QUEUED,
        skip_invalid=skip_invalid,
        numbered_rows=number_rows,
        mapping=mapping or {},
        stored_path=str(stored),
        options={"dry_run": dry_run},
    )
    job_id = job.pk
    transaction.on_commit(lambda: customer_import_enqueue(import_id=job_id))
    return job


def customer_import_enqueue(*, import_id: int) -> None:
    current_app.send_task(CUSTOMER_IMPORT_TASK, args=[import_id])


def customer_import_run(*, import_id: int) -> str:
    """Run a queued import once: claim it (queued -> running), import its stored file, delete the file.

    Returns "skipped" when it was not queued (a redelivered message), else the job's status."""
    claimed = ImportJob.objects.filter(pk=import_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "skipped"
    job = ImportJob.objects.select_related("created_by").get(pk=import_id)
    stored = Path(job.stored_path)
    try:
        customer_import(
            file=stored,
            file_name=job.file_name,
            user=job.created_by,
            source=job.source,
            mapping=job.mapping,
            skip_invalid=job.skip_invalid,
            number_rows=job.numbered_rows,
            dry_run=bool(job.options.get("dry_run")),
            job_id=job.pk,
        )
    except DataError:
        pass  # recorded on the job
    finally:
        stored.unlink(missing_ok=True)
    return ImportJob.objects.values_list("status", flat=True).get(pk=import_id)


def customer_imports_reap_stuck(*, queued_after: int | None = None, running_after: int | None = None) -> int:
    """Fail customer imports left queued or running by a worker that died (killed, out of memory, lost message).

    The rule of the order imports' reaper (`order_imports_reap_stuck`), with the clocks of this task:
    "running" since more than `running_after` seconds (default SEGMENTA_IMPORT_TIME_LIMIT + 120: past the
    task's hard limit, so its worker is gone) or "queued" more than `queued_after` seconds (default
    SEGMENTA_RUN_STUCK_AFTER) without a worker taking it. Each is failed with the reason, conditionally
    (a worker finishing meanwhile wins), and its stored upload deleted. Nothing of it was written: the
    import is one transaction. Returns how many were failed."""
    queued_after = settings.SEGMENTA_RUN_STUCK_AFTER if queued_after is None else queued_after
    running_after = settings.SEGMENTA_IMPORT_TIME_LIMIT + 120 if running_after is None else running_after
    now = timezone.now()
    queued_limit = now - timedelta(seconds=queued_after)
    running_limit = now - timedelta(seconds=running_after)
    stuck = stuck_jobs(ImportJob, running_before=running_limit, queued_before=queued_limit)

    def reason(status: str) -> str:
        if status == ImportStatus.QUEUED:
            return f"stuck: no worker took it within {queued_after:,} s; nothing was imported, import the file again"
        return (
            f"stuck: its worker stopped (killed or out of memory) and it did not finish within "
            f"{running_after:,} s; nothing was imported, import the file again"
        )

    return stuck_jobs_fail(stuck=stuck, reason=reason, failed={"status": ImportStatus.FAILED, "options": {}})
