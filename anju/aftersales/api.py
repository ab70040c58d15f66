"""The customer-service API: each part registers its viewsets on the site's router."""

from rest_framework.routers import BaseRouter

from .care import api as care_api
from .tickets import api as tickets_api


def register(router: BaseRouter) -> None:
    tickets_api.register(router)
    care_api.register(router)
