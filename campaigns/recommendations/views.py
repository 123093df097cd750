"""The recommendations page: the active run's evaluation (per model vs popularity, chart, per segment, why
the served model) and a "Run now" button for those allowed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from campaigns.recommendations import selectors, services
from campaigns.recommendations.models import RecommendationRun
from core.exceptions import ConfigError
from segmentation.ml.charts.base import render_div
from segmentation.ml.recommend.report import LABELS, MODEL_NAMES, metrics_figure

RUN_PERMISSION = "campaigns.run_recommendations"


def _rows(metrics: dict) -> list[dict]:
    baseline = metrics.get("popularity", {})
    rows = []
    for model, values in metrics.items():
        cells = []
        for key in LABELS:
            value = values.get(key)
            base = baseline.get(key)
            delta = None if value is None or not base else (value - base) / base
            cells.append({"value": value, "delta": delta})
        rows.append(
            {
                "model": model,
                "name": MODEL_NAMES.get(model, model),
                "cells": cells,
                "customers": values.get("customers"),
            }
        )
    return rows


def _segment_rows(metrics: dict, served: str) -> list[dict]:
    served_seg = metrics.get(served, {}).get("per_segment", {})
    base_seg = metrics.get("popularity", {}).get("per_segment", {})
    rows = []
    for key, values in served_seg.items():
        base = base_seg.get(key, {})
        rows.append(
            {
                "name": values.get("name", key),
                "customers": values.get("customers"),
                "ndcg": values.get("ndcg_at_10"),
                "hit": values.get("hit_rate_at_10"),
                "base_ndcg": base.get("ndcg_at_10"),
                "base_hit": base.get("hit_rate_at_10"),
            }
        )
    return sorted(rows, key=lambda r: str(r["name"]))


@permission_required("campaigns.view_recommendationrun", raise_exception=True)
@require_GET
def recommendations_page(request):
    active = selectors.recommendation_run_active()
    latest = selectors.recommendation_run_latest()
    metrics = active.metrics if active else {}
    served = active.served_model if active else ""
    context = {
        "active": active,
        "latest": latest,
        "in_progress": selectors.recommendation_run_in_progress(),
        "labels": list(LABELS.values()),
        "rows": _rows(metrics),
        "segment_rows": _segment_rows(metrics, served),
        "one_prior": [{"name": MODEL_NAMES.get(m, m), **v.get("one_prior_order", {})} for m, v in metrics.items()],
        "served_name": MODEL_NAMES.get(served, served),
        "chart": render_div(metrics_figure(metrics, served=served), div_id="recommendation-metrics") if metrics else "",
        "can_run": request.user.has_perm(RUN_PERMISSION),
        "runs": selectors.recommendation_runs_list()[:10],
        "cold_start_default": services.DEFAULT_COLD_START_BELOW,
    }
    return render(request, "campaigns/recommendations/page.html", context)


@permission_required(RUN_PERMISSION, raise_exception=True)
@require_POST
def recommendations_run(request):
    if selectors.recommendation_run_in_progress() is not None:
        messages.info(request, "A recommendation run is already queued or running.")
    else:
        raw = (request.POST.get("cold_start_below") or "").strip()
        try:
            cold = int(raw) if raw.lstrip("-").isdigit() else (None if not raw else raw)
            params = services.recommendation_params(cold_start_below=cold)
        except ConfigError as exc:
            messages.error(request, str(exc))
            return redirect("campaigns:recommendations")
        run = services.recommendation_run_request(requested_by=request.user, trigger="manual", params=params)
        messages.success(request, f"Recommendation run #{run.pk} queued: this page follows it until it is done.")
    return redirect("campaigns:recommendations")


@permission_required("campaigns.view_recommendationrun", raise_exception=True)
@require_GET
def recommendation_run_status_json(request, pk: int) -> JsonResponse:
    """A run's status, stage and percent, polled by static/js/run-status.js while it is queued or running."""
    run = get_object_or_404(RecommendationRun, pk=pk)
    response = JsonResponse(
        {"id": run.pk, "status": run.status, "stage": run.stage, "progress": run.progress, "error": run.error}
    )
    response["Cache-Control"] = "no-store"
    return response
