"""The kernel's API pieces (base viewset, errors, pagination, idempotency) and its endpoints."""

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Adds the kernel's endpoints to the site's router."""
    from . import audit_api, notifications_api, sensitive_api

    for module in (sensitive_api, notifications_api, audit_api):
        module.register(router)
