"""The dashboard: every segmentation with its active run's segment cards and any run in progress."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from segmentation.models import Segmentation
from segmentation.selectors.dashboard import dashboard_cards
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
    entries = dashboard_cards()
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
