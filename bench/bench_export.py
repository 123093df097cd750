"""Benchmark: streaming a campaign's CSV audience through the API against PostgreSQL's COPY.

Run:  DATABASE_URL=postgres://user@host:port/db BENCH_ROWS=1000000 python bench/bench_export.py
The database must already be migrated. In the same run the script

* sets up (not timed) BENCH_ROWS customers and their memberships in a run of 5 segments with
  COPY, one Marketer with an API token, and a scheduled campaign on all 5 segments;
* baseline: `COPY (SELECT <the audience's columns>) TO STDOUT WITH CSV HEADER`, the same rows and
  columns joined in PostgreSQL, read to the end by a client;
* api: `GET /api/campaigns/<id>/audience/?format=csv` with `Authorization: Token ...` through
  Django's test Client (the whole view, permission, throttle and audit path), consuming
  `streaming_content` to the end;

each measurement in its own process (BENCH_REPEAT times, best kept), so the web process's memory
is its own: resident memory after Django start-up (before), the highest resident memory sampled
while streaming, and the process peak (ru_maxrss) after. Goals: api within 3x of COPY; memory flat
(peak minus before well under the size of the CSV). The bench data are deleted at the end.
The last line is `BENCH_RESULT {json}`.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "0")

PREFIX = "bx"
SEGMENTATION = "bench-export"
USERNAME = "bench-export-marketer"
GOAL_RATIO = 3.0


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _django():
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench_export needs PostgreSQL: set DATABASE_URL=postgres://...")
    return connection


def cleanup() -> None:
    from django.db import connection

    from campaigns.models import Campaign
    from segmentation.models import Segmentation

    seg = Segmentation.objects.filter(name=SEGMENTATION).first()
    if seg is not None:
        Campaign.objects.filter(pinned_run__segmentation=seg).delete()
        Campaign.objects.filter(segments__run__segmentation=seg).delete()
        Segmentation.objects.filter(pk=seg.pk).update(active_run=None)
        with connection.cursor() as cur:
            cur.execute(
                "DELETE FROM segmentation_membership WHERE run_id IN "
                "(SELECT id FROM segmentation_segmentrun WHERE segmentation_id = %s)",
                [seg.pk],
            )
        seg.runs.all().delete()
        seg.delete()
    with connection.cursor() as cur:
        cur.execute(
            "DELETE FROM customers_customer WHERE external_id LIKE %s OR external_id LIKE %s",
            [f"{PREFIX}%", f"={PREFIX}%"],
        )
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username=USERNAME).delete()


def setup(rows: int) -> dict:
    """COPY customers and memberships in; returns the campaign id and the token (not timed)."""
    import io

    import numpy as np
    import pandas as pd

    connection = _django()
    if os.environ.get("BENCH_REUSE") == "1":  # developer shortcut: keep the data of a previous BENCH_KEEP=1 run
        from campaigns.models import Campaign

        campaign = Campaign.objects.filter(name="Bench: everyone", pinned_run__segmentation__name=SEGMENTATION).first()
        if campaign is not None and campaign.pinned_run.memberships.count() == rows:
            from rest_framework.authtoken.models import Token

            return {"campaign": campaign.pk, "token": Token.objects.get(user__username=USERNAME).key, "rows": rows}
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from campaigns import services
    from core.roles import MARKETER
    from segmentation.models import Segment, Segmentation, SegmentRun

    cleanup()
    rng = np.random.default_rng(11)
    raw = connection.connection  # psycopg 3
    chunk = 200_000
    with raw.cursor() as cur:
        with cur.copy(
            "COPY customers_customer (external_id, gender, age, annual_income, spending_score, "
            "attributes, created_at, updated_at)"
            " FROM STDIN WITH (FORMAT csv)"
        ) as copy:
            for start in range(0, rows, chunk):
                n = min(chunk, rows - start)
                ids = np.arange(start + 1, start + n + 1)
                ext = np.char.add(PREFIX, np.char.zfill(ids.astype(str), 8))
                ext = np.where(ids % 1000 == 0, np.char.add("=", ext), ext)  # formula-like ids, neutralised on export
                frame = pd.DataFrame(
                    {
                        "external_id": ext,
                        "gender": rng.choice(np.array(["female", "male"]), n),
                        "age": rng.integers(18, 71, n),
                        "annual_income": rng.integers(15, 138, n).astype(float),
                        "spending_score": rng.integers(1, 101, n).astype(float),
                        "attributes": "{}",
                        "created_at": "2026-01-01 00:00:00+00",
                        "updated_at": "2026-01-01 00:00:00+00",
                    }
                )
                buf = io.StringIO()
                frame.to_csv(buf, header=False, index=False)
                copy.write(buf.getvalue())
    raw.commit() if not connection.get_autocommit() else None

    segmentation = Segmentation.objects.create(name=SEGMENTATION, version=1)
    run = SegmentRun.objects.create(segmentation=segmentation, version=1, status="succeeded", chosen_k=5)
    names = ["Average income · Average spending", "High income · High spending", "High income · Low spending",
             "Low income · High spending", "Low income · Low spending"]  # fmt: skip
    segments = [
        Segment.objects.create(
            run=run,
            label=i,
            name=name,
            size=0,
            share=0.2,
            centroid={},
            profile={},
            flags=[],
            strategy=f"Strategy {i}: personal offers, early access and a loyalty programme tier for this group.",
            lineage=f"bench-{i}",
        )  # fmt: skip
        for i, name in enumerate(names)
    ]
    seg_ids = np.array([s.pk for s in segments])
    with raw.cursor() as cur:
        cur.execute(
            "SELECT id FROM customers_customer WHERE external_id LIKE %s OR external_id LIKE %s ORDER BY id",
            [f"{PREFIX}%", f"={PREFIX}%"],
        )
        customer_ids = np.array([r[0] for r in cur.fetchall()], dtype=np.int64)
        labels = rng.integers(0, 5, len(customer_ids))
        with cur.copy(
            "COPY segmentation_membership (run_id, customer_id, segment_id, distance, fitted) FROM "
            "STDIN WITH (FORMAT csv)"
        ) as copy:
            for start in range(0, len(customer_ids), chunk):
                part = slice(start, start + chunk)
                frame = pd.DataFrame(
                    {
                        "run_id": run.pk,
                        "customer_id": customer_ids[part],
                        "segment_id": seg_ids[labels[part]],
                        "distance": rng.random(len(customer_ids[part])).round(4),
                        "fitted": "t",
                    }
                )
                buf = io.StringIO()
                frame.to_csv(buf, header=False, index=False)
                copy.write(buf.getvalue())
    for i, s in enumerate(segments):
        Segment.objects.filter(pk=s.pk).update(size=int((labels == i).sum()))
    segmentation.active_run = run
    segmentation.save()
    with connection.cursor() as cur:
        cur.execute("ANALYZE customers_customer")
        cur.execute("ANALYZE segmentation_membership")

    user = get_user_model().objects.create_user(username=USERNAME, password=None)
    user.groups.add(Group.objects.get(name=MARKETER))
    token = Token.objects.create(user=user)
    campaign = services.campaign_create(actor=user, name="Bench: everyone", segments=segments)
    services.campaign_schedule(actor=user, campaign=campaign)
    return {"campaign": campaign.pk, "token": token.key, "rows": len(customer_ids)}


def measure_copy(campaign_id: int) -> dict:
    """COPY of the same SELECT (columns and joins of the audience) to STDOUT, read to the end."""
    connection = _django()
    from django.db.models import F, TextField, Value
    from django.db.models.functions import Coalesce, NullIf

    from campaigns.models import Campaign
    from campaigns.selectors import campaign_audience

    campaign = Campaign.objects.get(pk=campaign_id)
    qs = campaign_audience(campaign=campaign).values_list(
        "customer__external_id", "segment__label", "segment__name", "run_id", "customer__gender", "customer__age",
        "customer__annual_income", "customer__spending_score",
    ).annotate(
        strategy=Coalesce(
            NullIf(Value(campaign.strategy), Value("")), F("segment__strategy"), output_field=TextField()
        ),
        campaign_id=Value(campaign.pk),
    )  # fmt: skip
    sql, params = qs.query.get_compiler(connection=connection).as_sql()
    before = rss_mb()
    started = time.perf_counter()
    size = lines = 0
    connection.ensure_connection()
    with connection.connection.cursor() as cur:
        with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)", params) as copy:
            for block in copy:
                size += len(block)
                lines += bytes(block).count(b"\n")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "bytes": size, "rows": lines - 1, "rss_before_mb": before, "peak_rss_mb": peak_rss_mb()}


def measure_api(campaign_id: int, token: str) -> dict:
    """The API's streamed CSV through the full Django stack, consumed to the end."""
    _django()
    from django.test import Client
    from django.urls import reverse

    client = Client()
    # warm up: URL resolving, DRF settings, the permission check (not timed)
    client.get(reverse("campaign-detail", args=[campaign_id]), HTTP_AUTHORIZATION=f"Token {token}")
    before = rss_mb()
    sampled = before
    started = time.perf_counter()
    response = client.get(
        reverse("campaign-audience", args=[campaign_id]) + "?format=csv", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    size = lines = blocks = 0
    first_byte = None
    neutralised = 0
    for block in response.streaming_content:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(block)
        lines += block.count(b"\n")
        neutralised += block.count(b"\n'=")
        blocks += 1
        if blocks % 50 == 0:
            sampled = max(sampled, rss_mb())
    response.close()
    seconds = time.perf_counter() - started
    sampled = max(sampled, rss_mb())
    return {
        "seconds": seconds,
        "first_byte_seconds": first_byte,
        "bytes": size,
        "rows": lines - 1,
        "neutralised_ids": neutralised,
        "rss_before_mb": before,
        "rss_max_sampled_mb": sampled,
        "peak_rss_mb": peak_rss_mb(),
    }


def _child(phase: str, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, phase, *args], cwd=ROOT, capture_output=True, text=True, env=os.environ.copy()
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"phase {phase} failed (exit {proc.returncode})")
    line = next(ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("PHASE "))
    return json.loads(line.removeprefix("PHASE "))


