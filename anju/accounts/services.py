"""Every write of the accounts app: one function per business action, keyword-only arguments,
atomic, rights checked against the acting user. Views and the API both call these."""

from collections.abc import Iterable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from anju.core.locking import VersionConflict, update_versioned
from anju.core.normalise.phone import normalise_phone

from .models import Company, Project, Role, ScopeLevel, Team, User, UserSession

__all__ = [
    "VersionConflict",
    "auth_token_issue",
    "company_create",
    "password_change",
    "project_create",
    "project_update",
    "team_create",
    "user_create",
    "user_disable",
    "user_enable",
    "user_set_scope",
    "user_update",
]


# --- helpers --------------------------------------------------------------------------------
def _require(actor: User, *rights: str) -> None:
    """The actor must hold at least one of the rights."""
    if not getattr(actor, "is_authenticated", False) or not any(actor.may(r) for r in rights):
        raise PermissionDenied(_("You are not allowed to do this."))


def _normalise_phone(phone: str) -> str:
    if not (phone or "").strip():
        return ""
    try:
        value = normalise_phone(phone)
    except ValidationError as error:
        raise ValidationError({"phone": error.messages}) from None
    if len(value) > User._meta.get_field("phone").max_length:
        raise ValidationError({"phone": _("This phone number is too long.")})
    return value


def _check_in_scope(actor: User, *, projects: Iterable[Project] = (),
                    companies: Iterable[Company] = ()) -> None:
    project_ids = {p.pk for p in projects}
    if project_ids:
        visible = set(Project.objects.visible_to(actor).filter(pk__in=project_ids)
                      .values_list("pk", flat=True))
        if visible != project_ids:
            raise ValidationError({"projects": _("You can only assign projects you can see.")})
    company_ids = {c.pk for c in companies}
    if company_ids:
        visible = set(Company.objects.visible_to(actor).filter(pk__in=company_ids)
                      .values_list("pk", flat=True))
        if visible != company_ids:
            raise ValidationError({"companies": _("You can only assign companies you can see.")})


def _validate_password(password: str, user: User, field: str) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from None


# --- users ----------------------------------------------------------------------------------
@transaction.atomic
def user_create(*, actor: User, username: str, password: str, display_name: str = "",
                phone: str = "", email: str = "", role: Role | None = None,
                team: Team | None = None, scope_level: str = "",
                companies: Iterable[Company] = (), projects: Iterable[Project] = ()) -> User:
    _require(actor, "manage_users")
    companies, projects = list(companies), list(projects)
    user = User(username=(username or "").strip(), display_name=(display_name or "").strip(),
                email=(email or "").strip(), role=role, team=team, scope_level=scope_level or "")
    user.set_unusable_password()
    errors: dict[str, list[str]] = {}
    for check in (lambda: setattr(user, "phone", _normalise_phone(phone)),
                  lambda: user.full_clean(exclude=["phone"]),
                  lambda: _validate_password(password, user, "password")):
        try:
            check()
        except ValidationError as error:  # every field's problem at once
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    _check_in_scope(actor, projects=projects, companies=companies)
    user.set_password(password)
    user.save()
    user.companies.set(companies)
    user.projects.set(projects)
    return user


@transaction.atomic
def user_update(*, actor: User, user: User, version: int, display_name: str, phone: str = "",
                email: str = "", team: Team | None = None) -> User:
    """Name and contact details; a user may edit their own, an admin anyone's.
    VersionConflict (nothing written) when someone saved the user since `version`."""
    if actor.pk != user.pk:
        _require(actor, "manage_users")
    candidate = User.objects.get(pk=user.pk)
    candidate.display_name = (display_name or "").strip()
    candidate.phone = _normalise_phone(phone)
    candidate.email = (email or "").strip()
    candidate.team = team
    candidate.full_clean(exclude=["password"])
    return update_versioned(User, pk=user.pk, expected_version=version, validate=False,
                            changes={"display_name": candidate.display_name,
                                     "phone": candidate.phone, "email": candidate.email,
                                     "team": team})


def _end_sessions(user: User) -> None:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    records = UserSession.objects.filter(user=user)
    for key in records.values_list("session_key", flat=True):
        store(session_key=key).delete()
    records.delete()


