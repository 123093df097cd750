from django.urls import path

from customers import views_import

urlpatterns = [
    path("import/", views_import.import_upload, name="import"),
    path("imports/", views_import.import_list, name="imports"),
    path("imports/<int:pk>/", views_import.import_detail, name="import-detail"),
    path("imports/<int:pk>/rejected.csv", views_import.import_rejected, name="import-rejected"),
]
