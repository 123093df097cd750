"""Load under the production server: gunicorn (config/gunicorn.conf.py, production settings) on loopback.

Run: BENCH_DATABASE_URL=postgres://... BENCH_ROWS=1000000 python bench/bench_load.py (a database it may fill).
It loads BENCH_ROWS synthetic customers with COPY (bench_pages' loader), segments them inline, starts gunicorn
(WEB_CONCURRENCY workers, default the production one: cores + 1) and, for BENCH_SECONDS each, drives the dashboard, the
segments API (a token) and the customer list from BENCH_CLIENTS keep-alive connections in threads: requests/s,
p50/p99 latency and errors per endpoint. Then it downloads the whole audience of a campaign on every segment of the
active run (`/api/campaigns/<id>/audience/?format=csv`, streamed) while the dashboard load runs, and samples the web
workers' resident memory: growth over the idle baseline. BENCH_EXPORT=customers downloads the customer list's export
(`/customers/export.csv`) instead.
The load generator shares the machine's cores with the server, so figures are a floor.

Errors: every answer other than 200 and every failure, except one: a connection the server closed before answering
(gunicorn recycles a worker after WEB_MAX_REQUESTS requests and closes its idle keep-alive connections) is opened
again and the request sent once more, as HTTP clients do; those are counted as "reconnects". A second failure, or a
connection dropped after the answer began, is an error.
The server uses the environment's cache (CACHE_URL / REDIS_URL, else the database's cache table), as a deployment
would; BENCH_REUSE=1 keeps the customers of an earlier run of the same size.
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
if not DATABASE_URL.startswith("postgres"):
    sys.exit("bench_load: set BENCH_DATABASE_URL to a PostgreSQL database it may fill")
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("BENCH_ROWS", "1000000")
# One key for this process (which makes the session) and the server (which reads it).
os.environ["SECRET_KEY"] = secrets.token_urlsafe(64)

import bench_pages  # noqa: E402 - sets up Django (local settings) against DATABASE_URL
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

ROWS = int(os.environ["BENCH_ROWS"])
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
WORKERS = os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) + 1))  # as config/gunicorn.conf.py
PORT = int(os.environ.get("BENCH_PORT", "8108"))
EXPORT = os.environ.get("BENCH_EXPORT", "audience")
if EXPORT not in ("audience", "customers"):
    sys.exit(f"bench_load: BENCH_EXPORT: expected audience or customers; got {EXPORT!r}")
CAMPAIGN = "Bench load: everyone"


def prepare() -> tuple[str, str, int]:
    """Customers, an active run, a Marketer with a session and a token, a scheduled campaign on every segment of
    the active run (its audience is every segmented customer)."""
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    table = bench_pages.TABLE
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE {table} ALTER COLUMN created_at SET DEFAULT now(), ALTER COLUMN updated_at SET DEFAULT now()"
        )
    try:
        load_s = bench_pages.load_rows(ROWS)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE {table} ALTER COLUMN created_at DROP DEFAULT, ALTER COLUMN updated_at DROP DEFAULT"
            )
    print(f"  {ROWS:,} customers loaded in {load_s:.1f}s")
    started = time.perf_counter()
    call_command("segment", "--inline", "--if-no-active", verbosity=0)
    print(f"  segmented in {time.perf_counter() - started:.1f}s")
    user, _ = get_user_model().objects.get_or_create(username="bench-marketer")
    user.groups.add(Group.objects.get(name="Marketer"))
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"  # the one that logs users in
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    token, _ = Token.objects.get_or_create(user=user)
    return session.session_key, token.key, audience_campaign(user).pk


def audience_campaign(user):
    from campaigns import services
    from campaigns.models import Campaign
    from segmentation.models import Segmentation

    run = Segmentation.objects.exclude(active_run=None).order_by("pk").first().active_run
    campaign = Campaign.objects.filter(name=CAMPAIGN, pinned_run=run).first()
    if campaign is None:
        campaign = services.campaign_create(actor=user, name=CAMPAIGN, segments=list(run.segments.all()))
        campaign = services.campaign_schedule(actor=user, campaign=campaign)
    return campaign


def start_server() -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "WEB_BIND": f"127.0.0.1:{PORT}",
        "WEB_CONCURRENCY": WORKERS,
        "WEB_ACCESS_LOG": "/dev/null",
        "API_RATE_LIMIT": "100000000/hour",
        "STATIC_ROOT": os.environ.get("BENCH_STATIC_ROOT", str(REPO / "var" / "bench-static")),
    }
    # Production serves the hashed, compressed static files of collectstatic.
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "config/gunicorn.conf.py"], cwd=REPO, env=env
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit("bench_load: gunicorn did not answer /healthz")


#: What a closed keep-alive connection looks like to a client that sends on it before any answer.
DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def new_connection() -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)


def get_once(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> int:
    """One GET on `conn`: the status. Raises DroppedBeforeAnswer when the connection was closed before any answer."""
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
    except DROPPED as exc:
        raise DroppedBeforeAnswer from exc
    response.read()
    return response.status


class DroppedBeforeAnswer(Exception):
    pass


def drive(path: str, headers: dict[str, str], seconds: float, clients: int) -> dict:
    latencies: list[float] = []
    counts = {"errors": 0, "reconnects": 0}
    kinds: collections.Counter[str] = collections.Counter()  # what each error was: a status or an exception
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        conn = new_connection()
        mine: list[float] = []
        bad = reconnects = 0
        mine_kinds: collections.Counter[str] = collections.Counter()
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                try:
                    status = get_once(conn, path, headers)
                except DroppedBeforeAnswer:
                    reconnects += 1
                    conn.close()
                    conn = new_connection()
                    status = get_once(conn, path, headers)
                if status != 200:
                    bad += 1
                    mine_kinds[f"HTTP {status}"] += 1
            except (OSError, http.client.HTTPException, DroppedBeforeAnswer) as exc:
                bad += 1
                cause = exc.__cause__ if isinstance(exc, DroppedBeforeAnswer) else exc
                mine_kinds[
                    type(cause).__name__ + (" on the retry" if isinstance(exc, DroppedBeforeAnswer) else "")
                ] += 1
                conn.close()
                conn = new_connection()
            mine.append(time.perf_counter() - t)
        with lock:
            latencies.extend(mine)
            counts["errors"] += bad
            counts["reconnects"] += reconnects
            kinds.update(mine_kinds)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else 0,
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else 0,
        "errors": counts["errors"],
        "reconnects": counts["reconnects"],
        "error_kinds": dict(kinds),
    }


def workers_rss_mb(server: subprocess.Popen) -> dict[int, float]:
    """Resident memory of each of gunicorn's workers (children of the master), MB by pid."""
    out = {}
    for child in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split():
        try:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[int(child)] = int(line.split()[1]) / 1024
        except FileNotFoundError:  # exited meanwhile
            pass
    return out


