"""Issue 14, finding 7: API throttles live in a cache every web process shares; a bad rate stops start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.management import call_command
from django.test import RequestFactory, override_settings
from rest_framework.throttling import UserRateThrottle

REPO = Path(__file__).resolve().parent.parent


def _settings_of(code: str, **env: str) -> subprocess.CompletedProcess:
    full = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "REDIS_URL", "API_RATE_LIMIT")
    }
    full.update(env, DJANGO_SETTINGS_MODULE="config.settings.local")
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings as s; {code}"],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "backend", "location"),
    [
        ({}, "filebased.FileBasedCache", "cache"),
        ({"DATABASE_URL": "postgres://u@db:5432/segmenta"}, "db.DatabaseCache", "segmenta_cache"),
        ({"CELERY_BROKER_URL": "redis://r:6379/0"}, "redis.RedisCache", "redis://r:6379/1"),
        ({"CELERY_BROKER_URL": "redis://r:6379/0", "REDIS_URL": "redis://c:6379/4"}, "redis.RedisCache", "c:6379/4"),
        ({"CACHE_URL": "locmem://"}, "locmem.LocMemCache", None),
    ],
)
def test_the_cache_is_shared_by_default(env, backend, location):
    proc = _settings_of("print(s.CACHES['default']['BACKEND'], s.CACHES['default'].get('LOCATION'))", **env)
    assert proc.returncode == 0, proc.stderr
    got_backend, got_location = proc.stdout.split()
    assert got_backend == f"django.core.cache.backends.{backend}"
    assert location is None or got_location.endswith(location)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"API_RATE_LIMIT": "lots"}, "API_RATE_LIMIT: expected requests per period like 1000/hour"),
        ({"API_RATE_LIMIT": "0/hour"}, "API_RATE_LIMIT: expected requests per period"),
        ({"API_EXPORT_RATE_LIMIT": "10/fortnight"}, "API_EXPORT_RATE_LIMIT: expected requests per period"),
        ({"CACHE_URL": "memcached://x"}, "CACHE_URL: expected redis://host:port/db, db://, file:///path"),
    ],
)
def test_a_bad_rate_or_cache_stops_start_up(env, message):
    proc = _settings_of("print(s.REST_FRAMEWORK)", **env)
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr and message in proc.stderr


def test_a_good_rate_starts():
    proc = _settings_of("print(s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['user'])", API_RATE_LIMIT="50/minute")
    assert proc.returncode == 0 and proc.stdout.strip() == "50/minute"


# --- the limit holds across processes / cache clients ----------------------------------------------------------

_THROTTLE_SCRIPT = """
import json, sys
import django
django.setup()
from django.core.cache.backends.filebased import FileBasedCache
from django.test import RequestFactory
from rest_framework.throttling import UserRateThrottle
from types import SimpleNamespace

class Throttle(UserRateThrottle):
    cache = FileBasedCache(sys.argv[1], {})
    rate = "5/minute"

allowed = 0
for _ in range(int(sys.argv[2])):
    request = RequestFactory().get("/api/segments/")
    request.user = SimpleNamespace(is_authenticated=True, pk=7)
    allowed += Throttle().allow_request(request, None)
print(json.dumps(allowed))
"""


def test_two_web_processes_share_one_limit_on_the_embedded_default(tmp_path):
    """Two processes with their own file-cache client: 5 requests a minute in all, not 5 each."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    env.pop("DATABASE_URL", None)
    folder = str(tmp_path / "cache")
    allowed = []
    for _ in range(2):  # one after the other: the second sees the first's requests
        proc = subprocess.run(
            [sys.executable, "-c", _THROTTLE_SCRIPT, folder, "4"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        allowed.append(json.loads(proc.stdout))
    assert allowed == [4, 1]


def _throttle_on(cache_client):
    class Throttle(UserRateThrottle):
        cache = cache_client
        rate = "5/minute"

    return Throttle


def _hits(throttle_class, user_pk: int, n: int) -> int:
    from types import SimpleNamespace

    allowed = 0
    for _ in range(n):
        request = RequestFactory().get("/api/segments/")
        request.user = SimpleNamespace(is_authenticated=True, pk=user_pk)
        allowed += throttle_class().allow_request(request, None)
    return allowed


@pytest.mark.django_db(transaction=True)
def test_two_database_cache_clients_share_one_limit():
    """PostgreSQL without Redis: the limit is rows of the database's cache table, seen by every web process."""
    table = f"throttle_test_{uuid.uuid4().hex[:8]}"
    config = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": table}}
    with override_settings(CACHES=config):
        call_command("createcachetable", verbosity=0)
        try:
            one, two = DatabaseCache(table, {}), DatabaseCache(table, {})
            assert _hits(_throttle_on(one), 9, 3) == 3
            assert _hits(_throttle_on(two), 9, 3) == 2
        finally:
            from django.db import connection

            with connection.cursor() as cur:
                cur.execute(f"DROP TABLE {connection.ops.quote_name(table)}")


def test_two_redis_cache_clients_share_one_limit():
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("no Redis configured (CELERY_BROKER_URL)")
    from django.core.cache.backends.redis import RedisCache

    from config.settings.base import _broker_cache_url

    prefix = f"throttle-test-{uuid.uuid4().hex}"
    one = RedisCache(_broker_cache_url(broker), {"KEY_PREFIX": prefix})
    two = RedisCache(_broker_cache_url(broker), {"KEY_PREFIX": prefix})
    try:
        assert _hits(_throttle_on(one), 9, 3) == 3
        assert _hits(_throttle_on(two), 9, 3) == 2
    finally:
        one.delete("throttle_user_9")


def test_file_cache_clients_share_one_limit(tmp_path):
    one, two = FileBasedCache(str(tmp_path), {}), FileBasedCache(str(tmp_path), {})
    assert _hits(_throttle_on(one), 9, 3) == 3
    assert _hits(_throttle_on(two), 9, 3) == 2
