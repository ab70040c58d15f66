"""The scoping protocol: the one place where "which rows may this user see" is decided.

Every model that holds data about people or deals declares *where* its scope lives
(`ScopeSpec`), and its manager is built from `ScopedQuerySet`, so every selector starts from
`Model.objects.visible_to(user)`. `core` knows nothing of users or roles: the user object
brings its `data_scope()` (accounts.User implements it), so the kernel stays below accounts."""

from dataclasses import dataclass, field
from typing import Protocol, Self

from django.db import models
from django.db.models import Q


class Level:
    OWN = "own"
    TEAM = "team"
    PROJECT = "project"
    COMPANY = "company"
    ALL = "all"


@dataclass(frozen=True)
class DataScope:
    """What one user may see: a level and the ids that level names."""

    level: str
    user_id: int | None = None
    team_member_ids: frozenset[int] = field(default_factory=frozenset)
    project_ids: frozenset[int] = field(default_factory=frozenset)
    company_ids: frozenset[int] = field(default_factory=frozenset)
    led_team_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def nothing(cls) -> "DataScope":
        return cls(level=Level.OWN, user_id=None)


class Principal(Protocol):
    """What the kernel needs of a user (accounts.User provides it)."""

    pk: int
    is_authenticated: bool

    def data_scope(self) -> DataScope: ...

    def may(self, right: str) -> bool: ...


@dataclass(frozen=True)
class ScopeSpec:
    """Field paths from a model to the things a scope is drawn over; None where not related.

    `owner` is the user who owns the row (a consultant's customer); `project` and `company`
    the organisation it belongs to. A row with no owner path (a unit, a ticket) is seen by
    own- and team-level users within the projects assigned to them."""

    owner: str | None = None
    project: str | None = None
    company: str | None = None

    def filter_for(self, scope: DataScope) -> Q | None:
        """The condition for rows in scope; None means every row, Q(pk__in=[]) none."""
        none = Q(pk__in=[])
        if scope.level == Level.ALL:
            return None
        if scope.level == Level.COMPANY:
            if self.company:
                return Q(**{f"{self.company}__in": scope.company_ids})
            if self.project:
                return Q(**{f"{self.project}__company_id__in": scope.company_ids})
            return none
        if scope.level == Level.PROJECT:
            if self.project:
                return Q(**{f"{self.project}__in": scope.project_ids})
            return none
        if self.owner is None:
            # Rows nobody owns (units, tickets, projects): own/team users see their projects'.
            return Q(**{f"{self.project}__in": scope.project_ids}) if self.project else none
        if scope.level == Level.TEAM:
            return Q(**{f"{self.owner}__in": scope.team_member_ids | {scope.user_id}})
        if scope.user_id:
            return Q(**{self.owner: scope.user_id})
        return none


class ScopedQuerySet(models.QuerySet):
    """Base queryset of every scoped model; the model sets `scope = ScopeSpec(...)`."""

    def visible_to(self, user: Principal) -> Self:
        if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
            return self.none()
        spec: ScopeSpec | None = getattr(self.model, "scope", None)
        if spec is None:
            raise TypeError(f"{self.model.__name__} has no ScopeSpec: declare `scope = ...`")
        condition = spec.filter_for(user.data_scope())
        return self if condition is None else self.filter(condition)
