"""Reads of segmentations and runs: a run, its status and evidence, the dashboard, the history.

`SegmentRun.evidence` is `segmentation.ml.types.Evidence.as_dict()`: one shape, written by the run service.
A succeeded run with `attempts` > 1 was restarted after its worker was lost (see the run service).

Segment.profile: {feature: {"mean", "median", "min", "max", "z"}}; Segment.centroid: {feature: value},
both in real units (the engine's SegmentProfile.stats and .centroid).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import django_filters
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet

from core.exceptions import ConfigError
from customers.models import Customer
from customers.selectors.versions import customers_write_version
from segmentation.ml.charts.base import feature_name
from segmentation.ml.fields import NUMERIC_FEATURES
from segmentation.ml.types import Evidence
from segmentation.models import Membership, RunStatus, Segment, Segmentation, SegmentRun


def segmentation_by_name(*, name: str) -> Segmentation:
    segmentation = Segmentation.objects.filter(name=name).first()
    if segmentation is None:
        names = list(Segmentation.objects.values_list("name", flat=True))
        raise ConfigError(f"segmentation: no segmentation named {name!r}; existing are {', '.join(names) or 'none'}")
    return segmentation


def run_get(*, run_id: int) -> SegmentRun | None:
    return SegmentRun.objects.select_related("segmentation", "requested_by").filter(pk=run_id).first()


def run_status(*, run: SegmentRun) -> dict[str, Any]:
    """The small polling payload of a run."""
    return {
        "id": run.pk,
        "status": run.status,
        "stage": run.stage,
        "progress": run.progress,
        "error": run.error,
        "chosen_k": run.chosen_k,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def run_evidence(*, run: SegmentRun) -> dict[str, Any]:
    """The run's evidence (the one stored shape, `segmentation.ml.types.Evidence`) for the run page."""
    ev = Evidence.from_dict(run.evidence or {})
    return {
        "per_k": [asdict(e) for e in ev.per_k],
        "preferred": ev.preferred,
        "knee": ev.knee,
        "disagreement": ev.disagreement,
        "structure": ev.structure,
    }


def run_features(*, run: SegmentRun, segments: list[Segment] | None = None) -> list[str]:
    """The features the run clustered on (its frozen params, else its centroids' keys)."""
    feats = (run.params or {}).get("features")
    if feats:
        return [str(f) for f in feats]
    segs = segments if segments is not None else list(run.segments.all()[:1])
    return list((segs[0].centroid or {}).keys()) if segs else []


def run_units(*, run: SegmentRun) -> dict[str, str]:
    """The run's own unit per feature (frozen in `params["units"]`); pages fall back to the canonical units."""
    return {str(f): str(u) for f, u in ((run.params or {}).get("units") or {}).items() if u is not None}


def run_feature_choices(*, run: SegmentRun, segments: list[Segment] | None = None) -> list[str]:
    """Features a user may put on a scatter plot's axes: the run's own features first, then the canonical
    numbers its members have (one EXISTS query each: a Wholesale run offers no Age axis)."""
    out = run_features(run=run, segments=segments)
    for f in NUMERIC_FEATURES:
        if f not in out and Membership.objects.filter(run=run, **{f"customer__{f}__isnull": False}).exists():
            out.append(f)
    return out


def run_axes_defaults(*, features: list[str], choices: list[str]) -> dict[str, str]:
    """Default axes of the 2D and 3D maps: the run's own features (numbers before gender), then other choices."""
    own = [f for f in features if f != "gender"] + [f for f in features if f == "gender"]
    order = own + [f for f in choices if f not in own] or ["annual_income"]
    pick = [order[i % len(order)] for i in range(3)]
    return {"x": pick[0], "y": pick[1], "x3": pick[0], "y3": pick[1], "z3": pick[2]}


@dataclass(frozen=True)
class RunCoverage:
    """Who is in a run: its members now, the customers outside it (with the fit's reasons) and newcomers."""

    customers: int  # customers in the database now
    members: int  # members of the run now (fitted, plus new customers assigned since)
    outside: int  # customers - members
    reasons: list[tuple[str, int]]  # why customers were left out when the run was fitted, largest first
    arrived: int  # customers created after the run finished

    @property
    def complete(self) -> bool:
        return self.outside == 0 and self.arrived == 0


