"""The site's front doors. Each app owns its pages (`urls.py`) and API (`api.py: register`)."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from anju.accounts import api as accounts_api
from anju.aftersales import api as aftersales_api
from anju.core import api as core_api
from anju.core.api.schema import AnjuSwaggerView
from anju.customers import api as customers_api
from anju.leads import api as leads_api
from anju.portal import api as portal_api
from anju.property import api as property_api
from anju.sales import api as sales_api

api_router = DefaultRouter()
leads_api.register_source_door(api_router)
for app_api in (core_api, accounts_api, customers_api, property_api, leads_api, sales_api,
                aftersales_api, portal_api):
    app_api.register(api_router)

urlpatterns = [
    path("", include("anju.web.urls")),
    path("accounts/", include("anju.accounts.urls")),
    path("core/", include("anju.core.urls")),
    path("customers/", include("anju.customers.urls")),
    path("property/", include("anju.property.urls")),
    path("leads/", include("anju.leads.urls")),
    path("sales/", include("anju.sales.urls")),
    path("service/", include("anju.aftersales.urls")),
    path("owner/", include("anju.portal.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", AnjuSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = "anju.core.api.errors.not_found"
handler500 = "anju.core.api.errors.server_error"
