from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from core import views as core_views

admin.site.site_header = "Segmenta administration"
admin.site.site_title = "Segmenta admin"

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("config.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", core_views.api_docs, name="api-docs"),  # rendered on the server: no CDN
    path("assets/plotly.min.js", core_views.plotly_js, name="plotly-js"),
    path("healthz", core_views.healthz, name="healthz"),
    path("customers/", include("customers.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("activity/", include("core.urls")),
    path("", include("segmentation.urls")),
]
