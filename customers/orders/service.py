"""Importing order lines from a file: the one service the command, the page's task and the admin call.

1. Read and check the file chunk by chunk (`reading`, `arrow_reading`, `validation`); the import's row
   shows the progress meanwhile. On PostgreSQL each valid chunk is COPYed straight into the line table
   as it is read, in the import's one transaction (`copy_writer.LineCopyWriter`; the progress is written
   on a connection of its own), so memory is bounded by the chunk size and orders, not the file; SQLite
   keeps the lines in memory (the simpler path). A file with any invalid line changes nothing unless
   `skip_invalid`: the transaction is rolled back.
2. Then, in the same transaction, what the lines refer to (`copy_writer.LineCopyWriter.write`, SQLite:
   `writers.lines_write`): customers created for unknown ids, products' descriptions and prices, orders
   upserted, replaced orders' old lines gone. A dry run rolls it back; any failure (a timeout included)
   leaves the tables as they were.
3. The counts (`SUMMARY_KEYS`) are stored on the `OrderImport` row and returned; then `_after_import`
   (the one place for work that follows a committed import: customers' behaviour recomputed, then the
   customers it created announced).

`order_imports_reap_stuck` fails imports whose worker died (queued or running for too long).
"""

from __future__ import annotations

import os
import time
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import pandas as pd
from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from core.exceptions import DataError
from core.progress import SideProgress
from core.services import activity_record
from core.uploads import upload_name, upload_store
from customers.imports import reading
from customers.imports import validation as customer_validation
from customers.models import Customer
from customers.orders import arrow_reading, copy_writer, writers
from customers.orders import reading as order_reading
from customers.orders.behaviour import behaviour_after_import
from customers.orders.columns import columns_parse, order_plan
from customers.orders.models import OrderImport, OrderImportStatus
from customers.orders.validation import LineChecker
from customers.signals import customers_changed
from customers.stuck_jobs import stuck_jobs, stuck_jobs_fail

SUMMARY_KEYS = (
    "lines",
    "imported",
    "with_customer",
    "without_customer",
    "cancellations",
    "returns",
    "non_product",
    "customers_created",
    "orders",
    "orders_replaced",
    "products",
    "rejected",
)
SOURCES = ("upload", "command", "admin")
#: The reading phase reports up to this percent; writing takes the rest.
READ_SHARE = 80
#: Seconds between two progress updates while reading.
PROGRESS_EVERY = 1.0


def non_product_codes() -> frozenset[str]:
    return frozenset(code.strip().upper() for code in settings.SEGMENTA_NON_PRODUCT_CODES if code.strip())


def order_import_options(
    *, mapping: dict[str, str] | None = None, columns: str = "", day_first: bool = False, skip_invalid: bool = False
) -> dict[str, Any]:
    """The options of an import as stored on its row (checked here, so a queued import has valid ones)."""
    if columns:
        columns_parse(columns)
    return {"mapping": mapping or {}, "columns": columns, "day_first": day_first, "skip_invalid": skip_invalid}