def main() -> None:
    rows = int(os.environ.get("BENCH_ROWS", "1000000"))
    repeat = int(os.environ.get("BENCH_REPEAT", "2"))
    print(f"bench_export: {rows:,} customers, 5 segments, a campaign on all of them; {repeat} repetition(s)")
    t0 = time.perf_counter()
    info = _child("setup", str(rows))
    print(f"setup (COPY, not timed): {info['rows']:,} memberships in {time.perf_counter() - t0:.1f} s")
    try:
        copies, apis = [], []
        for i in range(repeat):
            copies.append(_child("copy", str(info["campaign"])))
            apis.append(_child("api", str(info["campaign"]), info["token"]))
            print(f"  round {i + 1}: COPY {copies[-1]['seconds']:.2f} s, API {apis[-1]['seconds']:.2f} s")
    finally:
        if os.environ.get("BENCH_KEEP") != "1":
            _child("cleanup")
    copy = min(copies, key=lambda r: r["seconds"])
    api = min(apis, key=lambda r: r["seconds"])
    ratio = api["seconds"] / copy["seconds"]
    growth = api["rss_max_sampled_mb"] - api["rss_before_mb"]
    mb = api["bytes"] / 1024 / 1024
    print(
        f"baseline COPY TO STDOUT: {copy['seconds']:.2f} s for {copy['rows']:,} rows ({copy['bytes'] / 1048576:.0f} MB)"
    )
    print(
        f"API CSV stream:          {api['seconds']:.2f} s for {api['rows']:,} rows ({mb:.0f} MB), "
        f"first byte after {api['first_byte_seconds']:.2f} s"
    )
    print(f"ratio API / COPY:        {ratio:.2f}x (goal <= {GOAL_RATIO}x) {'OK' if ratio <= GOAL_RATIO else 'MISSED'}")
    print(
        f"web process memory:      {api['rss_before_mb']:.0f} MB before, "
        f"{api['rss_max_sampled_mb']:.0f} MB max while streaming"
        f" (+{growth:.0f} MB for a {mb:.0f} MB CSV), ru_maxrss {api['peak_rss_mb']:.0f} MB"
    )
    print(f"formula-like ids neutralised: {api['neutralised_ids']:,}")
    result = {
        "rows": rows,
        "exported_rows": api["rows"],
        "copy_seconds": round(copy["seconds"], 3),
        "api_seconds": round(api["seconds"], 3),
        "api_first_byte_seconds": round(api["first_byte_seconds"], 3),
        "ratio_api_vs_copy": round(ratio, 2),
        "goal_ratio": GOAL_RATIO,
        "goal_met": ratio <= GOAL_RATIO,
        "csv_mb": round(mb, 1),
        "web_rss_before_mb": round(api["rss_before_mb"], 1),
        "web_rss_max_streaming_mb": round(api["rss_max_sampled_mb"], 1),
        "web_rss_growth_mb": round(growth, 1),
        "web_peak_rss_mb": round(api["peak_rss_mb"], 1),
        "copy_client_peak_rss_mb": round(copy["peak_rss_mb"], 1),
        "neutralised_ids": api["neutralised_ids"],
        "copies_seconds": [round(r["seconds"], 3) for r in copies],
        "api_runs_seconds": [round(r["seconds"], 3) for r in apis],
    }
    print("BENCH_RESULT " + json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        phase = sys.argv[1]
        if phase == "setup":
            out = setup(int(sys.argv[2]))
        elif phase == "copy":
            out = measure_copy(int(sys.argv[2]))
        elif phase == "api":
            out = measure_api(int(sys.argv[2]), sys.argv[3])
        elif phase == "cleanup":
            _django()
            cleanup()
            out = {}
        else:
            raise SystemExit(f"unknown phase {phase!r}")
        print("PHASE " + json.dumps(out))
    else:
        main()
