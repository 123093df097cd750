"""The segmentation editor: the list of segmentations, create / edit with a preview on a sample, save and run.

Marketers (add / change segmentation) create, edit and preview; running needs `segmentation.run_segmentation`
(Admins, or whoever an Admin grants it). The preview is a POST returning an HTML fragment; without
JavaScript the form posts with `action=preview` and the page comes back with the preview in it.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.exceptions import ConfigError, SegmentaError
from segmentation.forms import EDITOR_PRESETS, SegmentationForm
from segmentation.models import RunStatus, Segmentation
from segmentation.selectors.editor import column_stats, segmentation_list_entries, segmentation_preview
from segmentation.services import runs as run_services
from segmentation.services.config import config_from_values
from segmentation.services.editor import segmentation_save

RUN_PERMISSION = "segmentation.run_segmentation"
ADD_PERMISSION = "segmentation.add_segmentation"
CHANGE_PERMISSION = "segmentation.change_segmentation"
LIST_PERMISSION = "segmentation.view_segmentation"
RUN_NEEDED = "Running needs the ‘Can start a re-segmentation’ permission; ask an Admin."


@require_GET
def segmentation_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(LIST_PERMISSION):
        raise PermissionDenied
    return render(
        request,
        "segmentation/segmentation_list.html",
        {
            "entries": segmentation_list_entries(),
            "can_add": request.user.has_perm(ADD_PERMISSION),
            "can_change": request.user.has_perm(CHANGE_PERMISSION),
            "can_run": request.user.has_perm(RUN_PERMISSION),
            "run_needed": RUN_NEEDED,
        },
    )


@require_http_methods(["GET", "POST"])
def segmentation_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(ADD_PERMISSION):
        raise PermissionDenied("Creating a segmentation needs the ‘Can add segmentation’ permission.")
    return _editor(request, segmentation=None)


@require_http_methods(["GET", "POST"])
def segmentation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm(CHANGE_PERMISSION):
        raise PermissionDenied("Editing a segmentation needs the ‘Can change segmentation’ permission.")
    return _editor(request, segmentation=get_object_or_404(Segmentation, pk=pk))


@require_POST
def segmentation_preview_fragment(request: HttpRequest) -> HttpResponse:
    """The preview of the posted (unsaved) values as an HTML fragment; writes nothing."""
    if not (request.user.has_perm(ADD_PERMISSION) or request.user.has_perm(CHANGE_PERMISSION)):
        raise PermissionDenied
    instance = None
    if request.POST.get("segmentation"):
        instance = Segmentation.objects.filter(pk=request.POST["segmentation"]).first()
    stats = column_stats()
    form = SegmentationForm(request.POST, columns=stats.columns, instance=instance)
    preview, problem = _preview(form)
    status = 200 if preview is not None else 422
    return render(
        request, "segmentation/_preview.html", {"preview": preview, "problem": problem, "form": form}, status=status
    )


def _preview(form: SegmentationForm):
    """(preview, None) for valid values, else (None, why): the form's errors or the engine's refusal."""
    if not form.is_valid():
        return None, "Fix the fields marked below, then preview again."
    if form.cleaned_data.get("method") == "rfm":
        return None, "The preview is for KMeans; an RFM run shows its groups, cut points and sizes on its run page."
    try:
        config = config_from_values(values=form.config_values())
    except ConfigError as exc:
        form.add_config_errors(exc.errors)
        return None, "Fix the fields marked below, then preview again."
    try:
        return segmentation_preview(config=config), None
    except SegmentaError as exc:  # the data cannot give this configuration (a constant column, ...)
        return None, str(exc)


def _editor(request: HttpRequest, *, segmentation: Segmentation | None) -> HttpResponse:
    stats = column_stats()
    can_run = request.user.has_perm(RUN_PERMISSION)
    preview = problem = None
    if request.method == "POST":
        action = request.POST.get("action", "save")
        form = SegmentationForm(request.POST, columns=stats.columns, instance=segmentation)
        if action == "preview":
            preview, problem = _preview(form)
        else:
            if action == "save_run" and not can_run:
                raise PermissionDenied(RUN_NEEDED)
            if form.is_valid():
                try:
                    saved = segmentation_save(segmentation=segmentation, values=form.values(), actor=request.user)
                except ConfigError as exc:
                    form.add_config_errors(exc.errors)
                else:
                    return _after_save(request, saved, run=action == "save_run")
    else:
        preset = EDITOR_PRESETS.get(request.GET.get("preset", "")) if segmentation is None else None
        form = SegmentationForm(columns=stats.columns, instance=segmentation, initial=preset)
    return render(
        request,
        "segmentation/editor.html",
        {
            "form": form,
            "segmentation": segmentation,
            "stats": stats,
            "preview": preview,
            "problem": problem,
            "can_run": can_run,
            "run_needed": RUN_NEEDED,
        },
        status=422 if request.method == "POST" and form.errors else 200,
    )


def _after_save(request: HttpRequest, segmentation: Segmentation, *, run: bool) -> HttpResponse:
    if not run:
        messages.success(request, f"“{segmentation.name}” saved.")
        return redirect("segmentation:segmentation-list")
    try:
        queued = run_services.run_request(segmentation=segmentation, requested_by=request.user, trigger="manual")
    except SegmentaError as exc:
        messages.error(request, f"“{segmentation.name}” saved, but the run could not start: {exc}")
        return redirect("segmentation:segmentation-list")
    queued.refresh_from_db(fields=["status", "error"])
    if queued.status == RunStatus.FAILED:  # the broker could not be reached: the run says why
        messages.error(request, f"“{segmentation.name}” saved, but run #{queued.pk} failed: {queued.error}")
    else:
        messages.success(request, f"“{segmentation.name}” saved; run #{queued.pk} queued.")
    return redirect("segmentation:run-detail", run_id=queued.pk)