def order_import(
    *,
    file: IO[bytes] | str | os.PathLike,
    file_name: str = "",
    user: AbstractBaseUser | AnonymousUser | None = None,
    source: str = "command",
    mapping: dict[str, str] | None = None,
    columns: str = "",
    day_first: bool = False,
    skip_invalid: bool = False,
    dry_run: bool = False,
    behaviour: bool = True,
    job: OrderImport | None = None,
    chunk_rows: int = reading.CHUNK_ROWS,
) -> OrderImport:
    """Import order lines from a CSV, TSV, whitespace-separated or .xlsx file, gzip-compressed or not.

    `columns` names the columns of a file without a header row ('-' skips one); with `behaviour` False the
    customers' behaviour is not recomputed after the import (`_after_import`). Raises DataError
    (a message for users) when the file is refused; the failed row is attached as `import_job`.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; got {source!r}")
    started = time.monotonic()
    if not file_name:
        file_name = Path(str(file)).name if isinstance(file, str | os.PathLike) else getattr(file, "name", "") or ""
    options = order_import_options(mapping=mapping, columns=columns, day_first=day_first, skip_invalid=skip_invalid)
    if job is None:
        actor = user if getattr(user, "is_authenticated", False) else None
        job = OrderImport.objects.create(
            created_by=actor, source=source, file_name=Path(file_name).name[:255] or "upload", options=options
        )
    job.status, job.stage, job.started_at = OrderImportStatus.RUNNING, "reading", timezone.now()
    job.save(update_fields=["status", "stage", "started_at"])
    postgresql = connection.vendor == "postgresql"
    try:
        with reading.binary_open(file) as fh:
            job.file_size = reading.file_size(fh)
            # PostgreSQL: one transaction from the first line COPYed to the commit; SQLite: the write's own
            with transaction.atomic() if postgresql else nullcontext():
                sink = _LineSink(postgresql=postgresql, job=job)
                try:
                    counts, rejected_csv, mapping_used = _lines_read(
                        fh, job=job, options=options, chunk_rows=chunk_rows, sink=sink
                    )
                    job.mapping = mapping_used
                    sink.progress(stage="writing", progress=READ_SHARE)
                    with transaction.atomic():
                        written = sink.write()
                        counts.update(
                            customers_created=len(written.customers_created),
                            orders=written.orders,
                            orders_replaced=written.orders_replaced,
                            products=written.products,
                        )
                        if dry_run:
                            transaction.set_rollback(True)
                        else:
                            activity_record(actor=job.created_by, verb="orders.imported", obj=job, detail=counts)
                finally:
                    sink.close()
                if dry_run and postgresql:
                    transaction.set_rollback(True)  # the lines COPYed while reading go too
        job.status = OrderImportStatus.DRY_RUN if dry_run else OrderImportStatus.SUCCEEDED
        job.counts = counts
        job.rejected_csv = rejected_csv
    except Exception as exc:
        job.status = OrderImportStatus.FAILED
        job.error = _error_text(exc)
        _finish(job, started)
        exc.import_job = job  # type: ignore[attr-defined]
        raise
    _finish(job, started)
    if not dry_run:
        _after_import(job=job, written=written, behaviour=behaviour)
    return job


def _after_import(*, job: OrderImport, written: writers.Written, behaviour: bool) -> None:
    """What follows a successful import, once its lines are committed (not after a dry run or a failure):
    the one place for work that depends on the new orders.

    First each customer's behaviour is recomputed from all the orders (unless `behaviour` is False: several
    files loaded one after the other, then `manage.py behaviour` once), then the customers the import created
    are announced (`customers_changed`: the active segmentation assigns them, with their behaviour known).
    The import's own duration (`duration_ms`) ends at its commit; what follows is timed by its own records."""
    created = written.customers_created

    def follow() -> None:
        if behaviour:
            behaviour_after_import(actor=job.created_by)
        if created:
            customers_changed.send(sender=Customer, customer_ids=created)

    transaction.on_commit(follow)  # now, unless the caller's own transaction is still open


def _error_text(exc: Exception) -> str:
    if isinstance(exc, DataError):
        return str(exc)
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"timed out after {settings.SEGMENTA_RUN_TIME_LIMIT} s; nothing was imported"
    return f"the import failed unexpectedly ({exc})"


class _LineSink:
    """Where validated chunks go, and the import's progress.

    PostgreSQL: COPYed straight into the line table as they are read (`copy_writer.LineCopyWriter`, in the
    import's transaction, whose progress is written on a connection of its own: `core.progress`). SQLite:
    kept for the simpler path (one DataFrame written at the end; progress written as it goes)."""

    def __init__(self, *, postgresql: bool, job: OrderImport) -> None:
        self.postgresql, self.job = postgresql, job
        self.writer: copy_writer.LineCopyWriter | None = None
        self.side = SideProgress(OrderImport, job.pk) if postgresql else None
        self.frames: list[pd.DataFrame] = []

    def begin(self, *, file_size: int) -> None:
        """The file is about to be read (`file_size`: its bytes, decompressed)."""
        if self.postgresql and self.writer is None:
            self.writer = copy_writer.LineCopyWriter(file_size=file_size)

    def add(self, lines: pd.DataFrame) -> None:
        if self.writer is not None:
            self.writer.add(lines)
        else:
            self.frames.append(lines)

    def wait(self) -> None:
        if self.writer is not None:
            self.writer.wait()

    def reset(self) -> None:
        """Forget every line added (the file is read again from the start)."""
        if self.writer is not None:
            self.writer.reset()
        self.frames = []

    def progress(self, **fields: Any) -> None:
        if self.side is not None:
            self.side.update(**fields)
        else:  # SQLite reads outside the import's transaction: the update commits on its own
            OrderImport.objects.filter(pk=self.job.pk).update(**fields)

    def write(self) -> writers.Written:
        if self.writer is not None:
            return self.writer.write()
        if not self.frames:
            return writers.Written([], 0, 0, 0)
        return writers.lines_write(pd.concat(self.frames, ignore_index=True))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.side is not None:
            self.side.close()


