from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.authtoken.models import Token

from core import tokens
from core.activity import activity_sentences, activity_verb_label
from core.exceptions import SegmentaError
from core.models import Activity
from core.roles import is_admin


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """No icon: pages say so (`<link rel="icon" href="data:,">`), but the API's browsable pages, the admin and
    browsers on their own still ask for /favicon.ico; an empty answer (kept a day) instead of a 404 per visit."""
    response = HttpResponse(status=204)
    response["Cache-Control"] = "public, max-age=86400"
    return response


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
            "rows": activity_sentences(page),
            "verb": verb,
            "object_type": object_type,
            "verbs": sorted(
                ((v, activity_verb_label(v)) for v in Activity.objects.values_list("verb", flat=True).distinct()),
                key=lambda vl: vl[1],
            ),
            "object_types": [
                (t, _type_label(t))
                for t in Activity.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
            ],
        },
    )


def _type_label(object_type: str) -> str:
    """'campaigns.Campaign' -> 'Campaign' (the model's verbose name), else the stored type."""
    try:
        return str(apps.get_model(object_type)._meta.verbose_name).capitalize()
    except (LookupError, ValueError):
        return object_type


@never_cache
@require_http_methods(["GET", "POST"])
def token_page(request: HttpRequest) -> HttpResponse:
    """Any logged-in user's own API token: create (shown once in full), regenerate, revoke.

    POST `action=create` makes a token (replacing the current one) and shows its key in this response only;
    POST `action=revoke` with `prefix` revokes the user's own token (404 for any other prefix).
    """
    new_key = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "create":
            new_key = tokens.token_create(user=request.user).key
        elif action == "revoke":
            try:
                tokens.token_revoke(user=request.user, prefix=request.POST.get("prefix", ""))
            except Token.DoesNotExist:
                raise Http404("You have no token with that prefix.") from None
            except SegmentaError as exc:
                messages.error(request, str(exc))
                return redirect("tokens")
            messages.success(request, "Token revoked: programs using it can no longer call the API.")
            return redirect("tokens")
        else:
            return HttpResponse(
                f"action: expected create or revoke; got {action!r}", status=400, content_type="text/plain"
            )
    token = tokens.token_for(user=request.user)
    return render(
        request,
        "core/tokens.html",
        {
            "token": token,
            "prefix": tokens.token_prefix(token.key) if token else "",
            "new_key": new_key,
            "api_base": request.build_absolute_uri("/api/"),
        },
    )
