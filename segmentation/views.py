"""Insight pages: dashboard, run page, segment page, run history and comparison. Thin: selectors read."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from campaigns.selectors import campaigns_for_segment
from core.csvsafe import stream_csv
from core.exceptions import SegmentaError
from segmentation import selectors_pages as sel
from segmentation.forms import ChartAxesForm, CompareForm, StrategyForm
from segmentation.ml import charts
from segmentation.ml.explain import segment_rules
from segmentation.ml.fields import CANONICAL_FIELDS
from segmentation.models import RunStatus, Segmentation
from segmentation.services.config import segmentation_get_or_create_default
from segmentation.services.strategies import segment_strategy_update

VIEW_PERM = "segmentation.view_segment"
CHART_CACHE_SECONDS = 3600


def _run_url(segmentation_id: int) -> str:
    return f"/segmentations/{segmentation_id}/run/"


def _status_url(run_id: int) -> str:
    return f"/runs/{run_id}/status.json"


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def dashboard(request):
    can_run = request.user.has_perm("segmentation.run_segmentation")
    if can_run and not Segmentation.objects.exists():
        # An Admin's first visit: the default segmentation (model defaults) so "Re-segment now" has a target.
        segmentation_get_or_create_default()
    entries = sel.dashboard_entries()
    for e in entries:
        for s in e.segments:
            _decorate_segment(s)
        e.run_url = _run_url(e.segmentation.pk)
        e.status_url = _status_url(e.in_progress.pk) if e.in_progress else ""
    return render(
        request,
        "segmentation/dashboard.html",
        {
            "entries": entries,
            "can_run": can_run,
        },
    )


def _decorate_segment(s) -> None:
    """Card numbers: share in percent and the mean of each feature in real units."""
    s.share_pct = (s.share or 0) * 100
    s.key_numbers = [
        {"label": charts.feature_name(f), "value": charts.format_value(f, (stats or {}).get("mean"))}
        for f, stats in (s.profile or {}).items()
    ][:5]


def _page_int(value: str | None, default: int = 1) -> int:
    try:
        return max(1, int(value or default))
    except (TypeError, ValueError):
        return default


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def run_detail(request, run_id: int):
    run = sel.run_get(run_id=run_id)
    if run is None:
        raise Http404("No such run")
    segments = list(run.segments.order_by("label"))
    ctx = {
        "run": run,
        "segments": segments,
        "status_url": _status_url(run.pk),
        "problems": [],
        "evidence": sel.run_evidence(run=run),
    }
    axes: dict[str, str] = {}
    if segments:
        features = sel.run_features(run=run, segments=segments)
        choices = sel.run_feature_choices(run=run, segments=segments)
        f2 = features if len(features) >= 2 else choices
        defaults = {
            "x": f2[0],
            "y": f2[1],
            "x3": charts_default(choices, 0),
            "y3": charts_default(choices, 1),
            "z3": charts_default(choices, 2),
        }
        form = ChartAxesForm(request.GET or None, features=choices, defaults=defaults)
        axes, ctx["problems"] = form.axes()
        ctx["axes_form"] = form
    # A finished run never changes its evidence or memberships: its charts are cached per axes choice
    # (keyed also by the segments' names and colours, which lineage sets at activation).
    key = None
    if run.is_finished:
        ident = "|".join(f"{s.pk}:{s.name}:{s.color}" for s in segments)
        key = (
            "segmenta:run-charts:"
            + hashlib.sha256(f"{run.pk}|{run.finished_at}|{sorted(axes.items())}|{ident}".encode()).hexdigest()
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


def _run_charts(*, run, segments, evidence: dict, axes: dict[str, str]) -> dict:
    """Every chart of the run page as (title, HTML) pairs, with the sample's size."""
    out: dict = {"charts": [], "sample_size": None, "total": None}
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
    features = sel.run_features(run=run, segments=segments)
    wanted = list(dict.fromkeys([*features, *(axes[k] for k in ("x", "y", "x3", "y3", "z3"))]))
    sample, total = sel.run_sample(run=run, features=wanted)
    seg_dicts = sel.segment_dicts(segments=segments)
    out["sample_size"], out["total"] = len(sample), total
    out["charts"] += [
        (
            "2D map",
            charts.render(
                charts.scatter2d_figure(sample, x=axes["x"], y=axes["y"], segments=seg_dicts, total=total), "scatter2d"
            ),
        ),
        (
            "3D map",
            charts.render(
                charts.scatter3d_figure(
                    sample, x=axes["x3"], y=axes["y3"], z=axes["z3"], segments=seg_dicts, total=total
                ),
                "scatter3d",
            ),
        ),
        ("Profile heatmap", charts.render(charts.heatmap_figure(seg_dicts, features), "heatmap")),
        ("Radar", charts.render(charts.radar_figure(seg_dicts, features), "radar")),
        ("Distributions", charts.render(charts.box_figure(sample, features=features, segments=seg_dicts), "box")),
    ]
    sil = sel.sample_silhouette(sample=sample, features=features)
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