def _lines_read(
    fh: IO[bytes], *, job: OrderImport, options: dict[str, Any], chunk_rows: int, sink: _LineSink
) -> tuple[dict[str, int], str, dict[str, str]]:
    """Read and check every chunk, handing the valid lines to `sink` as long as the file may be imported
    (no invalid line so far, or `skip_invalid`); count what the summary shows.

    A plain CSV/TSV takes pyarrow's fast path (`arrow_reading`); a file it cannot read as the pandas
    reader does is read again from the start on the pandas path (what was staged is dropped)."""
    try:
        return _lines_read_once(fh, job=job, options=options, chunk_rows=chunk_rows, sink=sink, fast=True)
    except arrow_reading.ArrowAbandoned:
        sink.reset()
        fh.seek(0)
        return _lines_read_once(fh, job=job, options=options, chunk_rows=chunk_rows, sink=sink, fast=False)


def _lines_read_once(
    fh: IO[bytes], *, job: OrderImport, options: dict[str, Any], chunk_rows: int, sink: _LineSink, fast: bool
) -> tuple[dict[str, int], str, dict[str, str]]:
    names = columns_parse(options["columns"]) if options["columns"] else None
    rejected: list[customer_validation.RejectedRow] = []
    total = bad = 0
    counts = {key: 0 for key in SUMMARY_KEYS}
    next_progress = time.monotonic() + PROGRESS_EVERY
    with order_reading.order_file_open(fh) as table_fh:
        size = max(1, reading.file_size(table_fh))
        sink.begin(file_size=size)
        table = order_reading.table_open(table_fh, header_less=names is not None, chunk_rows=chunk_rows)
        try:
            if names is not None and len(names) != len(table.headers):
                raise DataError(
                    f"--columns names {len(names)} columns but the file's rows have {len(table.headers)} "
                    f"(its first row: {' | '.join(table.headers)})"
                )
            plan = order_plan(names or table.headers, options["mapping"], named=names is not None)
            checker = LineChecker(
                plan=plan,
                day_first=options["day_first"],
                non_product=non_product_codes(),
                time_zone=settings.TIME_ZONE,
            )
            if fast and arrow_reading.arrow_eligible(table, header_less=names is not None, checker=checker):
                table.close()
                checked = arrow_reading.arrow_chunks(table_fh, table, checker=checker, chunk_rows=chunk_rows)
            else:
                checked = (checker.check(frame, first_row) for first_row, frame in table.chunks)
            for valid, problems in checked:
                total += len(valid) + len(problems)
                bad += len(problems)
                if options["skip_invalid"] or len(rejected) < customer_validation.MAX_PROBLEMS_SHOWN:
                    rejected.extend(problems)
                if time.monotonic() >= next_progress:
                    share = min(READ_SHARE, int(READ_SHARE * _position(table_fh) / size))
                    sink.progress(rows_read=total, progress=share)
                    next_progress = time.monotonic() + PROGRESS_EVERY
                if options["skip_invalid"] or not bad:
                    _lines_count(counts, valid)
                    sink.add(valid)  # COPied while the next chunk is read and checked
            sink.wait()
        finally:
            table.close()
    job.rows_read = total
    if total == 0:
        raise DataError("the file has no data rows")
    if bad and not options["skip_invalid"]:
        raise DataError(customer_validation.problems_message(rejected, bad))
    counts.update(lines=total, without_customer=counts["imported"] - counts["with_customer"], rejected=bad)
    rejected_csv = customer_validation.rejected_csv(plan, rejected) if bad else ""
    return counts, rejected_csv, plan.as_mapping()


