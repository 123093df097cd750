"""A run: its page (evidence and charts), the run history, a re-segmentation request and the status poll."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from core.exceptions import SegmentaError
from segmentation.forms import ChartAxesForm
from segmentation.ml import charts
from segmentation.ml.charts.maps import MAP_POINTS
from segmentation.ml.charts.profiles import RADAR_MIN_FEATURES
from segmentation.models import RunStatus, Segment, Segmentation, SegmentRun
from segmentation.selectors.runs import (
    run_axes_defaults,
    run_coverage,
    run_evidence,
    run_feature_choices,
    run_features,
    run_get,
    run_list,
    run_outliers,
    run_status,
    run_transforms,
    run_units,
    segmentation_runs,
)
from segmentation.selectors.samples import run_sample, sample_silhouette
from segmentation.selectors.segments import segment_dicts, segments_with_values
from segmentation.services import runs as run_services
from segmentation.views import CHART_CACHE_SECONDS, VIEW_PERM

RUN_PERMISSION = "segmentation.run_segmentation"
RUNS_PER_PAGE = 50


@require_GET
@permission_required("segmentation.view_segmentrun", raise_exception=True)
def run_list_view(request: HttpRequest) -> HttpResponse:
    """All runs across segmentations, newest first, paginated, filtered by segmentation and status."""
    found = run_list(filters=request.GET)
    runs = found.qs if not found.is_bound or found.is_valid() else found.queryset.none()
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "segmentation/run_list.html", {"filter": found, "page": page})


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_get(run_id=run_id)
    if run is None:
        raise Http404("No such run")
    segments = list(run.segments.order_by("label"))
    has_values = segments_with_values(segments=segments)  # expected value, churn risk; flags from them
    ctx = {
        "run": run,
        "segments": segments,
        "has_values": has_values,
        "problems": [],
        "evidence": run_evidence(run=run),
        "can_run": request.user.has_perm(RUN_PERMISSION),
        "is_active": run.pk == run.segmentation.active_run_id,
        "coverage": run_coverage(run=run, segments=segments) if run.status == RunStatus.SUCCEEDED else None,
        "transforms": run_transforms(run=run),
        "outliers": run_outliers(run=run),
        "units": run_units(run=run),
    }
    for s in segments:
        s.share_pct = (s.share or 0) * 100
    axes: dict[str, str] = {}
    if segments:
        features = run_features(run=run, segments=segments)
        choices = run_feature_choices(run=run, segments=segments)
        defaults = run_axes_defaults(features=features, choices=choices)
        form = ChartAxesForm(request.GET or None, features=choices, defaults=defaults, units=run_units(run=run))
        axes, ctx["problems"] = form.axes()
        ctx["axes_form"] = form
    # A finished run never changes its evidence or memberships: its charts are cached per axes choice
    # (keyed also by the segments' names and colours, which lineage sets at activation).
    key = None
    if run.is_finished:
        ident = "|".join(f"{s.pk}:{s.name}:{s.color}" for s in segments)
        key = (
            "segmenta:run-charts:"
            + hashlib.sha256(
                f"{run.pk}|{run.finished_at}|{sorted(axes.items())}|{ident}|{ctx['coverage']}".encode()
            ).hexdigest()
        )
        cached = cache.get(key)
        if cached is not None:
            ctx.update(cached)
            return render(request, "segmentation/run_detail.html", ctx)
    built = _run_charts(run=run, segments=segments, evidence=ctx["evidence"], axes=axes)
    if key is not None:
        cache.set(key, built, CHART_CACHE_SECONDS)
    ctx.update(built)
    return render(request, "segmentation/run_detail.html", ctx)


def _run_charts(
    *, run: SegmentRun, segments: list[Segment], evidence: dict[str, Any], axes: dict[str, str]
) -> dict[str, Any]:
    """Every chart of the run page as (title, HTML) pairs, with the sample's size."""
    out: dict[str, Any] = {"charts": [], "sample_size": None, "total": None}
    ev = evidence
    if ev["per_k"]:
        out["charts"].append(
            (
                "Elbow curve",
                charts.render(charts.elbow_figure(ev["per_k"], knee=ev["knee"], chosen_k=run.chosen_k), "elbow"),
            )
        )
        out["charts"].append(
            (
                "Criteria per k",
                charts.render(
                    charts.criteria_figure(ev["per_k"], chosen_k=run.chosen_k, preferred=ev["preferred"]), "criteria"
                ),
            )
        )
    if not segments:
        return out
    features = run_features(run=run, segments=segments)
    units = run_units(run=run)
    wanted = list(dict.fromkeys([*features, *(axes[k] for k in ("x", "y", "x3", "y3", "z3"))]))
    sample, total = run_sample(run=run, features=wanted)
    seg_dicts = segment_dicts(segments=segments)
    out["sample_size"], out["total"] = len(sample), total
    out["map_points"] = min(len(sample), MAP_POINTS)
    out["charts"] += [
        (
            "2D map",
            charts.render(
                charts.scatter2d_figure(sample, x=axes["x"], y=axes["y"], segments=seg_dicts, total=total, units=units),
                "scatter2d",
            ),
        ),
        (
            "3D map",
            charts.render(
                charts.scatter3d_figure(
                    sample, x=axes["x3"], y=axes["y3"], z=axes["z3"], segments=seg_dicts, total=total, units=units
                ),
                "scatter3d",
            ),
        ),
        ("Profile heatmap", charts.render(charts.heatmap_figure(seg_dicts, features, units=units), "heatmap")),
        (
            "Radar" if len(features) >= RADAR_MIN_FEATURES else "Segments compared",
            charts.render(charts.radar_figure(seg_dicts, features, units=units), "radar"),
        ),
        (
            "Distributions",
            charts.render(charts.box_figure(sample, features=features, segments=seg_dicts, units=units), "box"),
        ),
    ]
    sil = sample_silhouette(sample=sample, features=features)
    if sil is not None:
        out["charts"].append(
            (
                "Silhouette",
                charts.render(
                    charts.silhouette_figure(
                        sil[0], sil[1], segments=seg_dicts, average=(run.quality or {}).get("silhouette")
                    ),
                    "silhouette",
                ),
            )
        )
    return out


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def run_history(request: HttpRequest, segmentation_id: int) -> HttpResponse:
    segmentation = get_object_or_404(Segmentation, pk=segmentation_id)
    runs = list(segmentation_runs(segmentation=segmentation)[:200])
    finished = [r for r in runs if r.status in (RunStatus.SUCCEEDED, RunStatus.SUPERSEDED)]
    return render(
        request,
        "segmentation/run_history.html",
        {
            "segmentation": segmentation,
            "runs": runs,
            "finished": finished,
        },
    )


@require_POST
def run_request(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm(RUN_PERMISSION):
        raise PermissionDenied("Only Admins may start a re-segmentation.")
    segmentation = get_object_or_404(Segmentation, pk=pk)
    try:
        run = run_services.run_request(segmentation=segmentation, requested_by=request.user, trigger="manual")
    except SegmentaError as exc:
        messages.error(request, str(exc))
        back = request.META.get("HTTP_REFERER", "")
        safe = url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        return redirect(back if back and safe else "segmentation:dashboard")
    run.refresh_from_db(fields=["status", "error"])
    if run.status == RunStatus.FAILED:  # the broker could not be reached: the run says why
        messages.error(request, f"Run #{run.pk} of “{segmentation.name}” failed: {run.error}")
    else:
        messages.success(request, f"Run #{run.pk} of “{segmentation.name}” queued.")
    return redirect("segmentation:run-detail", run_id=run.pk)


@require_GET
def run_status_json(request: HttpRequest, pk: int) -> JsonResponse:
    if not request.user.has_perm("segmentation.view_segmentrun"):
        raise PermissionDenied
    run = get_object_or_404(SegmentRun, pk=pk)
    response = JsonResponse(run_status(run=run))
    response["Cache-Control"] = "no-store"
    return response