def charts_default(choices: list[str], i: int) -> str:
    preferred = [f for f in sel.DEFAULT_3D if f in choices] + [f for f in choices if f not in sel.DEFAULT_3D]
    return preferred[i % len(preferred)]


def _segment_or_404(segment_id: int):
    segment = sel.segment_get(segment_id=segment_id)
    if segment is None:
        raise Http404("No such segment")
    return segment


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def segment_detail(request, segment_id: int):
    segment = _segment_or_404(segment_id)
    run = segment.run
    search = request.GET.get("q", "")[:64]
    page = Paginator(sel.segment_members(segment=segment, search=search), 50).get_page(
        _page_int(request.GET.get("page"))
    )
    features = sel.run_features(run=run)
    key = (
        "segmenta:segment-rules:"
        + hashlib.sha256(f"{segment.pk}|{run.finished_at}|{','.join(features)}".encode()).hexdigest()
    )
    rules = cache.get(key) if run.is_finished else None
    if rules is None:
        rules = []
        if features:
            sample, _total = sel.run_sample(run=run, features=features)
            if len(sample):
                rules = segment_rules(
                    sample[features], (sample["segment_id"] == segment.pk).to_numpy(), describe=_rule_words
                )[:4]
        if run.is_finished:
            cache.set(key, rules, CHART_CACHE_SECONDS)
    profile_rows = [
        {"feature": f, "label": charts.feature_label(f), **(segment.profile or {}).get(f, {})}
        for f in (segment.profile or {})
    ]
    can_edit = request.user.has_perm("segmentation.edit_strategy")
    return render(
        request,
        "segmentation/segment_detail.html",
        {
            "segment": segment,
            "run": run,
            "page": page,
            "search": search,
            "rules": rules,
            "profile_rows": profile_rows,
            "can_edit": can_edit,
            "form": StrategyForm(initial={"strategy": segment.strategy}) if can_edit else None,
            "campaigns": campaigns_for_segment(segment=segment)[:50],
        },
    )


def _rule_words(feature: str) -> tuple[str, str]:
    """Name and unit of a feature inside a rule: 'annual income', 'k$' (scales like 1–100 are left out)."""
    unit = charts.feature_unit(feature)
    return charts.feature_name(feature).lower(), ("" if "–" in unit or "=" in unit else unit)


@require_POST
def segment_strategy(request, segment_id: int):
    if not request.user.has_perm("segmentation.edit_strategy"):
        raise PermissionDenied("Only Marketers and Admins may edit a segment's strategy.")
    segment = _segment_or_404(segment_id)
    form = StrategyForm(request.POST)
    if form.is_valid():
        try:
            segment_strategy_update(segment=segment, strategy=form.cleaned_data["strategy"], user=request.user)
        except SegmentaError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Strategy of “{segment.name}” saved.")
    else:
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    return redirect("segment-detail", segment_id=segment.pk)


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def segment_members_csv(request, segment_id: int):
    segment = _segment_or_404(segment_id)
    header = [*CANONICAL_FIELDS, "distance", "fitted"]
    response = StreamingHttpResponse(
        stream_csv(header, sel.segment_member_rows(segment=segment)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}-members.csv"'
    return response


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def run_history(request, segmentation_id: int):
    segmentation = get_object_or_404(Segmentation, pk=segmentation_id)
    runs = list(sel.segmentation_runs(segmentation=segmentation)[:200])
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


def _compare_runs(request):
    form = CompareForm(request.GET)
    if not form.is_valid():
        return form, None, None
    a, b = sel.run_get(run_id=form.cleaned_data["a"]), sel.run_get(run_id=form.cleaned_data["b"])
    for key, run in (("a", a), ("b", b)):
        if run is None:
            form.add_error(key, f"Run #{form.cleaned_data[key]} does not exist.")
    return form, a, b


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def run_compare(request):
    choices = list(sel.runs_for_compare_choices())
    if not request.GET:
        return render(request, "segmentation/run_compare.html", {"form": CompareForm(), "choices": choices})
    form, a, b = _compare_runs(request)
    if form.errors:
        return render(request, "segmentation/run_compare.html", {"form": form, "choices": choices}, status=400)
    result = sel.run_compare(run_a=a, run_b=b)
    chart = None
    if result["segments_a"] and result["segments_b"]:
        chart = charts.render(
            charts.migration_figure(
                result["matrix"],
                rows=[f"{s.name} (#{s.label})" for s in result["segments_a"]],
                cols=[f"{s.name} (#{s.label})" for s in result["segments_b"]],
            ),
            "migration",
        )
    return render(
        request,
        "segmentation/run_compare.html",
        {
            "form": form,
            "choices": choices,
            "a": a,
            "b": b,
            "result": result,
            "chart": chart,
        },
    )


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def run_compare_csv(request):
    form, a, b = _compare_runs(request)
    if form.errors:
        return render(request, "segmentation/run_compare.html", {"form": form, "choices": []}, status=400)
    response = StreamingHttpResponse(
        stream_csv(
            ["external_id", f"segment_in_run_{a.pk}", f"segment_in_run_{b.pk}"], sel.run_moves_rows(run_a=a, run_b=b)
        ),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="moves-run-{a.pk}-to-{b.pk}.csv"'
    return response