def _lines_count(counts: dict[str, int], lines: pd.DataFrame) -> None:
    counts["imported"] += len(lines)
    counts["with_customer"] += int((lines["customer_id"] != "").sum())
    counts["cancellations"] += int(lines["is_cancellation"].sum())
    counts["returns"] += int(lines["is_return"].sum())
    counts["non_product"] += int(lines["is_non_product"].sum())


def _position(fh: IO[bytes]) -> int:
    try:
        return fh.tell()
    except (OSError, ValueError):
        return 0


def _finish(job: OrderImport, started: float) -> None:
    job.stage = ""
    job.progress = 100
    job.finished_at = timezone.now()
    job.duration_ms = int((time.monotonic() - started) * 1000)
    job.stored_path = ""
    job.save()


# --------------------------------------------------------------------------- the page's door: a queued row


def order_upload_folder() -> Path:
    return Path(settings.VAR_DIR) / "order-uploads"


def order_import_queue(
    *,
    upload: Any,
    user: AbstractBaseUser | None,
    source: str = "upload",
    options: dict[str, Any],
    dry_run: bool = False,
) -> OrderImport:
    """Store an uploaded file and queue its import (the task runs it after commit)."""
    stored = upload_store(upload=upload, folder=order_upload_folder())
    job = OrderImport.objects.create(
        created_by=user if getattr(user, "is_authenticated", False) else None,
        source=source,
        file_name=upload_name(upload),
        stored_path=str(stored),
        file_size=stored.stat().st_size,
        options={**options, "dry_run": dry_run},
    )
    job_id = job.pk
    transaction.on_commit(lambda: order_import_enqueue(import_id=job_id))
    return job


#: The Celery task that runs a queued import (customers.tasks), sent by name as runs are.
ORDER_IMPORT_TASK = "customers.run_order_import"


def order_import_enqueue(*, import_id: int) -> None:
    current_app.send_task(ORDER_IMPORT_TASK, args=[import_id])


def order_import_run(*, import_id: int) -> str:
    """Run a queued import once: claim it (queued -> running), import its stored file, delete the file."""
    claimed = OrderImport.objects.filter(pk=import_id, status=OrderImportStatus.QUEUED).update(
        status=OrderImportStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "skipped"
    job = OrderImport.objects.get(pk=import_id)
    stored = Path(job.stored_path)
    options = job.options
    try:
        order_import(
            file=stored,
            file_name=job.file_name,
            source=job.source,
            mapping=options.get("mapping") or {},
            columns=options.get("columns", ""),
            day_first=bool(options.get("day_first")),
            skip_invalid=bool(options.get("skip_invalid")),
            dry_run=bool(options.get("dry_run")),
            job=job,
        )
    except DataError:
        return "failed"
    finally:
        stored.unlink(missing_ok=True)
    return "done"


def order_imports_reap_stuck(*, older_than: int | None = None) -> int:
    """Fail imports left queued or running by a worker that died (killed, out of memory, lost message).

    An import "running" since more than `older_than` seconds (default SEGMENTA_RUN_STUCK_AFTER, longer
    than the task's hard time limit) or "queued" that long without a worker taking it is failed with
    the reason; its uploaded file is deleted. Nothing of it was written: the import is one transaction.
    Returns how many were failed."""
    older_than = settings.SEGMENTA_RUN_STUCK_AFTER if older_than is None else older_than
    limit = timezone.now() - timedelta(seconds=older_than)
    stuck = stuck_jobs(OrderImport, running_before=limit, queued_before=limit)

    def reason(status: str) -> str:
        if status == OrderImportStatus.QUEUED:
            return f"stuck: no worker took it within {older_than} s; nothing was imported"
        return f"stuck: its worker stopped (killed or out of memory) more than {older_than} s ago; nothing was imported"

    failed = {"status": OrderImportStatus.FAILED, "stage": "", "finished_at": timezone.now()}
    return stuck_jobs_fail(stuck=stuck, reason=reason, failed=failed)
