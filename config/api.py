"""The API router: each app registers its viewsets in its own api.py `register(router)`."""

from rest_framework.routers import DefaultRouter

from campaigns import api as campaigns_api
from campaigns.recommendations import api as recommendations_api
from segmentation import api as segmentation_api

router = DefaultRouter()
segmentation_api.register(router)
campaigns_api.register(router)

urlpatterns = router.urls
urlpatterns += recommendations_api.urlpatterns  # paths under other apps' resources (customers, segments)
