"""Who works in Anju and over which part of the company: users, roles, teams, data scopes.

The organisation a scope is drawn over (company → project) lives here, not in `property`,
because every app's scoping needs it and `accounts` sits below them all
(docs/decisions/0002-organisation-in-accounts.md)."""

from typing import Self

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from anju.core.models import TimeStampedModel, VersionedModel
from anju.core.scoping import DataScope, ScopedQuerySet, ScopeSpec


class ScopeLevel(models.TextChoices):
    OWN = "own", _("own records")
    TEAM = "team", _("team's records")
    PROJECT = "project", _("assigned projects")
    COMPANY = "company", _("assigned companies")
    ALL = "all", _("everything")


class Company(VersionedModel):
    # Users see a company when it is in their scope or holds one of their projects.
    scope = ScopeSpec(project="projects", company="id")

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=32, unique=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.name


class Project(VersionedModel):
    scope = ScopeSpec(project="id", company="company")

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="projects",
                                verbose_name=_("company"))
    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=32, unique=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["company__name", "name"]
        constraints = [models.UniqueConstraint(fields=["company", "name"],
                                               name="project_name_unique_in_company")]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A job in the company. What a role may do and see is data, so it is configured, not coded."""

    class Code(models.TextChoices):
        SALES_CONSULTANT = "sales_consultant", _("sales consultant")
        SALES_MANAGER = "sales_manager", _("sales manager")
        CHANNEL_AGENT = "channel_agent", _("channel agent")
        MARKETING = "marketing", _("marketing")
        SERVICE_AGENT = "service_agent", _("service agent")
        SERVICE_MANAGER = "service_manager", _("service manager")
        EXECUTIVE = "executive", _("executive")
        ADMIN = "admin", _("administrator")
        AUDITOR = "auditor", _("auditor")

    code = models.CharField(_("code"), max_length=32, unique=True, choices=Code.choices)
    default_scope = models.CharField(_("default data scope"), max_length=16,
                                     choices=ScopeLevel.choices, default=ScopeLevel.OWN)
    can_unmask = models.BooleanField(_("may see unmasked phone and ID numbers"), default=False)
    can_export = models.BooleanField(_("may export lists"), default=False)
    can_approve_exports = models.BooleanField(_("may approve bulk exports"), default=False)
    can_manage_users = models.BooleanField(_("may manage users"), default=False)
    can_read_audit = models.BooleanField(_("may read the audit trail"), default=False)
    can_edit_organisation = models.BooleanField(_("may edit companies and projects"),
                                                default=False)
    can_control_sales = models.BooleanField(
        _("may lock and release units (sales control) and edit inventory"), default=False)
    can_approve_deals = models.BooleanField(
        _("may approve discounts, cancellations and swaps"), default=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return str(self.get_code_display())


class Team(TimeStampedModel):
    # A team without a project belongs to nobody's project: only all-scope users see it.
    scope = ScopeSpec(project="project", company="project__company")

    name = models.CharField(_("name"), max_length=100)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="teams",
                                null=True, blank=True, verbose_name=_("project"))
    leader = models.ForeignKey("User", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="led_teams", verbose_name=_("leader"))

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


# Tags of the rows of the one query `User.data_scope()` sends.
MEMBER, PROJECT, COMPANY, LED_TEAM = 1, 2, 3, 4


class UserQuerySet(models.QuerySet):
    """Users a viewer may see: those sharing a project with them (or their companies'),
    everyone for all-scope viewers, and always the viewer themself."""

    def visible_to(self, user) -> Self:
        if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
            return self.none()
        scope = user.data_scope()
        if scope.level == ScopeLevel.ALL:
            return self
        memberships = User.projects.through.objects
        if scope.level == ScopeLevel.COMPANY:
            condition = Q(pk__in=memberships.filter(
                project__company_id__in=scope.company_ids).values("user_id")) | Q(
                pk__in=User.companies.through.objects.filter(
                    company_id__in=scope.company_ids).values("user_id"))
        else:
            condition = Q(pk__in=memberships.filter(
                project_id__in=scope.project_ids).values("user_id"))
        return self.filter(condition | Q(pk=user.pk))


class AnjuUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    display_name = models.CharField(_("name"), max_length=50, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=32, blank=True)
    role = models.ForeignKey(Role, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="users", verbose_name=_("role"))
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="members", verbose_name=_("team"))
    scope_level = models.CharField(_("data scope override"), max_length=16,
                                   choices=ScopeLevel.choices, blank=True)
    companies = models.ManyToManyField(Company, blank=True, related_name="users",
                                       verbose_name=_("companies in scope"))
    projects = models.ManyToManyField(Project, blank=True, related_name="users",
                                      verbose_name=_("projects in scope"))
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = AnjuUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    RIGHTS = ("unmask", "export", "approve_exports", "manage_users", "read_audit",
              "edit_organisation", "control_sales", "approve_deals")

    def may(self, right: str) -> bool:
        """Whether this user holds one of the role rights named in RIGHTS."""
        if right not in self.RIGHTS:
            raise ValueError(f"unknown right {right!r}")
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        return bool(self.role and getattr(self.role, f"can_{right}"))

    @property
    def is_team_leader(self) -> bool:
        """Whether the user leads a team; read with the data scope (no query of its own)."""
        return bool(self.data_scope().led_team_ids)

    @property
    def scope_level_in_force(self) -> str:
        if self.is_superuser:
            return ScopeLevel.ALL
        return self.scope_level or (self.role.default_scope if self.role else ScopeLevel.OWN)

    def data_scope(self) -> DataScope:
        """The rows this user may see; computed once per user object (one request)."""
        cached = getattr(self, "_data_scope", None)
        if cached is None:
            ids: dict[int, set[int]] = {MEMBER: set(), PROJECT: set(), COMPANY: set(),
                                        LED_TEAM: set()}
            if self.pk is not None:
                # One query: members of the teams the user leads or belongs to, the user's
                # projects and companies, and the teams they lead, each row tagged by kind.
                led_teams = Team.objects.order_by().filter(leader_id=self.pk)
                teams = Q(team_id__in=led_teams.values("id"))
                led = led_teams.annotate(kind=models.Value(LED_TEAM)).values_list("id", "kind")
                if self.team_id:
                    teams |= Q(team_id=self.team_id)
                members = (User.objects.order_by().filter(teams)
                           .annotate(kind=models.Value(MEMBER)).values_list("id", "kind"))
                projects = (User.projects.through.objects.order_by().filter(user_id=self.pk)
                            .annotate(kind=models.Value(PROJECT))
                            .values_list("project_id", "kind"))
                companies = (User.companies.through.objects.order_by()
                             .filter(user_id=self.pk).annotate(kind=models.Value(COMPANY))
                             .values_list("company_id", "kind"))
                for pk, kind in members.union(projects, companies, led, all=True):
                    ids[kind].add(pk)
            cached = DataScope(
                level=self.scope_level_in_force,
                user_id=self.pk,
                team_member_ids=frozenset(ids[MEMBER]),
                project_ids=frozenset(ids[PROJECT]),
                company_ids=frozenset(ids[COMPANY]),
                led_team_ids=frozenset(ids[LED_TEAM]),
            )
            self._data_scope = cached
        return cached


class UserSession(models.Model):
    """Which sessions a user holds, so disabling the user can end every one of them."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="session_records")
    session_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.user_id}:{self.session_key[:8]}"