def export_under_load(server: subprocess.Popen, cookie: dict[str, str], path: str, headers: dict[str, str]) -> dict:
    """A whole export (`path`) streamed while the dashboard is loaded; the workers' memory sampled meanwhile.

    Growth is per worker: each one's peak over its own idle baseline, summed. A worker started meanwhile (one
    recycled after WEB_MAX_REQUESTS) is a new process, not growth; it is counted in "workers_started". The baseline
    is taken after a few seconds of dashboard load, so a worker recycled during the earlier runs has warmed up (a
    fresh worker grows by tens of MB over its first requests, whatever they are)."""
    drive("/", cookie, 3, CLIENTS)
    base = workers_rss_mb(server)
    peak = dict(base)
    started_pids: set[int] = set()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid, mb in workers_rss_mb(server).items():
                if pid in base:
                    peak[pid] = max(peak[pid], mb)
                else:
                    started_pids.add(pid)
            time.sleep(0.2)

    load_result: dict = {}

    def load() -> None:
        load_result.update(drive("/", cookie, 15, max(1, CLIENTS // 2)))

    sampler = threading.Thread(target=sample)
    loader = threading.Thread(target=load)
    sampler.start()
    loader.start()
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    size = rows = 0
    while chunk := response.read(1 << 16):
        size += len(chunk)
        rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    loader.join()
    done.set()
    sampler.join()
    return {
        "status": response.status,
        "rows": rows - 1,
        "mb": size / 1e6,
        "seconds": seconds,
        "workers_rss_base_mb": sum(base.values()),
        "workers_rss_growth_mb": sum(peak[pid] - base[pid] for pid in base),
        "workers_rss_growth_each_mb": sorted((round(peak[pid] - base[pid], 1) for pid in base), reverse=True),
        "workers_started": len(started_pids),
        "path": path,
        "dashboard_during": load_result,
    }


def main() -> None:
    print(f"bench_load: {ROWS:,} customers, gunicorn {WORKERS} workers, {CLIENTS} clients, {SECONDS:.0f}s per endpoint")
    session_key, token, campaign = prepare()
    cookie = {"Cookie": f"sessionid={session_key}"}
    api = {"Authorization": f"Token {token}"}
    server = start_server()
    result: dict = {"rows": ROWS, "workers": int(WORKERS), "clients": CLIENTS, "load_average": os.getloadavg()[0]}
    result["cache"] = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL") or "default"
    try:
        for name, path, headers in (
            ("dashboard", "/", cookie),
            ("segments API", "/api/segments/", api),
            ("customer list", "/customers/", cookie),
        ):
            drive(path, headers, 2, 2)  # warm-up
            r = drive(path, headers, SECONDS, CLIENTS)
            result[name.replace(" ", "_")] = {k: v if isinstance(v, dict) else round(v, 1) for k, v in r.items()}
            print(
                f"  {name:14s} {r['rps']:7.1f} req/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
                f"errors {r['errors']} of {r['requests']} {r['error_kinds'] or ''} (reconnects {r['reconnects']})"
            )
        if EXPORT == "audience":
            e = export_under_load(server, cookie, f"/api/campaigns/{campaign}/audience/?format=csv", api)
        else:
            e = export_under_load(server, cookie, "/customers/export.csv", cookie)
        d = e["dashboard_during"]
        figures = {k: v for k, v in e.items() if k not in ("dashboard_during", "path", "workers_rss_growth_each_mb")}
        result["export"] = {"path": e["path"], **{k: round(v, 1) for k, v in figures.items()}}
        result["export"]["workers_rss_growth_each_mb"] = e["workers_rss_growth_each_mb"]
        result["export"]["dashboard_during"] = {k: v if isinstance(v, dict) else round(v, 1) for k, v in d.items()}
        print(
            f"  export        {e['path']}\n                {e['rows']:,} rows ({e['mb']:.0f} MB) "
            f"in {e['seconds']:.1f}s, status {e['status']}; "
            f"workers' memory {e['workers_rss_base_mb']:.0f} MB + {e['workers_rss_growth_mb']:.1f} MB "
            f"(each {e['workers_rss_growth_each_mb']}; {e['workers_started']} workers started meanwhile); "
            f"dashboard meanwhile {d.get('rps', 0):.1f} req/s p99 {d.get('p99_ms', 0):.0f} ms "
            f"errors {d.get('errors')} {d.get('error_kinds') or ''} (reconnects {d.get('reconnects')})"
        )
    finally:
        server.terminate()
        server.wait(timeout=60)
    print("BENCH_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
