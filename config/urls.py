from django.conf import settings
from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import views as core_views

admin.site.site_header = "Segmenta administration"
admin.site.site_title = "Segmenta admin"

# Password reset only when email can reach the user (EMAIL_HOST); otherwise its pages do not exist.
account_urls = [
    p for p in auth_urls.urlpatterns if settings.SEGMENTA_EMAIL_CONFIGURED or not p.name.startswith("password_reset")
]

urlpatterns = [
    path("accounts/", include(account_urls)),
    path("admin/", admin.site.urls),
    path("api/", include("config.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from drf-spectacular-sidecar's static files (no CDN); a browser session is needed, as for pages.
    # The split view serves its start-up script as a file, so the Content-Security-Policy needs no inline script.
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", core_views.favicon),
    path("customers/", include("customers.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("activity/", include("core.urls")),
    path("account/tokens/", core_views.token_page, name="tokens"),
    path("", include("segmentation.urls")),
]
