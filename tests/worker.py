"""A real Celery worker process for tests of the task path.

`celery_worker` starts `celery -A config worker` as a subprocess against the test
database (a file for SQLite, the test database on PostgreSQL) and a broker private to
this test session: a fresh folder for the filesystem transport, or a private queue
name on Redis. Tests that use it need committed data: mark them `transactional_db`.

The worker imports `segmentation.tests.runs_support` (test hooks: a slow or failing engine on
request). Extra environment for the worker comes from the `worker_env` fixture; override it
with `@pytest.mark.parametrize("worker_env", [{"SEGMENTA_TEST_SEGMENT_DELAY": "5"}])`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from config.settings.base import filesystem_broker_options

REPO = Path(__file__).resolve().parent.parent


def _database_url(settings_dict: dict) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_path: Path, *, name: str = "worker1", extra_args: tuple = ()) -> None:
        self.env = env
        self.log_path = log_path
        self.name = name
        self.extra_args = tuple(extra_args)
        self.proc: subprocess.Popen | None = None
        self.others: list[WorkerProcess] = []  # more workers on the same private queue (`start_another`)

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--include",
                "segmentation.tests.runs_support",
                "-Q",
                self.env["CELERY_TASK_DEFAULT_QUEUE"],
                "-n",
                f"{self.name}@%h",
                *self.extra_args,
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited at start:\n{self.log()}")
            if b"ready." in self.log_path.read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready after 60 s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def child_pids(self) -> list[int]:
        """PIDs of the pool processes (the ones that execute tasks)."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def kill_children(self) -> None:
        for pid in self.child_pids():
            os.kill(pid, signal.SIGKILL)

    def start_another(self, *, beat: bool = False) -> WorkerProcess:
        """Start one more worker process on the same queue (two machines, simulated); `beat` embeds Celery beat."""
        n = len(self.others) + 2
        extra = ("-B", "--schedule", str(self.log_path.parent / f"beat-{n}")) if beat else ()
        other = WorkerProcess(self.env, self.log_path.with_name(f"worker{n}.log"), name=f"worker{n}", extra_args=extra)
        self.others.append(other)
        other.start()
        return other

    def kill_all(self) -> None:
        """SIGKILL the whole worker: its main process and its pool processes (a machine lost)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        for other in self.others:
            other.stop()
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def _reset_producers(app) -> None:
    """Close pooled broker connections and forget the pools (a closed pool cannot be reused)."""
    from kombu import pools

    pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
        amqp._rtable = None
        for cached in ("queues", "default_queue", "router"):
            amqp.__dict__.pop(cached, None)


@pytest.fixture
def worker_env() -> dict[str, str]:
    """Extra environment variables for the test worker (override by parametrizing)."""
    return {}


@pytest.fixture
def celery_worker(transactional_db, settings, worker_env):
    """Start a real worker for one test; yields the WorkerProcess (stop/kill helpers)."""
    from django.db import connection

    from config.celery import app, broker_folders_create

    tmp = Path(tempfile.mkdtemp(prefix="segmenta-worker-"))
    queue = f"segmenta-test-{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items()}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.worker_test",
        DATABASE_URL=_database_url(connection.settings_dict),
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    env.update(worker_env)
    broker = app.conf.broker_url or "filesystem://"
    # The test process sends to the same private broker: Celery reads Django settings under their
    # CELERY_ names, so those are the keys to override (and restore) on app.conf.
    overrides = {"CELERY_TASK_DEFAULT_QUEUE": queue}
    if broker.startswith("filesystem://"):
        env["CELERY_BROKER_URL"] = "filesystem://localhost/"
        env["CELERY_BROKER_FOLDER"] = str(tmp / "broker")
        overrides["CELERY_BROKER_TRANSPORT_OPTIONS"] = filesystem_broker_options(tmp / "broker")
    saved = {key: app.conf.get(key) for key in overrides}
    app.conf.update(overrides)
    broker_folders_create(app)
    # Drop pooled producer connections and cached routes so the new options take effect.
    _reset_producers(app)
    worker = WorkerProcess(env, tmp / "worker.log")
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        app.conf.update(saved)
        _reset_producers(app)
        shutil.rmtree(tmp, ignore_errors=True)