@transaction.atomic
def user_disable(*, actor: User, user: User) -> User:
    """Block the user: no login, every session ended, every API token revoked."""
    _require(actor, "manage_users")
    if actor.pk == user.pk:
        raise ValidationError({"is_active": _("You cannot disable your own account.")})
    User.objects.filter(pk=user.pk).update(is_active=False, version=F("version") + 1)
    _end_sessions(user)
    Token.objects.filter(user=user).delete()
    user.refresh_from_db()
    return user


@transaction.atomic
def user_enable(*, actor: User, user: User) -> User:
    _require(actor, "manage_users")
    User.objects.filter(pk=user.pk).update(is_active=True, version=F("version") + 1)
    user.refresh_from_db()
    return user


@transaction.atomic
def user_set_scope(*, actor: User, user: User, role: Role | None, scope_level: str,
                   companies: Iterable[Company], projects: Iterable[Project],
                   version: int | None = None) -> User:
    """Role, data-scope level (blank: the role's default), companies and projects."""
    _require(actor, "manage_users")
    companies, projects = list(companies), list(projects)
    scope_level = scope_level or ""
    if scope_level and scope_level not in ScopeLevel.values:
        raise ValidationError({"scope_level": _("Choose a valid data scope.")})
    if actor.pk == user.pk and not actor.is_superuser and not (role and role.can_manage_users):
        raise ValidationError({"role": _("You cannot take away your own right to manage users.")})
    _check_in_scope(actor, projects=projects, companies=companies)
    user = update_versioned(User, pk=user.pk, validate=False,
                            expected_version=user.version if version is None else version,
                            changes={"role": role, "scope_level": scope_level})
    user.companies.set(companies)
    user.projects.set(projects)
    return user


@transaction.atomic
def password_change(*, actor: User, user: User, old_password: str, new_password: str) -> User:
    """A user changes their own password; other sessions end (Django's session hash) and
    API tokens are revoked."""
    if actor.pk != user.pk:
        raise PermissionDenied(_("You can only change your own password."))
    if not user.check_password(old_password or ""):
        raise ValidationError({"old_password": _("Your old password was entered incorrectly.")})
    _validate_password(new_password, user, "new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    Token.objects.filter(user=user).delete()
    return user


@transaction.atomic
def auth_token_issue(*, user: User) -> Token:
    if not user.is_active:
        raise PermissionDenied(_("This account is disabled."))
    token, _created = Token.objects.get_or_create(user=user)
    return token


# --- organisation ---------------------------------------------------------------------------
@transaction.atomic
def company_create(*, actor: User, name: str, code: str) -> Company:
    _require(actor, "edit_organisation")
    company = Company(name=(name or "").strip(), code=(code or "").strip())
    company.full_clean()
    company.save()
    return company


@transaction.atomic
def team_create(*, actor: User, name: str, project: Project | None = None,
                leader: User | None = None) -> Team:
    _require(actor, "edit_organisation", "manage_users")
    if project is not None:
        _check_in_scope(actor, projects=[project])
    team = Team(name=(name or "").strip(), project=project, leader=leader)
    team.full_clean()
    team.save()
    return team


@transaction.atomic
def project_create(*, actor: User, company: Company, name: str, code: str, city: str = "",
                   district: str = "", address: str = "") -> Project:
    _require(actor, "edit_organisation")
    _check_in_scope(actor, companies=[company])
    project = Project(company=company, name=(name or "").strip(), code=(code or "").strip(),
                      city=(city or "").strip(), district=(district or "").strip(),
                      address=(address or "").strip())
    project.full_clean()
    project.save()
    return project


PROJECT_EDITABLE_FIELDS = ("name", "city", "district", "address", "is_active")


@transaction.atomic
def project_update(*, actor: User, project: Project, version: int, **changes: Any) -> Project:
    """Change a project's name, city, district, address or active flag, only if nobody saved
    it since `version` was read (VersionConflict otherwise, and nothing is written)."""
    _require(actor, "edit_organisation")
    if not Project.objects.visible_to(actor).filter(pk=project.pk).exists():
        raise PermissionDenied(_("You are not allowed to do this."))
    unknown = set(changes) - set(PROJECT_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    candidate = Project.objects.get(pk=project.pk)
    for name, value in changes.items():
        setattr(candidate, name, value.strip() if isinstance(value, str) else value)
    candidate.full_clean()  # every field: a changed name must stay unique in its company
    return update_versioned(Project, pk=project.pk, expected_version=version, validate=False,
                            changes={name: getattr(candidate, name) for name in changes})
