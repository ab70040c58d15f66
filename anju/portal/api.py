"""The owner portal's own narrow API."""

from rest_framework.routers import BaseRouter


def register(router: BaseRouter) -> None:
    pass
