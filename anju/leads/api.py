"""The leads REST API (filled in below)."""

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    pass
