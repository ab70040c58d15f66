from .deals.urls import urlpatterns as deal_urls
from .opportunities.urls import urlpatterns as opportunity_urls

app_name = "sales"

urlpatterns: list = [*deal_urls, *opportunity_urls]
