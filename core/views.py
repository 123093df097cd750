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
