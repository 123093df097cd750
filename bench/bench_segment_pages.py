"""Segment insight pages at scale: dashboard, run page and segment page over BENCH_ROWS customers.

Run: DATABASE_URL=postgres://... BENCH_ROWS=1000000 python bench/bench_segment_pages.py (an already-migrated
PostgreSQL database). Set-up, not timed: BENCH_ROWS synthetic customers in five planted groups (external ids
BSP-...) loaded with COPY, one succeeded and active run with five segments (profiles computed in memory) and
one membership per customer, also loaded with COPY, then ANALYZE. Timed through the whole Django stack (test
Client, a Viewer logged in), median of BENCH_REPEAT requests after a warm-up:

* baseline: `/healthz`, a trivial page, in the same run;
* pages ending in `_cold` empty the cache before every request (the first visit after a run finished);
  the others are repeat visits (a finished run's charts and rules are cached per axes choice);
* dashboard `/`: the active run's segment cards (stored profiles only);
* run page `/runs/<id>/`: evidence charts, stratified sample of 20,000 memberships for the 2D/3D scatter, box
  and silhouette plots, heatmap and radar from stored profiles;
* segment page `/segments/<id>/`: profile, decision-tree rules on the sample, first page of members.

The last line is `BENCH_RESULT {json}` with milliseconds, ratios to /healthz and peak memory (ru_maxrss).
The bench's own rows are removed at the start and at the end.
"""

from __future__ import annotations

import io
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from customers.models import Customer  # noqa: E402
from segmentation.models import Membership, RunStatus, Segment, Segmentation, SegmentRun  # noqa: E402
from segmentation.services.lineage import segments_inherit  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
PREFIX = "BSP-"
SEGMENTATION = "bench-segment-pages"
FEATURES = ["age", "annual_income", "spending_score"]
GROUPS = [  # share, age, income, spending, name
    (0.40, 43, 55, 50, "Average income · Average spending"),
    (0.20, 33, 87, 82, "High income · High spending"),
    (0.18, 41, 88, 17, "High income · Low spending"),
    (0.11, 25, 26, 79, "Low income · High spending"),
    (0.11, 45, 26, 21, "Low income · Low spending"),
]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cleanup() -> None:
    seg = Segmentation.objects.filter(name=SEGMENTATION).first()
    with connection.cursor() as cur:
        if seg is not None:
            Segmentation.objects.filter(pk=seg.pk).update(active_run=None)
            cur.execute(
                f"DELETE FROM {Membership._meta.db_table} WHERE run_id IN "
                f"(SELECT id FROM {SegmentRun._meta.db_table} WHERE segmentation_id = %s)",
                [seg.pk],
            )
            seg.runs.all().delete()
            seg.delete()
        cur.execute(f"DELETE FROM {Customer._meta.db_table} WHERE external_id LIKE %s", [PREFIX + "%"])


