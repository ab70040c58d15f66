from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Adds customers, phones, tags, interactions, search, duplicates, merge and imports."""
