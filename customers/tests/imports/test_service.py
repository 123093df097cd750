"""The import service: formats, mapping, validation, atomicity, upserts, records."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest
from openpyxl import Workbook

from core.exceptions import DataError
from customers.imports.service import customer_import
from customers.models import Customer, CustomerAttribute, ImportJob, ImportStatus
from customers.signals import customers_changed

pytestmark = pytest.mark.django_db

HEADER = "CustomerID,Genre,Age,Annual Income (k$),Spending Score (1-100)\r\n"
GOOD = HEADER + "0001,Male,19,15,39\r\n0002,Female,21,15,81\r\n0003,Female,20,16,6\r\n"


def write(tmp_path: Path, text: str | bytes, name: str = "customers.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def snapshot() -> tuple:
    """The state an import must leave untouched when it is refused."""
    sample = Customer.objects.order_by("external_id").values_list(
        "external_id", "gender", "age", "annual_income", "spending_score", "attributes"
    )
    return (
        Customer.objects.count(),
        CustomerAttribute.objects.count(),
        list(sample[:3]),
        list(CustomerAttribute.objects.values_list("key", "kind")),
    )


def run(path: Path, **kwargs):
    return customer_import(file=path, source="command", **kwargs)


@pytest.fixture
def existing(tmp_path):
    """A table with three customers and one attribute, imported before each refusal test."""
    run(
        write(
            tmp_path,
            HEADER.strip() + ",Region\r\n0001,Male,19,15,39,North\r\n0002,Female,21,15,81,South\r\n"
            "0003,Female,20,16,6,East\r\n",
            name="first.csv",
        )
    )
    return snapshot()


# ----------------------------------------------------------------------------- the shared dataset


@pytest.mark.datasets
def test_mall_customers_imports_unchanged(mall_csv, django_capture_on_commit_callbacks):
    with customers_changed_calls() as calls, django_capture_on_commit_callbacks(execute=True):
        result = customer_import(file=mall_csv, source="command")
    assert (result.rows_total, result.added, result.updated, result.rejected) == (200, 200, 0, 0)
    assert Customer.objects.count() == 200
    assert Customer.objects.filter(gender="female").count() == 112
    assert Customer.objects.filter(gender="male").count() == 88
    first = Customer.objects.get(external_id="0001")
    assert (first.gender, first.age, first.annual_income, first.spending_score) == ("male", 19, 15.0, 39.0)
    assert first.attributes == {}
    assert CustomerAttribute.objects.count() == 0
    job = result.job
    assert job.status == ImportStatus.SUCCEEDED and job.file_name == "mall_customers.csv"
    assert job.mapping == {
        "CustomerID": "external_id",
        "Genre": "gender",
        "Age": "age",
        "Annual Income (k$)": "annual_income",
        "Spending Score (1-100)": "spending_score",
    }
    assert job.file_size == mall_csv.stat().st_size
    # the signal is sent once, on commit, with every customer id
    assert len(calls) == 1
    assert sorted(calls[0]) == sorted(Customer.objects.values_list("pk", flat=True))


class customers_changed_calls:
    """Collect customers_changed signals (sent on commit)."""

    def __enter__(self):
        self.calls: list[list[int]] = []
        customers_changed.connect(self._receive)
        return self.calls

    def _receive(self, sender, customer_ids, **kwargs):
        self.calls.append(list(customer_ids))

    def __exit__(self, *exc):
        customers_changed.disconnect(self._receive)


def test_signal_sent_on_commit_with_the_ids(tmp_path, django_capture_on_commit_callbacks):
    with customers_changed_calls() as calls, django_capture_on_commit_callbacks(execute=True):
        run(write(tmp_path, GOOD))
    assert len(calls) == 1
    assert sorted(calls[0]) == sorted(Customer.objects.values_list("pk", flat=True))


def test_no_signal_for_dry_run_or_failure(tmp_path, django_capture_on_commit_callbacks):
    with customers_changed_calls() as calls, django_capture_on_commit_callbacks(execute=True):
        run(write(tmp_path, GOOD), dry_run=True)
        with pytest.raises(DataError):
            run(write(tmp_path, HEADER + "0001,Male,abc,15,39\r\n", name="bad.csv"))
    assert calls == []


# ----------------------------------------------------------------------------- formats


def test_ids_keep_zero_padding_and_crlf(tmp_path):
    run(write(tmp_path, GOOD))
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["0001", "0002", "0003"]


def test_tsv_lf(tmp_path):
    text = "Customer ID\tSex\tAge\tIncome\tScore\n7\tF\t40\t60.5\t50\n8\tM\t41\t70\t55\n"
    result = run(write(tmp_path, text, name="c.tsv"))
    assert result.file_format == "tsv"
    c = Customer.objects.get(external_id="7")
    assert (c.gender, c.age, c.annual_income, c.spending_score) == ("female", 40, 60.5, 50.0)


def test_semicolon_latin1(tmp_path):
    text = "customer_id;gender;age;Stadt\n1;2;30;München\n2;1;31;Köln\n"
    run(write(tmp_path, text, encoding="latin-1"))
    assert Customer.objects.get(external_id="1").attributes == {"stadt": "München"}
    assert Customer.objects.get(external_id="1").gender == "female"  # 2 = female (ISO/IEC 5218)
    assert Customer.objects.get(external_id="2").gender == "male"  # 1 = male


def test_utf8_bom(tmp_path):
    run(write(tmp_path, "\ufeff" + GOOD, encoding="utf-8"))
    assert Customer.objects.count() == 3
    assert ImportJob.objects.get().mapping["CustomerID"] == "external_id"


def test_xlsx(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Customer ID", "Gender", "Age", "AnnualIncome", "SpendingScore", "Joined", "Detergents_Paper"])
    ws.append(["0001", "Female", 30, 50, 60, "2024-01-02", 12669])
    ws.append(["0002", "male", 31.0, 55.5, 61, "2024-02-03", 7561.5])
    path = tmp_path / "c.xlsx"
    wb.save(path)
    result = run(path)
    assert result.file_format == "xlsx"
    one = Customer.objects.get(external_id="0001")
    assert (one.gender, one.age, one.annual_income) == ("female", 30, 50.0)
    assert one.attributes == {"joined": "2024-01-02", "detergents_paper": 12669}
    assert Customer.objects.get(external_id="0002").attributes["detergents_paper"] == 7561.5
    assert dict(CustomerAttribute.objects.values_list("key", "kind")) == {
        "detergents_paper": "number",
        "joined": "date",
    }


def test_attributes_typed_and_empty_cells_missing(tmp_path):
    text = "ID,Age,Fresh,Region,Since,Note\na,,12669,1,2020-01-01,hello\nb,30,,2,,\nc,40,7057.5,x,2021-12-31,\n"
    run(write(tmp_path, text))
    assert dict(CustomerAttribute.objects.values_list("key", "kind")) == {
        "fresh": "number",
        "note": "text",
        "region": "text",
        "since": "date",
    }
    a = Customer.objects.get(external_id="a")
    assert a.age is None and a.gender == "unknown"
    assert a.attributes == {"fresh": 12669, "region": "1", "since": "2020-01-01", "note": "hello"}
    assert Customer.objects.get(external_id="b").attributes == {"region": "2"}
    assert Customer.objects.get(external_id="c").attributes["fresh"] == 7057.5
    assert CustomerAttribute.objects.get(key="fresh").label == "Fresh"


# ----------------------------------------------------------------------------- mapping


def test_map_override_gives_the_id_column(tmp_path):
    text = "Client Ref,Age,Visits\nX-1,30,4\nX-2,31,5\n"
    with pytest.raises(DataError, match=re.escape("--number-rows") + ".*" + re.escape('--map "HEADER=external_id"')):
        run(write(tmp_path, text))
    run(write(tmp_path, text), mapping={"Client Ref": "external_id"})
    assert Customer.objects.get(external_id="X-1").attributes == {"visits": 4}


def test_map_override_replaces_an_automatic_match(tmp_path):
    text = "ID,Member No,Age\n1,M-9,30\n"
    run(write(tmp_path, text), mapping={"member no": "external_id"})
    c = Customer.objects.get()
    assert c.external_id == "M-9" and c.attributes == {"id": 1}


def test_map_unknown_column_or_field(tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.raises(DataError, match="the file has no column 'Nope'"):
        run(path, mapping={"Nope": "age"})
    with pytest.raises(DataError, match="must be one of external_id, gender"):
        run(path, mapping={"Age": "height"})


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "body, message",
    [
        (HEADER + "0004,Male,19,15,39\r\n0005,Male,abc,15,39\r\n", "row 3, column Age: 'abc' is not a number"),
        (HEADER + "0004,Male,300,15,39\r\n", "row 2, column Age: '300' is out of range: must be between 0 and 120"),
        (HEADER + "0004,Male,30.5,15,39\r\n", "row 2, column Age: '30.5' is not a whole number"),
        (
            HEADER + "0004,Male,30,15,39\r\n0005,Male,30,15,140\r\n",
            "row 3, column Spending Score (1-100): '140' is out of range: must be between 1 and 100",
        ),
        (
            HEADER + "0004,Male,30,-1,39\r\n",
            "row 2, column Annual Income (k$): '-1' is out of range: must be between 0 and 1000000000000",
        ),
        (
            HEADER + "0004,Male,30,15,39\r\n0004,Female,31,16,40\r\n",
            "row 3, column CustomerID: '0004' is a duplicate of row 2",
        ),
        (HEADER + "0004,Robot,30,15,39\r\n", "row 2, column Genre: 'Robot' is not a gender"),
        (HEADER + ",Male,30,15,39\r\n", "row 2, column CustomerID: the id is empty"),
        (HEADER + "0004,Male,30,15,39,99\r\n", "line 2: expected 5 values like the header, found 6"),
        ("Name,Age\r\nBob,30\r\n", "no id column"),
        ("", "the file is empty"),
        ("\r\n\r\n", "the file is empty"),
        (HEADER, "the file has a header row but no data rows"),
        (bytes(range(256)) * 40, "not a CSV, TSV or Excel file"),
        (b"PK\x03\x04" + os.urandom(2000), "not a CSV, TSV or Excel file"),
    ],
    ids=[
        "age-not-number",
        "age-300",
        "age-fraction",
        "score-140",
        "income-negative",
        "duplicate-id",
        "gender",
        "empty-id",
        "too-many-values",
        "no-id-column",
        "empty",
        "blank-lines",
        "header-only",
        "binary",
        "fake-zip",
    ],
)
def test_refused_and_nothing_changes(tmp_path, existing, body, message):
    with pytest.raises(DataError, match=re.escape(message)) as info:
        run(write(tmp_path, body, name="bad.csv"))
    assert snapshot() == existing
    job = info.value.import_job
    assert job.status == ImportStatus.FAILED and message in job.error
    assert ImportJob.objects.filter(status=ImportStatus.FAILED).count() == 1


def test_random_bytes_refused(tmp_path, existing):
    with pytest.raises(DataError, match="not a CSV, TSV or Excel file"):
        run(write(tmp_path, os.urandom(5000), name="noise.bin"))
    assert snapshot() == existing


def test_every_problem_counted_and_first_ones_named(tmp_path, existing):
    rows = "".join(f"{i:04d},Male,{200 + i},15,39\r\n" for i in range(10, 40))
    with pytest.raises(DataError) as info:
        run(write(tmp_path, HEADER + rows))
    message = str(info.value)
    assert message.startswith("30 rows have problems, so nothing was imported")
    assert "row 2, column Age: '210' is out of range" in message
    assert "and 20 more rows" in message
    assert snapshot() == existing


def test_problems_found_across_chunks(tmp_path, existing):
    rows = "".join(f"{i:04d},Male,30,15,39\r\n" for i in range(100, 130)) + "0100,Male,30,15,39\r\n"
    with pytest.raises(DataError, match=re.escape("row 32, column CustomerID: '0100' is a duplicate of row 2")):
        run(write(tmp_path, HEADER + rows), chunk_rows=7)
    assert snapshot() == existing


def test_size_limit(tmp_path, existing):
    with pytest.raises(DataError, match="the upload limit is 100 bytes"):
        run(write(tmp_path, GOOD), max_bytes=100)
    assert snapshot() == existing


# ----------------------------------------------------------------------------- skip invalid, dry run, upsert


def test_skip_invalid_imports_valid_rows_and_returns_rejected_csv(tmp_path):
    body = HEADER + "0001,Male,19,15,39\r\n0002,Male,abc,15,39\r\n0003,Female,20,16,140\r\n0001,Female,1,1,1\r\n"
    body += "0004,=cmd(),20,16,6\r\n"
    result = run(write(tmp_path, body), skip_invalid=True)
    assert (result.rows_total, result.added, result.updated, result.rejected) == (5, 1, 0, 4)
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["0001"]
    rows = list(csv.reader(io.StringIO(result.rejected_path.read_text(encoding="utf-8"))))
    assert rows[0] == ["row", "CustomerID", "Genre", "Age", "Annual Income (k$)", "Spending Score (1-100)", "reason"]
    assert rows[1] == ["3", "0002", "Male", "abc", "15", "39", "row 3, column Age: 'abc' is not a number"]
    assert rows[2][0] == "4" and "'140' is out of range" in rows[2][-1]
    assert rows[3][-1] == "row 5, column CustomerID: '0001' is a duplicate of row 2"
    assert rows[4][2] == "'=cmd()"  # written formula-safe
    job = result.job
    assert (job.rows_added, job.rows_rejected, job.skip_invalid) == (1, 4, True)
    assert job.rejected_path == str(result.rejected_path) and job.rejected_csv == ""
    assert result.rejected_sample == result.rejected_path.read_bytes().decode()


def test_dry_run_changes_nothing(tmp_path, existing):
    body = HEADER + "0001,Female,50,15,39\r\n0009,Male,19,15,39\r\n"
    result = run(write(tmp_path, body), dry_run=True)
    assert (result.added, result.updated, result.dry_run) == (1, 1, True)
    assert snapshot() == existing
    assert result.job.status == ImportStatus.DRY_RUN
    assert (result.job.rows_added, result.job.rows_updated) == (1, 1)


def test_reimport_upserts(tmp_path, existing):
    body = "CustomerID,Age,Region,Visits\r\n0001,50,West,3\r\n0002,,,4\r\n0009,33,North,5\r\n"
    result = run(write(tmp_path, body))
    assert (result.added, result.updated) == (1, 2)
    one = Customer.objects.get(external_id="0001")
    # columns in the file replace, others stay (gender, income, score)
    assert (one.gender, one.age, one.annual_income, one.spending_score) == ("male", 50, 15.0, 39.0)
    assert one.attributes == {"region": "West", "visits": 3}
    two = Customer.objects.get(external_id="0002")
    assert two.age is None and two.attributes == {"visits": 4}  # empty cells clear
    assert Customer.objects.count() == 4
    assert two.created_at < two.updated_at


def test_attribute_kind_conflict_becomes_text(tmp_path):
    run(write(tmp_path, "ID,Code\n1,10\n2,11\n"))
    assert CustomerAttribute.objects.get(key="code").kind == "number"
    run(write(tmp_path, "ID,Code\n3,A7\n"))
    assert CustomerAttribute.objects.get(key="code").kind == "text"
    assert Customer.objects.get(external_id="3").attributes == {"code": "A7"}


def test_record_of_who_and_where(tmp_path, marketer_user):
    result = customer_import(file=write(tmp_path, GOOD), user=marketer_user, source="upload")
    job = ImportJob.objects.get(pk=result.job.pk)
    assert (job.created_by, job.source, job.rows_total, job.rows_added) == (marketer_user, "upload", 3, 3)
    assert job.duration_ms >= 0


def test_file_object_and_blank_lines_not_counted(tmp_path):
    data = (HEADER + "\r\n0001,Male,19,15,39\r\n\r\n0002,Male,x,15,39\r\n").encode()
    with pytest.raises(DataError, match=re.escape("row 3, column Age: 'x' is not a number")):
        customer_import(file=io.BytesIO(data), file_name="mem.csv")
    assert ImportJob.objects.get().file_name == "mem.csv"


def test_bulk_load_rebuilds_indexes_on_postgresql(tmp_path, monkeypatch):
    """A large load into a small table drops and rebuilds the secondary indexes and the unique
    constraint in the same transaction; afterwards the schema is exactly as before."""
    from django.db import IntegrityError, connection, transaction

    from customers.imports import writers

    if connection.vendor != "postgresql":
        pytest.skip("the bulk index rebuild is PostgreSQL only")

    def schema():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'customers_customer' ORDER BY 1"
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                "'customers_customer'::regclass ORDER BY 1"
            )
            return indexes, cursor.fetchall()

    before = schema()
    monkeypatch.setattr(writers, "BULK_REINDEX_ROWS", 2)
    result = run(write(tmp_path, GOOD))
    assert result.added == 3 and Customer.objects.count() == 3
    assert schema() == before
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(external_id="0001")


def test_identical_reimport_touches_nothing(tmp_path, existing, django_capture_on_commit_callbacks):
    stamps = dict(Customer.objects.values_list("external_id", "updated_at"))
    body = (
        HEADER.strip()
        + ",Region\r\n0001,Male,19,15,39,North\r\n0002,Female,21,15,81,Mid\r\n0003,Female,20,16,6,East\r\n"
    )
    with customers_changed_calls() as calls, django_capture_on_commit_callbacks(execute=True):
        result = run(write(tmp_path, body, name="again.csv"))
    assert (result.added, result.updated) == (0, 3)  # three known ids
    changed = Customer.objects.get(external_id="0002")
    assert calls == [[changed.pk]]  # only the customer whose data changed is announced
    assert changed.attributes == {"region": "Mid"} and changed.updated_at > stamps["0002"]
    assert dict(Customer.objects.exclude(external_id="0002").values_list("external_id", "updated_at")) == {
        k: v for k, v in stamps.items() if k != "0002"
    }


def test_blank_cells_and_padding(tmp_path):
    text = "ID,Age,Income,Note\n 1 ,   , 12 ,  hi  \n2,,,\n,,,\n"
    result = run(write(tmp_path, text))
    assert result.rows_total == 2  # the row with no value at all is skipped
    one = Customer.objects.get(external_id="1")
    assert (one.age, one.annual_income, one.attributes) == (None, 12.0, {"note": "hi"})
