from django.urls import path

from segmentation import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
