from django.urls import path

from segmentation.views import compare, dashboard, editor, runs, segments

app_name = "segmentation"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("runs/", runs.run_list_view, name="run-list"),
    path("runs/<int:run_id>/", runs.run_detail, name="run-detail"),
    path("runs/<int:pk>/status.json", runs.run_status_json, name="run-status"),
    path("runs/compare/", compare.run_compare, name="run-compare"),
    path("runs/compare/moves.csv", compare.run_compare_csv, name="run-compare-csv"),
    path("segments/<int:segment_id>/", segments.segment_detail, name="segment-detail"),
    path("segments/<int:segment_id>/strategy/", segments.segment_strategy, name="segment-strategy"),
    path("segments/<int:segment_id>/members.csv", segments.segment_members_csv, name="segment-members-csv"),
    path("segmentations/", editor.segmentation_list, name="segmentation-list"),
    path("segmentations/new/", editor.segmentation_create, name="segmentation-create"),
    path("segmentations/<int:pk>/edit/", editor.segmentation_edit, name="segmentation-edit"),
    path("segmentations/preview/", editor.segmentation_preview_fragment, name="segmentation-preview"),
    path("segmentations/<int:segmentation_id>/runs/", runs.run_history, name="run-history"),
    path("segmentations/<int:pk>/run/", runs.run_request, name="run-request"),
]
