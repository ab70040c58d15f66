"""The kernel's API pieces (base viewset, errors, pagination, idempotency) and its endpoints."""

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Adds the kernel's endpoints (notifications, sensitive values) to the site's router."""
