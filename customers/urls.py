from django.urls import path

from customers import views
from customers.orders import value_views
from customers.orders import views as order_views

app_name = "customers"

# Customer ids are free text (they may even be "import" or "overview", or contain "/"), so the
# detail route lives under its own prefix and can never shadow another page.
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("overview/", views.customer_overview, name="overview"),
    path("export.csv", views.customer_export, name="export"),
    path("id/<path:external_id>/", views.customer_detail, name="detail"),
    path("import/", views.import_upload, name="import"),
    path("imports/", views.import_list, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/rejected.csv", views.import_rejected, name="import-rejected"),
    path("orders/import/", order_views.order_import_upload, name="order-import"),
    path("orders/imports/<int:pk>/", order_views.order_import_detail, name="order-import-detail"),
    path("orders/imports/<int:pk>/status.json", order_views.order_import_status, name="order-import-status"),
    path("orders/imports/<int:pk>/rejected.csv", order_views.order_import_rejected, name="order-import-rejected"),
    path("value/", value_views.value_page, name="value"),
    path("value/fit/", value_views.value_fit_now, name="value-fit"),
    path("value/status.json", value_views.value_status, name="value-status"),
]
