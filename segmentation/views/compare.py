"""Two runs side by side: matched segments, the migration matrix and the movers as CSV."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.csvsafe import stream_csv
from core.services import activity_record
from segmentation.forms import CompareForm
from segmentation.ml import charts
from segmentation.models import SegmentRun
from segmentation.selectors import comparison
from segmentation.selectors.runs import run_get
from segmentation.views import EXPORT_PERM, VIEW_PERM, export_rows_counted


def _compare_runs(request: HttpRequest) -> tuple[CompareForm, SegmentRun | None, SegmentRun | None]:
    form = CompareForm(request.GET)
    if not form.is_valid():
        return form, None, None
    a, b = run_get(run_id=form.cleaned_data["a"]), run_get(run_id=form.cleaned_data["b"])
    for key, run in (("a", a), ("b", b)):
        if run is None:
            form.add_error(key, f"Run #{form.cleaned_data[key]} does not exist.")
    return form, a, b


@require_GET
@permission_required(VIEW_PERM, raise_exception=True)
def run_compare(request: HttpRequest) -> HttpResponse:
    choices = list(comparison.runs_for_compare_choices())
    if not request.GET:
        return render(request, "segmentation/run_compare.html", {"form": CompareForm(), "choices": choices})
    form, a, b = _compare_runs(request)
    if form.errors:
        return render(request, "segmentation/run_compare.html", {"form": form, "choices": choices}, status=400)
    result = comparison.run_compare(run_a=a, run_b=b)
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
@permission_required(EXPORT_PERM, raise_exception=True)
def run_compare_csv(request: HttpRequest) -> HttpResponse:
    """The customers who moved between two runs: a bulk customer export (export permission, audited)."""
    form, a, b = _compare_runs(request)
    if form.errors:
        return render(request, "segmentation/run_compare.html", {"form": form, "choices": []}, status=400)
    # The number of movers is known only once streamed: the entry is written first, its row count at the end.
    entry = activity_record(
        actor=request.user, verb="segmentation.moves_exported", obj=b, detail={"rows": None, "from_run": a.pk}
    )
    response = StreamingHttpResponse(
        stream_csv(
            ["external_id", f"segment_in_run_{a.pk}", f"segment_in_run_{b.pk}"],
            export_rows_counted(comparison.run_moves_rows(run_a=a, run_b=b), entry=entry),
        ),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="moves-run-{a.pk}-to-{b.pk}.csv"'
    return response