def run_coverage(*, run: SegmentRun, segments: list[Segment] | None = None) -> RunCoverage:
    """How many customers are in `run`, not in it (and why, from `SegmentRun.excluded`) and arrived since it."""
    segs = segments if segments is not None else list(run.segments.all())
    members = sum(s.size for s in segs)
    customers, arrived = _customer_counts(run=run)
    reasons = [(_reason_words(str(r)), int(n)) for r, n in (run.excluded or {}).items() if n]
    reasons.sort(key=lambda rn: -rn[1])
    return RunCoverage(
        customers=customers,
        members=members,
        outside=max(customers - members, 0),
        reasons=reasons,
        arrived=arrived,
    )


COVERAGE_CACHE_SECONDS = 3600


def _customer_counts(*, run: SegmentRun) -> tuple[int, int]:
    """Customers in the table and those created after `run` finished, both exact.

    An exact count of the whole table scans it (tens of milliseconds at 1M customers, on every dashboard and run
    page). On PostgreSQL both counts are kept in the cache until the customers change (`customers_write_version`,
    a millisecond to read): counted once per change of the table, so a page shows the counts of the table as
    its statistics last saw it (other sessions' writes reach them within about a second of their commit).
    """
    version = customers_write_version()
    key = None
    if version is not None:
        parts = (version, run.pk, run.finished_at, connection.settings_dict.get("NAME"))
        key = "segmentation:run-coverage:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
        hit = cache.get(key)
        if hit is not None:
            return hit
    customers = Customer.objects.count()
    arrived = Customer.objects.filter(created_at__gt=run.finished_at).count() if run.finished_at else 0
    if key is not None:
        cache.set(key, (customers, arrived), COVERAGE_CACHE_SECONDS)
    return customers, arrived


def _reason_words(reason: str) -> str:
    """'missing annual_income' -> 'missing Annual income'; counted reasons are already words."""
    head, _, feature = reason.partition(" ")
    if head == "missing" and feature and " " not in feature:
        return f"missing {feature_name(feature)}"
    return reason


def run_summary(*, run: SegmentRun) -> dict[str, Any]:
    """A run with its evidence and segments, as the `segment --json` command prints it."""
    segments = [
        {
            "id": s.pk,
            "label": s.label,
            "name": s.name,
            "size": s.size,
            "share": s.share,
            "centroid": s.centroid,
            "flags": s.flags,
            "strategy": s.strategy,
        }
        for s in run.segments.order_by("label")
    ]
    evidence = run_evidence(run=run)
    return {
        "run": run.pk,
        "segmentation": run.segmentation.name,
        "status": run.status,
        "k": run.chosen_k,
        "reason": run.error if run.status != "succeeded" else run.k_reason,
        "error": run.error,
        "rows_used": run.rows_used,
        "rows_dropped": run.rows_dropped,
        "params": run.params,
        "evidence": evidence["per_k"],
        "preferred": evidence["preferred"],
        "disagreement": evidence["disagreement"],
        "structure": evidence["structure"] or None,
        "quality": run.quality,
        "transforms": run_transforms(run=run),
        "outliers": int((run.model or {}).get("outliers", {}).get("count", 0)),
        "segments": segments,
    }


def run_transforms(*, run: SegmentRun) -> dict[str, dict[str, str]]:
    """Per feature of the run (in its order), its transform before scaling (log1p or none) and why; empty for
    older runs."""
    model = run.model or {}
    chosen = model.get("transforms") or {}
    reasons = model.get("transform_reasons") or {}
    features = [str(f) for f in (run.params or {}).get("features") or [] if f in chosen]
    return {f: {"transform": str(chosen[f]), "reason": str(reasons.get(f, ""))} for f in features}


