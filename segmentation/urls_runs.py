from django.urls import path

from segmentation import views_runs

urlpatterns = [
    path("segmentations/<int:pk>/run/", views_runs.run_request, name="run-request"),
    path("runs/<int:pk>/status.json", views_runs.run_status, name="run-status"),
]
