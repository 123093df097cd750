from customers.urls_import import urlpatterns as import_urls
from customers.urls_pages import urlpatterns as page_urls

app_name = "customers"

urlpatterns = page_urls + import_urls
