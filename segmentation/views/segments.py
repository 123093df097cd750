"""A segment: its page (profile, rules, members), its strategy and its members as CSV."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.csvsafe import stream_csv
from core.exceptions import SegmentaError
from core.services import activity_record
from segmentation.forms import StrategyForm
from segmentation.ml import charts
from segmentation.ml.explain import segment_rules
from segmentation.ml.fields import CANONICAL_FIELDS
from segmentation.models import Segment
from segmentation.selectors.runs import run_features, run_units
from segmentation.selectors.samples import run_sample
from segmentation.selectors.segments import (
    member_value,
    segment_get,
    segment_member_rows,
    segment_members,
    segments_with_values,
)
from segmentation.services.strategies import segment_strategy_update
from segmentation.views import CHART_CACHE_SECONDS, EXPORT_PERM, VIEW_PERM, export_rows_counted


def _segment_or_404(segment_id: int) -> Segment:
    segment = segment_get(segment_id=segment_id)
    if segment is None:
        raise Http404("No such segment")
    return segment


def _page_int(value: str | None, default: int = 1) -> int:
    try:
        return max(1, int(value or default))
    except (TypeError, ValueError):
        return default


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def segment_detail(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = _segment_or_404(segment_id)
    run = segment.run
    segments_with_values(segments=[segment])  # expected value, churn risk; flags from them when present
    search = request.GET.get("q", "")[:64]
    page = Paginator(segment_members(segment=segment, search=search), 50).get_page(_page_int(request.GET.get("page")))
    features = run_features(run=run)
    units = run_units(run=run)
    key = (
        "segmenta:segment-rules:"
        + hashlib.sha256(f"{segment.pk}|{run.finished_at}|{','.join(features)}".encode()).hexdigest()
    )
    rules = cache.get(key) if run.is_finished else None
    if rules is None:
        rules = []
        if features:
            sample, _total = run_sample(run=run, features=features)
            if len(sample):
                rules = segment_rules(
                    sample[features],
                    (sample["segment_id"] == segment.pk).to_numpy(),
                    describe=lambda f: _rule_words(f, units),
                )[:4]
        if run.is_finished:
            cache.set(key, rules, CHART_CACHE_SECONDS)

    def shown(f: str, value: float | None) -> str:
        return charts.format_value(f, value, charts.feature_unit(f, units))

    profile_rows = [
        {
            "feature": f,
            "label": charts.feature_label(f, units),
            **{k: shown(f, v) for k, v in stats.items() if k in ("mean", "median", "min", "max")},
            "z": stats.get("z"),
        }
        for f, stats in ((f, (segment.profile or {}).get(f) or {}) for f in (segment.profile or {}))
    ]
    member_columns = [(f, charts.feature_label(f, units)) for f in features]
    for m in page:
        m.values = [shown(f, member_value(customer=m.customer, feature=f)) for f in features]
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
            "member_columns": member_columns,
            "can_edit": can_edit,
            "form": StrategyForm(initial={"strategy": segment.strategy}) if can_edit else None,
        },
    )


def _rule_words(feature: str, units: dict[str, str] | None = None) -> tuple[str, str]:
    """Name and unit of a feature inside a rule: 'annual income', 'k$' (scales like 1–100 are left out)."""
    unit = charts.feature_unit(feature, units)
    return charts.feature_name(feature).lower(), ("" if "–" in unit or "=" in unit else unit)


@require_POST
def segment_strategy(request: HttpRequest, segment_id: int) -> HttpResponse:
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
    return redirect("segmentation:segment-detail", segment_id=segment.pk)


@require_GET
@permission_required(EXPORT_PERM, raise_exception=True)
def segment_members_csv(request: HttpRequest, segment_id: int) -> HttpResponse:
    """A segment's members as CSV: a bulk customer export, so it needs the export permission and is audited."""
    segment = _segment_or_404(segment_id)
    attributes = [f for f in run_features(run=segment.run) if f not in CANONICAL_FIELDS]  # the run's own columns
    header = [*CANONICAL_FIELDS, "distance", "fitted", *attributes]
    rows = segment_member_rows(segment=segment, attributes=attributes)
    entry = activity_record(
        actor=request.user,
        verb="segment.members_exported",
        obj=segment,
        detail={"rows": segment.size, "run": segment.run_id},
    )
    response = StreamingHttpResponse(
        stream_csv(header, export_rows_counted(rows, entry=entry)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}-members.csv"'
    return response
