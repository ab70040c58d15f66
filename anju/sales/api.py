"""The sales API: viewsets registered on the site's router."""

from rest_framework.routers import BaseRouter


def register(router: BaseRouter) -> None:
    pass
