"""Issue 14, "many machines": two web processes (gunicorn with config/gunicorn.conf.py, production settings,
separate local var folders) sharing PostgreSQL and Redis behave as one site.

* a session made on one is valid on the other (sessions are database rows);
* the API rate limit counts across both (limit 10/min: 6 requests on A then 6 on B: the 11th and 12th are 429,
  and so is the next one on A);
* login throttling (axes) counts across both (failures on A and on B add up to the lockout, refused on both).

Runs where PostgreSQL and Redis are configured (DATABASE_URL, CELERY_BROKER_URL: CI sets both), else skips.
Static files are not what this checks: the servers get a manifest naming every file as itself, so pages render
without a `collectstatic` (minutes on a busy machine).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.staticfiles.finders import get_finders
from django.db import connection

REPO = Path(__file__).resolve().parent.parent
KEY = secrets.token_urlsafe(64)
PASSWORD = "correct horse battery staple 14"  # noqa: S105 - a test user's
RATE = 10
FAILURE_LIMIT = 4

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
        or not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"),
        reason="two web processes sharing PostgreSQL and Redis: set DATABASE_URL (postgres://) and "
        "CELERY_BROKER_URL (redis://), as CI does",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    """The test database (pytest-django's), which the servers must share with this process."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _cache_url() -> str:
    """The broker's Redis, in a database of its own so no other test's throttles count here."""
    broker = os.environ["CELERY_BROKER_URL"]
    return re.sub(r"/\d*$", "", broker.rstrip("/")) + "/13"


def _static_root(tmp: Path) -> Path:
    root = tmp / "static"
    root.mkdir()
    paths = {path: path for finder in get_finders() for path, _storage in finder.list(["CVS", ".*", "*~"])}
    (root / "staticfiles.json").write_text(json.dumps({"paths": paths, "version": "1.1", "hash": "test"}))
    return root


@dataclass
class Web:
    """One web process and a tiny HTTP client of it (behind a proxy: X-Forwarded-Proto https)."""

    name: str
    port: int
    process: subprocess.Popen
    log: Path
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, *, headers: dict | None = None, body: str | None = None, ip: str = "198.51.100.1"
    ):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {"X-Forwarded-Proto": "https", "X-Forwarded-For": ip, "Host": f"127.0.0.1:{self.port}"}
        sent.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            return (
                response.status,
                dict(response.getheaders()),
                response.read(),
                response.msg.get_all("Set-Cookie") or [],
            )
        finally:
            conn.close()


def _start(name: str, tmp: Path, static_root: Path) -> Web:
    port = _free_port()
    var = tmp / f"var-{name}"
    var.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "EMAIL_HOST")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=KEY,
        ALLOWED_HOSTS="127.0.0.1",
        SEGMENTA_BEHIND_PROXY="1",
        DATABASE_URL=_database_url(),
        CACHE_URL=_cache_url(),
        API_RATE_LIMIT=f"{RATE}/min",
        LOGIN_FAILURE_LIMIT=str(FAILURE_LIMIT),
        SEGMENTA_VAR_DIR=str(var),
        STATIC_ROOT=str(static_root),
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        WEB_THREADS="2",
        WEB_ACCESS_LOG=str(var / "access.log"),
    )
    log = var / "server.log"
    process = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "config/gunicorn.conf.py"],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return Web(name, port, process, log)


