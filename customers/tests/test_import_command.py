"""python manage.py import_customers: output, exit codes, options."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer, ImportJob, ImportStatus

pytestmark = pytest.mark.django_db

HEADER = "CustomerID,Genre,Age,Annual Income (k$),Spending Score (1-100)\r\n"
GOOD = HEADER + "0001,Male,19,15,39\r\n0002,Female,21,15,81\r\n"
REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def call(*args) -> str:
    out = StringIO()
    call_command("import_customers", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def test_import_and_reimport(tmp_path):
    path = write(tmp_path, GOOD)
    out = call(path)
    assert "customers.csv: 2 rows, 2 added, 0 updated, 0 rejected" in out
    assert "Import committed." in out
    assert Customer.objects.count() == 2
    out = call(path)
    assert "2 rows, 0 added, 2 updated, 0 rejected" in out
    assert ImportJob.objects.filter(source="command").count() == 2


def test_refusal_is_a_command_error(tmp_path):
    path = write(tmp_path, HEADER + "0001,Male,300,15,39\r\n")
    with pytest.raises(CommandError, match="row 2, column Age: '300' is out of range: must be between 0 and 120"):
        call(path)
    assert Customer.objects.count() == 0
    assert ImportJob.objects.get().status == ImportStatus.FAILED


def test_missing_file(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call(tmp_path / "nope.csv")


def test_map_option(tmp_path):
    path = write(tmp_path, "Client Ref,Age\r\nX-1,30\r\n")
    with pytest.raises(CommandError, match='--number-rows.*--map "HEADER=external_id"'):
        call(path)
    call(path, "--map", "Client Ref=external_id")
    assert Customer.objects.get().external_id == "X-1"
    with pytest.raises(CommandError, match="expected SOURCE=FIELD"):
        call(path, "--map", "Client Ref")


def test_dry_run_changes_nothing(tmp_path):
    out = call(write(tmp_path, GOOD), "--dry-run")
    assert "2 would add" in out and "Dry run: nothing was changed." in out
    assert Customer.objects.count() == 0
    assert ImportJob.objects.get().status == ImportStatus.DRY_RUN


def test_skip_invalid_and_rejected_out(tmp_path):
    path = write(tmp_path, GOOD + "0003,Female,abc,16,6\r\n")
    out_path = tmp_path / "rejected.csv"
    out = call(path, "--skip-invalid", "--rejected-out", out_path)
    assert "3 rows, 2 added, 0 updated, 1 rejected" in out
    rows = list(csv.reader(out_path.open(encoding="utf-8")))
    assert rows[1] == ["4", "0003", "Female", "abc", "16", "6", "row 4, column Age: 'abc' is not a number"]
    out = call(path, "--skip-invalid")
    assert "row 4, column Age: 'abc' is not a number" in out  # printed when not saved


def test_user_option(tmp_path, marketer_user):
    call(write(tmp_path, GOOD), "--user", marketer_user.username)
    assert ImportJob.objects.get().created_by == marketer_user
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call(write(tmp_path, GOOD), "--user", "ghost")


@pytest.mark.slow
def test_exit_codes_of_the_real_command(tmp_path):
    """Run manage.py as a user would: exit 0 on success, 1 with a one-line message on refusal."""
    db = tmp_path / "cli.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True, cwd=REPO)
    ok = subprocess.run(
        [*manage, "import_customers", str(write(tmp_path, GOOD))], env=env, capture_output=True, text=True, cwd=REPO
    )
    assert ok.returncode == 0, ok.stderr
    assert "2 added" in ok.stdout
    bad = subprocess.run(
        [*manage, "import_customers", str(write(tmp_path, HEADER + "0009,Male,abc,1,1\r\n", "bad.csv"))],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert bad.returncode == 1
    assert "CommandError: bad.csv: row 2, column Age: 'abc' is not a number" in bad.stderr
    assert "Traceback" not in bad.stderr