def synthetic(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    sizes = [int(n * g[0]) for g in GROUPS]
    sizes[0] += n - sum(sizes)
    parts = []
    for label, ((_share, age, inc, sp, _name), size) in enumerate(zip(GROUPS, sizes, strict=True)):
        parts.append(
            pd.DataFrame(
                {
                    "label": label,
                    "age": np.clip(rng.normal(age, 6, size), 18, 90).round().astype(int),
                    "annual_income": np.clip(rng.normal(inc, 7, size), 1, 200).round(1),
                    "spending_score": np.clip(rng.normal(sp, 7, size), 1, 100).round(),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=3).reset_index(drop=True)
    frame["external_id"] = [f"{PREFIX}{i:07d}" for i in range(len(frame))]
    frame["gender"] = np.where(rng.random(len(frame)) < 0.55, "female", "male")
    return frame


def load(frame: pd.DataFrame) -> tuple[SegmentRun, float]:
    """COPY customers, create the run and segments, COPY memberships; returns the run and seconds taken."""
    started = time.perf_counter()
    ctable, mtable = Customer._meta.db_table, Membership._meta.db_table
    buf = io.StringIO()
    frame[["external_id", "gender", "age", "annual_income", "spending_score"]].to_csv(buf, index=False, header=False)
    # created_at / updated_at / attributes have no database default: give them one for the COPY.
    with connection.cursor() as cur:
        cur.execute(
            f"ALTER TABLE {ctable} ALTER COLUMN created_at SET DEFAULT now(), "
            "ALTER COLUMN updated_at SET DEFAULT now(), ALTER COLUMN attributes SET DEFAULT '{}'::jsonb"
        )
        try:
            with cur.cursor.copy(
                f"COPY {ctable} (external_id, gender, age, annual_income, spending_score) FROM STDIN WITH (FORMAT csv)"
            ) as copy:
                copy.write(buf.getvalue())
        finally:
            cur.execute(
                f"ALTER TABLE {ctable} ALTER COLUMN created_at DROP DEFAULT, "
                "ALTER COLUMN updated_at DROP DEFAULT, ALTER COLUMN attributes DROP DEFAULT"
            )

    seg = Segmentation.objects.create(name=SEGMENTATION, features=FEATURES)
    now = timezone.now()
    per_k = [
        {
            "k": k,
            "inertia": 1e6 / k,
            "silhouette": 0.5 - abs(k - 5) * 0.04,
            "calinski_harabasz": 1e5 + k,
            "davies_bouldin": 0.6 + abs(k - 5) * 0.05,
            "stability": 0.95,
        }
        for k in range(2, 11)
    ]
    run = SegmentRun.objects.create(
        segmentation=seg,
        version=1,
        status=RunStatus.SUCCEEDED,
        params={"features": FEATURES},
        evidence={"per_k": per_k, "preferred": {"silhouette": 5, "davies_bouldin": 5}, "knee": 4, "disagreement": True},
        chosen_k=5,
        k_reason="silhouette and Davies–Bouldin agree on k = 5",
        quality={"silhouette": 0.5},
        started_at=now,
        finished_at=now,
        rows_used=len(frame),
        rows_dropped=0,
        stage="done",
        progress=100,
    )
    base_mean = frame[FEATURES].mean()
    base_std = frame[FEATURES].std().replace(0, 1)
    for label, (_share, _a, _i, _s, name) in enumerate(GROUPS):
        part = frame.loc[frame["label"] == label, FEATURES]
        profile = {
            f: {
                "mean": float(part[f].mean()),
                "median": float(part[f].median()),
                "min": float(part[f].min()),
                "max": float(part[f].max()),
                "z": float((part[f].mean() - base_mean[f]) / base_std[f]),
            }
            for f in FEATURES
        }
        Segment.objects.create(
            run=run,
            label=label,
            name=name,
            size=len(part),
            share=len(part) / len(frame),
            centroid={f: profile[f]["mean"] for f in FEATURES},
            profile=profile,
            flags=["high_value"] if label == 1 else [],
            strategy="Playbook strategy",
        )
    segments_inherit(run=run, previous=None)
    seg_ids = dict(run.segments.values_list("label", "id"))
    with connection.cursor() as cur:
        # External ids are zero-padded in frame order, so ordering by them aligns ids with the frame's rows.
        cur.execute(f"SELECT id FROM {ctable} WHERE external_id LIKE %s ORDER BY external_id", [PREFIX + "%"])
        ids = np.fromiter((r[0] for r in cur.fetchall()), dtype=np.int64, count=len(frame))
        buf = io.StringIO()
        pd.DataFrame(
            {
                "run_id": run.pk,
                "customer_id": ids,
                "segment_id": frame["label"].map(seg_ids).to_numpy(),
                "distance": 0.1,
                "fitted": "t",
            }
        ).to_csv(buf, index=False, header=False)
        with cur.cursor.copy(
            f"COPY {mtable} (run_id, customer_id, segment_id, distance, fitted) FROM STDIN WITH (FORMAT csv)"
        ) as copy:
            copy.write(buf.getvalue())
        cur.execute(f"ANALYZE {ctable}")
        cur.execute(f"ANALYZE {mtable}")
    Segmentation.objects.filter(pk=seg.pk).update(active_run=run)
    return run, time.perf_counter() - started


def timed(client: Client, url: str, *, cold: bool) -> tuple[float, int]:
    """Median seconds of REPEAT requests after a warm-up; `cold` empties the cache before each request."""
    response = client.get(url)  # warm-up
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(REPEAT):
        if cold:
            cache.clear()
        t = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), len(response.content)


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench_segment_pages: DATABASE_URL must point at PostgreSQL")
    print(f"bench_segment_pages: {ROWS:,} customers, median of {REPEAT} requests")
    cleanup()
    try:
        frame = synthetic(ROWS)
        run, load_s = load(frame)
        del frame
        print(f"  set-up (COPY customers + memberships, not timed) {load_s:.1f} s")
        user, _ = get_user_model().objects.get_or_create(username="bench-segment-pages-viewer")
        user.groups.add(Group.objects.get(name="Viewer"))
        client = Client()
        client.force_login(user)
        biggest = run.segments.order_by("-size").first()
        run_url = reverse("segmentation:run-detail", args=[run.pk])
        segment_url = reverse("segmentation:segment-detail", args=[biggest.pk])
        pages = {  # name -> (url, cache emptied before each request)
            "healthz": (reverse("healthz"), False),
            "dashboard": (reverse("segmentation:dashboard"), False),
            "run_page_cold": (run_url, True),
            "run_page": (run_url, False),
            "run_page_axes_cold": (f"{run_url}?x=age&y=spending_score", True),
            "segment_page_cold": (segment_url, True),
            "segment_page": (segment_url, False),
        }
        ms: dict[str, float] = {}
        sizes: dict[str, int] = {}
        for name, (url, cold) in pages.items():
            seconds, size = timed(client, url, cold=cold)
            ms[name], sizes[name] = seconds * 1000, size
        base = ms["healthz"]
        for name, (url, _cold) in pages.items():
            print(
                f"  {name:<19} {ms[name]:9.1f} ms  {ms[name] / base:9.1f}× /healthz  "
                f"{sizes[name] / 1024:8.0f} KiB  {url}"
            )
        print(f"  peak memory {peak_mb():.0f} MB")
        out = {
            "rows": ROWS,
            "repeat": REPEAT,
            "setup_s": round(load_s, 1),
            **{f"{k}_ms": round(v, 1) for k, v in ms.items()},
            **{f"{k}_vs_healthz": round(v / base, 1) for k, v in ms.items() if k != "healthz"},
            **{f"{k}_kib": round(v / 1024) for k, v in sizes.items()},
            "peak_rss_mb": round(peak_mb(), 1),
        }
    finally:
        cleanup()
    print("BENCH_RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
