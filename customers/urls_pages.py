from django.urls import path

from customers import views

# Customer ids are free text (they may even be "import" or "overview", or contain "/"), so the
# detail route lives under its own prefix and can never shadow another page.
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("overview/", views.customer_overview, name="overview"),
    path("id/<path:external_id>/", views.customer_detail, name="detail"),
]
