"""The API router: each app registers its viewsets in its own api.py `register(router)`."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()

urlpatterns = router.urls
