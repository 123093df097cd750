"""A database connection killed in the middle of an import (issue 14, finding 9): the job is failed with
a reason, nothing is half-written, and the caller gets a clear error instead of a traceback."""

from __future__ import annotations

import io

import pytest
from django.db import connection

from customers.imports import service, validation
from customers.imports.service import CONNECTION_LOST, ImportInterrupted, customer_import
from customers.models import Customer, ImportJob, ImportStatus

pytestmark = pytest.mark.django_db(transaction=True)


def _file(rows: int) -> io.BytesIO:
    return io.BytesIO(b"CustomerID,Age\n" + b"".join(b"c%d,%d\n" % (i, 20 + i % 50) for i in range(rows)))


@pytest.mark.parametrize("known_customers", [0, 1], ids=["first load", "staging"])
def test_connection_killed_mid_import_fails_the_job_and_writes_nothing(monkeypatch, known_customers):
    if connection.vendor != "postgresql":
        pytest.skip("killing the server's backend needs PostgreSQL")
    if known_customers:
        Customer.objects.create(external_id="old")
    chunks = {"n": 0}
    real = validation.chunk_validate

    def validate_then_kill(*args, **kwargs):
        chunks["n"] += 1
        if chunks["n"] == 3:  # two chunks already written in the import's transaction
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return real(*args, **kwargs)

    monkeypatch.setattr(service.validation, "chunk_validate", validate_then_kill)
    with pytest.raises(ImportInterrupted, match="the database connection was lost during the import") as caught:
        customer_import(file=_file(5000), file_name="big.csv", chunk_rows=1000)
    job = ImportJob.objects.get()
    assert caught.value.import_job == job
    assert job.status == ImportStatus.FAILED and job.error == CONNECTION_LOST
    assert Customer.objects.count() == known_customers  # nothing half-written
    # the next import works on a new connection
    monkeypatch.setattr(service.validation, "chunk_validate", real)
    assert customer_import(file=_file(10), file_name="small.csv").added == 10


# ------------------------------------------------------------------------------ lengths (finding 9)


def test_a_million_character_id_is_refused_without_being_echoed():
    data = b"CustomerID,Age\nc1,30\n" + b"x" * 1_000_000 + b",40\n"
    with pytest.raises(service.DataError) as caught:
        customer_import(file=io.BytesIO(data), file_name="long.csv")
    message = str(caught.value)
    assert len(message) < 300
    assert "row 3, column CustomerID: 'xxxxxxxxxx" in message
    assert "… (1,000,000 characters) is longer than 64 characters" in message
    assert len(ImportJob.objects.get().error) < 300
    assert Customer.objects.count() == 0


def test_text_attributes_and_field_cells_are_length_capped():
    long_city = "Paris" * 201  # 1,005 characters
    data = f"CustomerID,Age,City\nc1,30,Lyon\nc2,{'9' * 150},Nice\nc3,31,{long_city}\n".encode()
    result = customer_import(file=io.BytesIO(data), file_name="caps.csv", skip_invalid=True)
    assert (result.added, result.rejected) == (1, 2)
    assert ImportJob.objects.get().rows_rejected == 2
    rejected = result.rejected_path.read_text(encoding="utf-8")
    assert "row 3, column Age: '9999999999999999999999999999999999999999'… (150 characters) is longer than 100" in (
        rejected
    )
    assert (
        "row 4, column City: 'ParisParisParisParisParisParisParisParis'… (1,005 characters) is longer than 1,000"
        in (rejected)
    )


# ------------------------------------------------------------------------------ no lock while parsing


def _customer_table_locks() -> list[str]:
    """The locks other sessions hold on the customer table, seen from a connection of its own."""
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        rows = other.execute(
            "SELECT mode FROM pg_locks WHERE relation = %s::regclass AND pid <> pg_backend_pid()",
            [Customer._meta.db_table],
        ).fetchall()
    return sorted(mode for (mode,) in rows)


def test_no_lock_on_the_customer_table_while_the_file_is_read(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("table locks are PostgreSQL's")
    Customer.objects.create(external_id="old")
    seen: list[list[str]] = []
    real = validation.chunk_validate

    def validate_and_look(*args, **kwargs):
        seen.append(_customer_table_locks())
        return real(*args, **kwargs)

    monkeypatch.setattr(service.validation, "chunk_validate", validate_and_look)
    result = customer_import(file=_file(3000), file_name="again.csv", chunk_rows=1000)
    assert result.added == 3000 and len(seen) >= 3
    assert all("ShareRowExclusiveLock" not in modes and "AccessExclusiveLock" not in modes for modes in seen), seen
