from segmentation.urls_pages import urlpatterns as page_urls
from segmentation.urls_runs import urlpatterns as run_urls

urlpatterns = page_urls + run_urls
