from customers.urls_import import urlpatterns as import_urls
from customers.urls_pages import urlpatterns as page_urls

app_name = "customers"

# Import routes first: the customer detail route (in page_urls) takes any id.
urlpatterns = import_urls + page_urls
