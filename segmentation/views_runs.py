"""Run triggers and polling: POST a run request (Admins), GET a run's status as JSON."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from core.exceptions import SegmentaError
from segmentation import selectors, services
from segmentation.models import RunStatus, Segmentation, SegmentRun

RUN_PERMISSION = "segmentation.run_segmentation"


def run_page_url(run_id: int) -> str:
    try:
        return reverse("run-detail", args=[run_id])
    except NoReverseMatch:
        return f"/runs/{run_id}/"


@require_POST
def run_request(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm(RUN_PERMISSION):
        raise PermissionDenied("Only Admins may start a re-segmentation.")
    segmentation = get_object_or_404(Segmentation, pk=pk)
    try:
        run = services.run_request(segmentation=segmentation, requested_by=request.user, trigger="manual")
    except SegmentaError as exc:
        messages.error(request, str(exc))
        back = request.META.get("HTTP_REFERER", "")
        safe = url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        return redirect(back if back and safe else "dashboard")
    run.refresh_from_db(fields=["status", "error"])
    if run.status == RunStatus.FAILED:  # the broker could not be reached: the run says why
        messages.error(request, f"Run #{run.pk} of “{segmentation.name}” failed: {run.error}")
    else:
        messages.success(request, f"Run #{run.pk} of “{segmentation.name}” queued.")
    return redirect(run_page_url(run.pk))


@require_GET
def run_status(request: HttpRequest, pk: int) -> JsonResponse:
    if not request.user.has_perm("segmentation.view_segmentrun"):
        raise PermissionDenied
    run = get_object_or_404(SegmentRun, pk=pk)
    response = JsonResponse(selectors.run_status(run=run))
    response["Cache-Control"] = "no-store"
    return response
