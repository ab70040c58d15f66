"""Every read of the accounts app, scoped to the viewer through `visible_to`."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import Company, Project, Team, User, UserSession


def user_list(*, viewer: User) -> QuerySet[User]:
    """Users sharing a project with the viewer; everyone for all-scope viewers."""
    return (User.objects.visible_to(viewer)
            .select_related("role", "team")
            .prefetch_related("projects")
            .order_by("username"))


def user_get(*, viewer: User, pk: int) -> User:
    """The user, or 404 when outside the viewer's scope."""
    return get_object_or_404(
        User.objects.visible_to(viewer).select_related("role", "team")
        .prefetch_related("projects", "companies"), pk=pk)


def project_list(*, viewer: User) -> QuerySet[Project]:
    return Project.objects.visible_to(viewer).select_related("company")


def project_get(*, viewer: User, pk: int) -> Project:
    """The project, or 404 when outside the viewer's scope."""
    return get_object_or_404(project_list(viewer=viewer), pk=pk)


def company_list(*, viewer: User) -> QuerySet[Company]:
    return Company.objects.visible_to(viewer).distinct()


def team_list(*, viewer: User) -> QuerySet[Team]:
    return Team.objects.visible_to(viewer).select_related("project", "leader")


def session_list(*, user: User) -> QuerySet[UserSession]:
    """The user's own recorded sessions, newest first (for "my account")."""
    return UserSession.objects.filter(user=user).order_by("-created_at")
