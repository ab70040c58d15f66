"""The sales API: each part registers its viewsets on the site's router."""

from rest_framework.routers import BaseRouter

from .deals import api as deals_api
from .opportunities import api as opportunities_api


def register(router: BaseRouter) -> None:
    deals_api.register(router)
    opportunities_api.register(router)
