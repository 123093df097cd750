from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.models import Activity
from core.roles import is_admin


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def activity_list(request: HttpRequest) -> HttpResponse:
    """The audit log, Admins only: filter by verb and object type, newest first, paginated."""
    if not is_admin(request.user):
        raise PermissionDenied("Only Admins can read the activity log.")
    qs = Activity.objects.select_related("actor")
    verb = request.GET.get("verb", "").strip()
    object_type = request.GET.get("object_type", "").strip()
    if verb:
        qs = qs.filter(verb__startswith=verb) if verb.endswith(".") else qs.filter(verb=verb)
    if object_type:
        qs = qs.filter(object_type=object_type)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "core/activity_list.html",
        {
            "page": page,
            "verb": verb,
            "object_type": object_type,
            "verbs": Activity.objects.order_by("verb").values_list("verb", flat=True).distinct(),
            "object_types": Activity.objects.order_by("object_type").values_list("object_type", flat=True).distinct(),
        },
    )
