from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
@cache_control(public=True, max_age=86400)
def plotly_js(request):
    """Serve the plotly.js bundled in the installed plotly package (no CDN, no download)."""
    from plotly.offline import get_plotlyjs

    return HttpResponse(get_plotlyjs(), content_type="application/javascript")


@login_not_required
@require_GET
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def activity_list(request):
    """The audit log, Admins only: filter by verb and object type, newest first, paginated."""
    from django.core.exceptions import PermissionDenied
    from django.core.paginator import Paginator
    from django.shortcuts import render

    from core.models import Activity
    from core.roles import is_admin

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


def api_docs(request):
    """Browsable API documentation rendered on the server from the OpenAPI schema (no CDN, no script)."""
    from django.contrib.auth.views import redirect_to_login
    from django.shortcuts import render
    from drf_spectacular.generators import SchemaGenerator

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            body = op.get("requestBody", {}).get("content", {})
            operations.append(
                {
                    "anchor": op.get("operationId", f"{method}-{path}"),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": op.get("parameters", []),
                    "request": sorted({_schema_name(c.get("schema", {})) for c in body.values()} - {""}),
                    "responses": [
                        {"code": code, "description": r.get("description", ""), "content": sorted(r.get("content", {}))}
                        for code, r in op.get("responses", {}).items()
                    ],
                }
            )
    components = [
        {
            "name": name,
            "description": spec.get("description", ""),
            "fields": [
                {
                    "name": field,
                    "type": prop.get("type") or _schema_name(prop) or ", ".join(map(str, prop.get("enum", []))),
                    "read_only": prop.get("readOnly", False),
                    "required": field in spec.get("required", []),
                    "description": prop.get("description", ""),
                }
                for field, prop in spec.get("properties", {}).items()
            ],
        }
        for name, spec in schema.get("components", {}).get("schemas", {}).items()
    ]
    return render(
        request,
        "core/api_docs.html",
        {"info": schema.get("info", {}), "operations": operations, "components": components},
    )


def _schema_name(schema: dict) -> str:
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
    name = ref.rsplit("/", 1)[-1] if ref else ""
    return f"list of {name}" if name and schema.get("type") == "array" else name