def run_outliers(*, run: SegmentRun) -> dict[str, Any]:
    """The customers the run set apart as outliers: count, rule, note, the run's features and rows
    [{external_id, values in the features' order, the segment it was placed in after the fit}]."""
    found = dict((run.model or {}).get("outliers") or {})
    rows = found.get("rows") or []
    ids = dict(Customer.objects.filter(pk__in=[r["id"] for r in rows]).values_list("pk", "external_id"))
    placed = dict(
        Membership.objects.filter(run=run, customer_id__in=[r["id"] for r in rows]).values_list(
            "customer_id", "segment__name"
        )
    )
    features = [str(f) for f in (run.params or {}).get("features") or []]
    return {
        "count": int(found.get("count", 0)),
        "rule": str(found.get("rule", "")),
        "note": str(found.get("note", "")),
        "features": features,
        "rows": [
            {
                "external_id": ids.get(r["id"], str(r["id"])),
                "values": [r["values"].get(f) for f in features],
                "pairs": [(f, r["values"].get(f)) for f in features],
                "segment": placed.get(r["id"], ""),
            }
            for r in rows
        ],
    }


def memberships_export_rows(*, run: SegmentRun) -> Iterator[tuple[str, int, str, float]]:
    """(external_id, segment_label, segment_name, distance) of every membership of `run`, streamed."""
    return (
        Membership.objects.filter(run=run)
        .order_by("customer__external_id")
        .values_list("customer__external_id", "segment__label", "segment__name", "distance")
        .iterator(chunk_size=10_000)
    )


def run_wait(
    *, run_id: int, timeout: float, poll: float = 0.5, on_tick: Callable[[SegmentRun], None] | None = None
) -> SegmentRun:
    """Poll the run row until it is finished or `timeout` seconds passed; returns the last state."""
    deadline = time.monotonic() + timeout
    while True:
        run = SegmentRun.objects.get(pk=run_id)
        if on_tick is not None:
            on_tick(run)
        if run.is_finished or time.monotonic() >= deadline:
            return run
        time.sleep(poll)


@dataclass
class DashboardEntry:
    segmentation: Segmentation
    active: SegmentRun | None
    segments: list[Segment] = field(default_factory=list)
    in_progress: SegmentRun | None = None
    failed: SegmentRun | None = None  # the latest run, when it failed after the active one
    customers: int | None = None  # members of the active run
    coverage: RunCoverage | None = None


def dashboard_entries() -> list[DashboardEntry]:
    """Every segmentation with its active run and segments, any run in progress, and a failure to warn about."""
    entries = []
    for seg in Segmentation.objects.select_related("active_run", "active_run__requested_by").order_by("name"):
        active = seg.active_run
        latest = seg.runs.select_related("requested_by").order_by("-queued_at", "-id").first()
        in_progress = (
            seg.runs.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).order_by("-queued_at", "-id").first()
        )
        failed = latest if latest is not None and latest.status == RunStatus.FAILED else None
        segments = list(active.segments.order_by("label")) if active else []
        customers = sum(s.size for s in segments)
        coverage = run_coverage(run=active, segments=segments) if active else None
        entries.append(
            DashboardEntry(
                segmentation=seg,
                active=active,
                segments=segments,
                in_progress=in_progress,
                failed=failed,
                customers=customers,
                coverage=coverage,
            )
        )
    return entries


def segmentation_runs(*, segmentation: Segmentation) -> QuerySet[SegmentRun]:
    return segmentation.runs.select_related("requested_by").order_by("-queued_at", "-id")


def recent_runs(*, limit: int = 50) -> QuerySet[SegmentRun]:
    return SegmentRun.objects.select_related("segmentation").filter(status=RunStatus.SUCCEEDED)[:limit]


class RunFilter(django_filters.FilterSet):
    """The run list's filters: by segmentation and by status."""

    segmentation = django_filters.ModelChoiceFilter(
        queryset=Segmentation.objects.order_by("name"), empty_label="All segmentations", label="Segmentation"
    )
    status = django_filters.ChoiceFilter(choices=RunStatus.choices, empty_label="All statuses", label="Status")

    class Meta:
        model = SegmentRun
        fields = ["segmentation", "status"]


def run_list(*, filters: Mapping[str, Any] | None = None) -> RunFilter:
    """Every run of every segmentation, newest first, filtered by `filters` (query parameters); the FilterSet's
    `.qs` is the runs, its `.form` the filter form (with the errors of a bad value)."""
    qs = SegmentRun.objects.select_related("segmentation", "requested_by").order_by("-queued_at", "-id")
    return RunFilter(filters or None, queryset=qs)
