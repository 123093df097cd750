"""A gunicorn worker recycling itself (max_requests) answers every request that reached it (config/gunicorn_worker.py).

Stock gthread workers closed connections they had accepted but not read, so a client on a brand-new connection got
a reset (gunicorn #3038). Here two workers recycle every 15 requests under four keep-alive clients: a request on
a reused connection the server closed while idle may be sent again once (as HTTP clients do), and nothing else
may fail.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.test_deploy import REPO, _env, _free_port

DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def _get(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    response.read()
    return response.status


@pytest.mark.slow
def test_a_recycling_worker_answers_every_request_that_reached_it(tmp_path):
    port = _free_port()
    env = _env(
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        WEB_MAX_REQUESTS="15",
        GUNICORN_CMD_ARGS="--max-requests-jitter 0",
        WEB_ACCESS_LOG="/dev/null",
        SEGMENTA_VAR_DIR=str(tmp_path),
    )
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "config/gunicorn.conf.py"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    failures: list[str] = []
    answered = [0]
    lock = threading.Lock()

    def client() -> None:
        conn, reused = http.client.HTTPConnection("127.0.0.1", port, timeout=30), False
        for _ in range(60):
            try:
                try:
                    status = _get(conn)
                except DROPPED:
                    if not reused:
                        raise
                    conn.close()  # closed by the server while idle: once more on a new connection
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    status = _get(conn)
                reused = True
                with lock:
                    answered[0] += status == 200
                    if status != 200:
                        failures.append(f"HTTP {status}")
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    failures.append(repr(exc))
                conn, reused = http.client.HTTPConnection("127.0.0.1", port, timeout=30), False

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if _get(http.client.HTTPConnection("127.0.0.1", port, timeout=5)) == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert failures == []
    assert answered[0] == 240  # about 16 recycles
