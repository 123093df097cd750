from django.urls import path

from campaigns import views, views_audiences
from campaigns.recommendations import views as recommendation_views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/schedule/", views.campaign_schedule, name="schedule"),
    path("<int:pk>/archive/", views.campaign_archive, name="archive"),
    path("<int:pk>/repin/", views.campaign_repin, name="repin"),
    path("<int:pk>/export/", views.campaign_export, name="export"),
    path("<int:pk>/export/columns/", views.campaign_export_columns_save, name="export-columns"),
    path("audiences/", views_audiences.audience_list, name="audiences"),
    path("audiences/new/", views_audiences.audience_create, name="audience-create"),
    path("playbook/", views.playbook_list, name="playbook"),
    path("playbook/new/", views.playbook_edit, name="playbook-create"),
    path("playbook/<int:pk>/edit/", views.playbook_edit, name="playbook-edit"),
    path("recommendations/", recommendation_views.recommendations_page, name="recommendations"),
    path("recommendations/run/", recommendation_views.recommendations_run, name="recommendations-run"),
    path(
        "recommendations/runs/<int:pk>/status.json",
        recommendation_views.recommendation_run_status_json,
        name="recommendations-run-status",
    ),
]
