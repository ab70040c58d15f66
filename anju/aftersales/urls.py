from .care.urls import urlpatterns as care_urls
from .tickets.urls import urlpatterns as ticket_urls

app_name = "aftersales"

urlpatterns: list = [*ticket_urls, *care_urls]
