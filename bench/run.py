"""`make bench`: every benchmark in bench/, each against a fresh PostgreSQL database.

Each bench_*.py is a standalone script that prints a report and, as its last line,
`BENCH_RESULT {json}` with its measurements and ratios against a baseline measured in
the same run. This runner makes a fresh database per script (migrated), runs the
scripts one after another and prints a summary; results go to var/bench-results.json.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/segmenta_bench),
BENCH_ROWS (default 1000000). Arguments: names of benchmarks to run (default: all).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"


def _admin_sql(url: str, sql: str) -> None:
    import psycopg

    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


def fresh_database(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    _admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin_sql(url, f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)


def main(argv: list[str]) -> int:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/segmenta_bench")
    rows = os.environ.get("BENCH_ROWS", "1000000")
    wanted = set(argv)
    scripts = sorted(p for p in BENCH_DIR.glob("bench_*.py") if not wanted or p.stem.removeprefix("bench_") in wanted)
    results: dict[str, dict] = {}
    for script in scripts:
        name = script.stem.removeprefix("bench_")
        print(f"\n=== {name} (BENCH_ROWS={rows}) ===", flush=True)
        fresh_database(url)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "BENCH_ROWS": rows,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "0",
        }
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], cwd=REPO, env=env, capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            sys.stdout.write(proc.stderr[-4000:])
            results[name] = {"error": f"exit {proc.returncode}"}
            continue
        line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("BENCH_RESULT ")), None)
        results[name] = json.loads(line.removeprefix("BENCH_RESULT ")) if line else {"error": "no BENCH_RESULT line"}
        results[name]["wall_seconds"] = round(time.perf_counter() - started, 1)
    out = REPO / "var" / "bench-results.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print("\n=== summary ===")
    for name, res in results.items():
        print(f"{name}: {json.dumps(res)}")
    print(f"\nwritten to {out.relative_to(REPO)}")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
