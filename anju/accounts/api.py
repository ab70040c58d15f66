from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Adds users, projects, companies and teams to the site's router."""
