from django.urls import path

from segmentation import views, views_runs

app_name = "segmentation"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("runs/<int:run_id>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/status.json", views_runs.run_status, name="run-status"),
    path("runs/compare/", views.run_compare, name="run-compare"),
    path("runs/compare/moves.csv", views.run_compare_csv, name="run-compare-csv"),
    path("segments/<int:segment_id>/", views.segment_detail, name="segment-detail"),
    path("segments/<int:segment_id>/strategy/", views.segment_strategy, name="segment-strategy"),
    path("segments/<int:segment_id>/members.csv", views.segment_members_csv, name="segment-members-csv"),
    path("segmentations/<int:segmentation_id>/runs/", views.run_history, name="run-history"),
    path("segmentations/<int:pk>/run/", views_runs.run_request, name="run-request"),
]
