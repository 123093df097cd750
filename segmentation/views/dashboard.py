"""The dashboard: every segmentation with its active run's segment cards and any run in progress."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from segmentation.ml import charts
from segmentation.models import Segment, Segmentation
from segmentation.selectors.runs import dashboard_entries, run_units
from segmentation.selectors.segments import segments_with_values
from segmentation.services.config import segmentation_get_or_create_default
from segmentation.views import VIEW_PERM
from segmentation.views.editor import RUN_NEEDED


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    can_run = request.user.has_perm("segmentation.run_segmentation")
    if can_run and not Segmentation.objects.exists():
        # An Admin's first visit: the default segmentation (model defaults) so "Re-segment now" has a target.
        segmentation_get_or_create_default()
    entries = dashboard_entries()
    for e in entries:
        units = run_units(run=e.active) if e.active else {}
        segments_with_values(segments=list(e.segments))  # flags from lifetime values when present
        for s in e.segments:
            _decorate_segment(s, units=units)
    return render(
        request,
        "segmentation/dashboard.html",
        {
            "entries": entries,
            "can_run": can_run,
            "can_add": request.user.has_perm("segmentation.add_segmentation"),
            "can_change": request.user.has_perm("segmentation.change_segmentation"),
            "run_needed": RUN_NEEDED,
        },
    )


def _decorate_segment(s: Segment, *, units: dict[str, str]) -> None:
    """Card numbers: share in percent and the mean of each feature in the run's own units."""
    s.share_pct = (s.share or 0) * 100
    s.key_numbers = [
        {
            "label": charts.feature_name(f),
            "value": charts.format_value(f, (stats or {}).get("mean"), charts.feature_unit(f, units)),
        }
        for f, stats in (s.profile or {}).items()
    ][:5]
