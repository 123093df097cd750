"""`customer_import`: the one service behind every import door (the `import_customers` command,
the upload page and the admin).

How an import runs:

1. The file is opened (`reading`), its headers mapped (`columns`) and its rows validated chunk
   by chunk (`validation`), all pure pandas.
2. Valid rows are streamed into the database as they are validated, never one save per row, by
   one of the `writers`: a COPY straight into an empty customer table on PostgreSQL, a COPY into
   a staging table then set-based upserts when it has customers, `bulk_create` on SQLite.
3. Everything runs in one transaction: a file with any invalid row changes nothing, unless
   `skip_invalid` is set, in which case the valid rows go in and the rejected ones are streamed to
   a CSV file with a `reason` column (`ImportJob.rejected_path`; none is kept for a dry run). A dry
   run validates and counts, then rolls back.
4. Every import, failed and dry runs included, is recorded as an `ImportJob`. After a committed
   import `customers_changed` is sent with the ids of the customers added or changed (a known
   customer whose values are all the same as in the file is left untouched and not announced;
   it still counts as "updated" in the import's numbers, which count known ids).

Re-importing upserts by `external_id`: the canonical columns present in the file replace the
stored values (an empty cell clears one), columns absent from the file are left alone, and the
file's attribute columns replace those attributes while other attributes are kept.

Decisions about the whole file are made on its first chunk (up to `reading.CHUNK_ROWS` rows),
before any row is written: whether an income column is in thousands (`columns.income_kept`), and
the role and unit of each new attribute (`roles`). `number_rows` numbers the rows of a file without
an id column (`columns.row_id_prefix`). What was decided is said in the job's `notes`.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import pandas as pd
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import InterfaceError, OperationalError, connection, transaction

from core import storage
from core.exceptions import DataError
from core.services import activity_record
from customers.imports import attributes, reading, rejected_files, roles, validation, writers
from customers.imports.columns import ColumnPlan, columns_plan, row_id_prefix
from customers.models import Customer, ImportJob, ImportStatus
from customers.orders.behaviour import derived_columns_renamed
from customers.signals import customers_changed

IMPORT_SOURCES = ("upload", "command", "admin")
CONNECTION_LOST = (
    "the database connection was lost during the import, so nothing was imported (the transaction was rolled "
    "back); import the file again"
)


class ImportInterrupted(DataError):
    """The import stopped for a reason outside the file (the database went away); nothing was written."""


class CustomerWriter(Protocol):
    def write(self, clean: pd.DataFrame) -> None: ...
    def flush(self) -> None: ...
    def finish(self, plan: ColumnPlan, kinds: writers.Kinds) -> tuple[int, int, list[int]]: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class ImportResult:
    """What an import did: its record (the numbers are the job's), whether it was a dry run, the format read."""

    job: ImportJob
    dry_run: bool
    file_format: str = ""
    rejected_sample: str = ""  # the first rejected rows as CSV (all of them: the job's rejected file)

    @property
    def rows_total(self) -> int:
        return self.job.rows_total

    @property
    def added(self) -> int:
        return self.job.rows_added

    @property
    def updated(self) -> int:
        return self.job.rows_updated

    @property
    def rejected(self) -> int:
        return self.job.rows_rejected

    @property
    def rejected_path(self) -> Path | None:
        """The stored file of every rejected row (committed imports with skip invalid rows), or None."""
        return Path(self.job.rejected_path) if self.job.rejected_path else None

    @property
    def mapping(self) -> dict[str, str]:
        return self.job.mapping


@dataclass
class _Progress:
    file_size: int = 0
    rows_total: int = 0
    rejected: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Outcome:
    added: int
    updated: int
    rejected: int
    customer_ids: list[int]
    file_format: str
    rejected_rows: validation.RejectedRows | None = None
    rejected_sample: str = ""


def customer_import(
    *,
    file: IO[bytes] | str | os.PathLike,
    file_name: str = "",
    user: AbstractBaseUser | AnonymousUser | None = None,
    source: str = "command",
    mapping: dict[str, str] | None = None,
    skip_invalid: bool = False,
    number_rows: bool = False,
    dry_run: bool = False,
    max_bytes: int | None = None,
    chunk_rows: int = reading.CHUNK_ROWS,
    rejected_out: str | os.PathLike | None = None,
    job_id: int | None = None,
) -> ImportResult:
    """Import customers from a CSV, TSV or .xlsx file (a path or a binary file object).

    `mapping` overrides the automatic header mapping: {header in the file: canonical field}.
    `number_rows` gives each row of a file without an id column the id "<file name stem>-<row number>".
    With `skip_invalid` the rejected rows are streamed to a file, never held in memory: kept with the
    job (`rejected_path`) when the import is committed, not kept on a dry run; `rejected_out` also
    gets a copy of them (the command's --rejected-out), dry runs included. `job_id` records the outcome
    on that (queued) ImportJob instead of a new one.
    Raises DataError (message fit for users) when the file is refused; the failed ImportJob is
    attached to the exception as `import_job`.
    """
    if source not in IMPORT_SOURCES:
        raise ValueError(f"source must be one of {IMPORT_SOURCES}; got {source!r}")
    started = time.monotonic()
    if not file_name:
        file_name = Path(str(file)).name if isinstance(file, str | os.PathLike) else getattr(file, "name", "") or ""
    file_name = Path(file_name).name[:255] or "upload"
    actor = user if getattr(user, "is_authenticated", False) else None
    progress = _Progress()
    job_fields = {
        "created_by": actor,
        "source": source,
        "file_name": file_name,
        "skip_invalid": skip_invalid,
        "numbered_rows": number_rows,
    }
    if job_id is not None:
        job_fields["pk"] = job_id
    id_prefix = row_id_prefix(file_name) if number_rows else ""
    try:
        with reading.binary_open(file) as fh:
            progress.file_size = reading.file_size(fh)
            if max_bytes is not None and progress.file_size > max_bytes:
                raise DataError(f"the file is {progress.file_size:,} bytes; the upload limit is {max_bytes:,} bytes")
            with transaction.atomic():
                outcome = _import_rows(
                    fh,
                    mapping=mapping or {},
                    skip_invalid=skip_invalid,
                    id_prefix=id_prefix,
                    progress=progress,
                    chunk_rows=chunk_rows,
                )
                if dry_run:
                    transaction.set_rollback(True)
                else:
                    stored = rejected_files.rejected_store(outcome.rejected_rows)
                    job = _job_record(
                        job_fields,
                        progress,
                        outcome,
                        status=ImportStatus.SUCCEEDED,
                        started=started,
                        rejected_path=stored,
                    )
                    activity_record(
                        actor=actor,
                        verb="customers.imported",
                        obj=job,
                        detail={"added": outcome.added, "updated": outcome.updated, "rejected": outcome.rejected},
                    )
                    ids = outcome.customer_ids
                    transaction.on_commit(lambda: customers_changed.send(sender=Customer, customer_ids=ids))
    except Exception as exc:
        unexpected = f"the import failed unexpectedly ({exc.__class__.__name__}: {exc})"
        message = str(exc) if isinstance(exc, DataError) else unexpected
        if isinstance(exc, SoftTimeLimitExceeded):
            message = (
                f"the import took longer than {settings.SEGMENTA_IMPORT_TIME_LIMIT:,} seconds and was stopped, so "
                "nothing was imported; split the file"
            )
        lost = _connection_lost(exc)
        if lost:
            message = CONNECTION_LOST
            connection.close()  # the next query opens a new connection for the record
        progress.mapping = progress.mapping or (mapping or {})
        job = _job_record(job_fields, progress, None, status=ImportStatus.FAILED, started=started, error=message)
        if lost:
            interrupted = ImportInterrupted(message)
            interrupted.import_job = job  # type: ignore[attr-defined]
            raise interrupted from exc
        exc.import_job = job  # type: ignore[attr-defined]
        raise
    if dry_run:
        job = _job_record(job_fields, progress, outcome, status=ImportStatus.DRY_RUN, started=started)
    rejected_files.rejected_hand_over(outcome.rejected_rows, job=job, out=rejected_out)
    return ImportResult(
        job=job, dry_run=dry_run, file_format=outcome.file_format, rejected_sample=outcome.rejected_sample
    )


def _connection_lost(exc: Exception) -> bool:
    """Whether `exc` says the database connection went away (killed, server restarted, network cut),
    outside any transaction of the caller: the import's own transaction was then rolled back by the
    server. (The writer's clean-up may already have opened a new connection, so ask the error.)"""
    if not isinstance(exc, OperationalError | InterfaceError) or connection.in_atomic_block:
        return False
    text = str(exc).lower()
    if any(sign in text for sign in ("connection", "terminating", "server closed", "shutdown")):
        return True
    if connection.connection is None:
        return True
    try:
        return not connection.is_usable()
    except Exception:  # noqa: BLE001 - any failure to ask means it is gone
        return True


def _import_rows(
    fh: IO[bytes],
    *,
    mapping: dict[str, str],
    skip_invalid: bool,
    id_prefix: str,
    progress: _Progress,
    chunk_rows: int,
) -> _Outcome:
    options: dict[str, Any] = {
        "mapping": mapping,
        "skip_invalid": skip_invalid,
        "id_prefix": id_prefix,
        "progress": progress,
        "chunk_rows": chunk_rows,
    }
    if connection.vendor == "postgresql" and _customers_table_empty():
        # First load: COPY straight into the customer table. In the rare case it cannot (an
        # attribute column that looked numeric turns out not to be), the savepoint undoes it
        # and the file is read again through the staging table.
        try:
            with transaction.atomic():
                return _import_once(fh, first_load=True, **options)
        except writers.FirstLoadAbandoned:
            fh.seek(0)
            progress.rows_total = progress.rejected = 0
            progress.notes = []
    return _import_once(fh, first_load=False, **options)


def _customers_table_empty() -> bool:
    """True when the customer table holds no row; then it is locked against other writers until commit.

    Only a first load (COPY straight into the empty table, its indexes dropped and rebuilt) holds the
    SHARE ROW EXCLUSIVE lock while the file is read. An import into a table with customers takes no
    lock while it reads and validates the file: its rows go to a staging table, and the lock is taken
    for the upsert at the end (`writers.StagingWriter.finish`), which also serialises concurrent imports.
    Readers are never blocked.
    """
    table = writers.customer_table()
    with connection.cursor() as cursor:
        if not storage.table_is_empty(cursor, table=table):
            return False
        storage.table_lock(cursor, table=table)
        return storage.table_is_empty(cursor, table=table)


def _import_once(
    fh: IO[bytes],
    *,
    mapping: dict[str, str],
    skip_invalid: bool,
    id_prefix: str,
    progress: _Progress,
    chunk_rows: int,
    first_load: bool,
) -> _Outcome:
    table = reading.table_open(fh, chunk_rows=chunk_rows)
    try:
        plan = columns_plan(table.headers, mapping, id_prefix=id_prefix)
        plan, renamed = derived_columns_renamed(plan)  # behaviour columns are never imported
        progress.notes.extend(renamed)
        first = next(table.chunks, None)
        chunks = itertools.chain([first] if first is not None else [], table.chunks)
        summaries: dict[str, roles.ValueSummary] = {}
        if first is not None:
            plan, summaries = attributes.plan_for_values(plan, first[1], progress.notes)
        if id_prefix:
            progress.notes.append(
                f"The file has no id column: each row's id is {id_prefix!r} and its row number in the file "
                f"({id_prefix}2 for the first data row). Re-importing a file of the same name updates the same "
                "rows by position."
            )
        progress.mapping = plan.as_mapping()
        kinds = validation.KindTracker()
        writer = writer_for(plan, kinds, first_load=first_load, file_size=progress.file_size)
        rejected = validation.RejectedRows(plan, folder=rejected_files.rejected_folder() if skip_invalid else None)
        try:
            seen_ids: dict[str, int] = {}
            for first_row, frame in chunks:
                result = validation.chunk_validate(frame, first_row, plan, seen_ids, kinds)
                progress.rows_total += len(result.clean) + len(result.rejected)
                progress.rejected += len(result.rejected)
                rejected.add(result.rejected)
                if skip_invalid or not progress.rejected:
                    writer.write(result.clean)
                del result
            writer.flush()
            rejected.close()
            del seen_ids
            if progress.rows_total == 0:
                raise DataError("the file has a header row but no data rows")
            if progress.rejected and not skip_invalid:
                raise DataError(validation.problems_message(rejected.sample, progress.rejected))
            registered = attributes.attributes_register(plan, kinds, summaries=summaries, notes=progress.notes)
            added, updated, ids = writer.finish(plan, registered)
        except BaseException:
            rejected.discard()
            raise
        finally:
            writer.close()
    finally:
        table.close()
    return _Outcome(
        added=added,
        updated=updated,
        rejected=progress.rejected,
        customer_ids=ids,
        file_format=table.format,
        rejected_rows=rejected,
        rejected_sample=validation.rejected_csv(plan, rejected.sample),
    )


def writer_for(plan: ColumnPlan, kinds: validation.KindTracker, *, first_load: bool, file_size: int) -> CustomerWriter:
    """The writer for this import: first load and staging on PostgreSQL, the ORM elsewhere."""
    if first_load:
        return writers.FirstLoadWriter(plan, kinds, file_size=file_size)
    if connection.vendor == "postgresql":
        return writers.StagingWriter(plan)
    return writers.OrmWriter()


def _job_record(
    job_fields: dict[str, Any],
    progress: _Progress,
    outcome: _Outcome | None,
    *,
    status: str,
    started: float,
    error: str = "",
    rejected_path: str = "",
) -> ImportJob:
    """The ImportJob of a succeeded, dry or failed (`outcome` None, `error` said) import."""
    done = outcome or _Outcome(added=0, updated=0, rejected=progress.rejected, customer_ids=[], file_format="")
    values = dict(job_fields)
    pk = values.pop("pk", None)
    if pk is not None:  # a queued import: its row is updated
        values.update(stored_path="", options={})
        ImportJob.objects.filter(pk=pk).update(
            **_record_values(values, progress, done, status, started, error, rejected_path)
        )
        return ImportJob.objects.get(pk=pk)
    return ImportJob.objects.create(**_record_values(values, progress, done, status, started, error, rejected_path))


def _record_values(
    values: dict[str, Any],
    progress: _Progress,
    done: _Outcome,
    status: str,
    started: float,
    error: str,
    rejected_path: str,
) -> dict[str, Any]:
    return dict(
        **values,
        notes=progress.notes,
        status=status,
        file_size=progress.file_size,
        mapping=progress.mapping,
        rows_total=progress.rows_total,
        rows_added=done.added,
        rows_updated=done.updated,
        rows_rejected=done.rejected,
        duration_ms=_elapsed_ms(started),
        rejected_path=rejected_path,
        error=error,
    )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
