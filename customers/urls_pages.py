from django.urls import path

from customers import views

# The detail route comes last and takes any id (ids may contain "/"), so the import routes are
# placed before these in customers/urls.py.
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("overview/", views.customer_overview, name="overview"),
    path("<path:external_id>/", views.customer_detail, name="detail"),
]
