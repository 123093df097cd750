"""Settings come from the environment and a bad value stops start-up with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _start(module: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY")}
    full.update(env, DJANGO_SETTINGS_MODULE=module)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG: expected one of 1/0, true/false, yes/no, on/off; got 'maybe'"),
        ({"DATABASE_URL": "mysql://root@localhost/db"}, "DATABASE_URL: only sqlite and postgres are supported"),
        ({"CELERY_BROKER_URL": "kafka://x"}, "CELERY_BROKER_URL: expected redis://host:port/db"),
        ({"SEGMENTA_RUN_TIME_LIMIT": "soon"}, "SEGMENTA_RUN_TIME_LIMIT: expected a whole number; got 'soon'"),
        ({"SEGMENTA_MAX_UPLOAD_BYTES": "10"}, "SEGMENTA_MAX_UPLOAD_BYTES: must be at least 1024; got 10"),
    ],
)
def test_bad_value_stops_start_up(env, message):
    proc = _start("config.settings.local", **env)
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr and message in proc.stderr


def test_production_requires_a_secret_key():
    proc = _start("config.settings.production")
    assert proc.returncode != 0 and "SECRET_KEY must be set" in proc.stderr
    weak = _start("config.settings.production", SECRET_KEY="short")
    assert weak.returncode != 0 and "at least 50 random characters" in weak.stderr


def test_production_turns_debug_off_and_secures_cookies():
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SEGMENTA_ALLOW_DEMO_USER)",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_DEBUG": "1",
            "SECRET_KEY": "k" * 20 + "-production-key-for-the-settings-test-only-0123456789",
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True", "True", "False"]


def _database_setting(**env: str) -> list[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_CONN_MAX_AGE")}
    full.update(env, DJANGO_SETTINGS_MODULE="config.settings.local")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "d = s.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])",
        ],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_postgresql_connections_are_kept_between_requests():
    """A connection per request (a new PostgreSQL server process each time) cost a third of the pages' throughput."""
    postgres = "postgres://u@127.0.0.1:5432/db"
    assert _database_setting(DATABASE_URL=postgres) == ["60", "True"]
    assert _database_setting(DATABASE_URL=postgres, DATABASE_CONN_MAX_AGE="0") == ["0", "False"]
    assert _database_setting(DATABASE_URL="sqlite:////tmp/segmenta-settings-test.sqlite3") == ["0", "False"]


_IMPORT_SETTINGS_ONLY = """
import os, sys
made = []
real_mkdir = os.mkdir
def refuse(path, *args, **kwargs):
    made.append(str(path))
    raise PermissionError(f"settings tried to create {path}")
os.mkdir = refuse
from django.conf import settings
settings.INSTALLED_APPS  # imports the settings module
os.mkdir = real_mkdir
print(made)
"""


@pytest.mark.parametrize(
    "module",
    ["config.settings.local", "config.settings.test", "config.settings.worker_test", "config.settings.production"],
)
def test_importing_settings_creates_no_directory(module, tmp_path):
    """A read-only deployment can import the settings: they name folders but never create them."""
    var_dir = tmp_path / "absent" / "var"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_BROKER_FOLDER")
    }
    env.update(
        DJANGO_SETTINGS_MODULE=module,
        SEGMENTA_VAR_DIR=str(var_dir),
        TMPDIR=str(scratch),
        SECRET_KEY="k" * 20 + "-production-key-for-the-settings-test-only-0123456789",
    )
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_SETTINGS_ONLY],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert not (tmp_path / "absent").exists()
    assert list(scratch.iterdir()) == []