def _wait_ready(web: Web) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            if web.request("GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        if web.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"web {web.name} did not start:\n{web.log.read_text()[-3000:]}")
        time.sleep(0.3)


@pytest.fixture
def two_webs(tmp_path):
    import redis

    shared = redis.Redis.from_url(_cache_url())
    for key in shared.scan_iter("*throttle_*"):  # an earlier run's counts (user ids restart with the database)
        shared.delete(key)
    static_root = _static_root(tmp_path)
    webs = [_start("a", tmp_path, static_root), _start("b", tmp_path, static_root)]
    try:
        for web in webs:
            _wait_ready(web)
        yield webs
    finally:
        for web in webs:
            web.process.terminate()
        for web in webs:
            web.process.wait(timeout=60)


def _cookies(set_cookie: list[str]) -> dict[str, str]:
    jar = SimpleCookie()
    for header in set_cookie:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def _login_form(web: Web, ip: str) -> tuple[str, str]:
    """(csrftoken cookie, form token) of the login page."""
    status, _headers, body, set_cookie = web.request("GET", "/accounts/login/", ip=ip)
    assert status == 200, body[:500]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    return _cookies(set_cookie)["csrftoken"], token


def _login(web: Web, form: tuple[str, str], username: str, password: str, ip: str):
    cookie, token = form
    origin = f"https://127.0.0.1:{web.port}"
    return web.request(
        "POST",
        "/accounts/login/",
        ip=ip,
        body=urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie}",
            "Origin": origin,
            "Referer": f"{origin}/accounts/login/",
        },
    )


@pytest.mark.django_db(transaction=True)
def test_two_web_processes_share_sessions_rate_limits_and_login_throttling(two_webs, django_user_model):
    from axes.models import AccessAttempt
    from rest_framework.authtoken.models import Token

    a, b = two_webs
    started = time.monotonic()
    # hashed as production hashes (the test settings' fast hasher is not one production accepts)
    hashed = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt(), iterations=1000)
    django_user_model.objects.create_superuser("scaler", "scaler@example.com", password=None)
    django_user_model.objects.filter(username="scaler").update(password=hashed)
    api_user = django_user_model.objects.create_superuser("api-caller", "api@example.com", password=None)
    token = Token.objects.create(user=api_user).key

    # 1. a session made on A is valid on B (and a made-up one is not)
    form = _login_form(a, ip="198.51.100.10")
    status, headers, body, set_cookie = _login(a, form, "scaler", PASSWORD, ip="198.51.100.10")
    assert status == 302, re.findall(rb"(?:error|invalid|errorlist)[^<]{0,200}", body, re.I)[:5]
    session = _cookies(set_cookie)["sessionid"]
    for web in (b, a):
        status, headers, body, _ = web.request("GET", "/", headers={"Cookie": f"sessionid={session}"})
        assert status == 200, (web.name, status, headers.get("Location"))
        assert b"scaler" in body
    status, headers, _, _ = b.request("GET", "/", headers={"Cookie": "sessionid=made-up"})
    assert status == 302 and "/accounts/login/" in headers["Location"]

    # 2. one API rate limit across both: 6 on A, 6 on B, then 1 more on A
    auth = {"Authorization": f"Token {token}"}
    statuses = {web.name: [] for web in (a, b)}
    for web in (a,) * 6 + (b,) * 6 + (a,):
        statuses[web.name].append(web.request("GET", "/api/segments/", headers=auth)[0])
    assert statuses == {"a": [200] * 6 + [429], "b": [200] * 4 + [429] * 2}, statuses

    # 3. login throttling across both: 2 wrong passwords on A and 2 on B lock the pair out of both. The pair is
    # (username, REMOTE_ADDR): axes reads X-Forwarded-For only through django-ipware, which is not installed,
    # so behind one proxy every client has the proxy's address (here 127.0.0.1).
    form = _login_form(b, ip="203.0.113.7")
    failures = [_login(web, form, "scaler", "wrong", ip="203.0.113.7")[0] for web in (a, a, b, b)]
    assert failures == [200, 200, 200, 429], failures
    assert _login(a, form, "scaler", PASSWORD, ip="203.0.113.7")[0] == 429  # the right password, refused on A
    assert _login(b, form, "scaler", PASSWORD, ip="203.0.113.7")[0] == 429  # and on B
    attempts = list(AccessAttempt.objects.filter(username="scaler").values_list("ip_address", "failures_since_start"))
    assert len(attempts) == 1 and attempts[0][1] >= FAILURE_LIMIT, attempts  # one row, both processes' failures

    print(
        f"\nMANY_MACHINES two gunicorn processes: session A->B ok; API {RATE}/min: A {statuses['a']} "
        f"B {statuses['b']}; login lockout after {FAILURE_LIMIT} failures (2 on A + 2 on B) on both; "
        f"{time.monotonic() - started:.1f} s"
    )
