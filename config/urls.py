from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import views as core_views

admin.site.site_header = "Segmenta administration"
admin.site.site_title = "Segmenta admin"

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("config.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from drf-spectacular-sidecar's static files (no CDN); a browser session is needed, as for pages.
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
    path("healthz", core_views.healthz, name="healthz"),
    path("customers/", include("customers.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("activity/", include("core.urls")),
    path("account/tokens/", core_views.token_page, name="tokens"),
    path("", include("segmentation.urls")),
]
