"""`shell`: what every page's frame needs (who is signed in, the menu, the inbox badge).

Everything is computed lazily, on first use in a template, and at most once per request."""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from anju.accounts.models import Company, Project, ScopeLevel
from anju.core.notifications.selectors import unread_count
from anju.core.registry import MenuEntry, menu


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


NAMES_SECONDS = 300


def _names(model: type[Company] | type[Project], ids: Iterable[int]) -> list[str]:
    """Names of companies or projects by id, in id order, kept five minutes (a renamed
    project shows under its new name in the page frame within that time)."""
    ordered = sorted(ids)
    if not ordered:
        return []
    key = f"web:names:{model._meta.label_lower}:{','.join(map(str, ordered))}"
    names = cache.get(key)
    if names is None:
        names = list(model.objects.filter(pk__in=ordered).order_by("pk")
                     .values_list("name", flat=True))
        cache.set(key, names, NAMES_SECONDS)
    return names


@dataclass
class MenuGroup:
    label: str
    entries: list[dict]


class Shell:
    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.user = getattr(request, "user", None)

    @property
    def signed_in(self) -> bool:
        return bool(self.user is not None and self.user.is_authenticated)

    @cached_property
    def name(self) -> str:
        if not self.signed_in:
            return ""
        return self.user.display_name or self.user.get_full_name() or self.user.username

    @cached_property
    def role(self) -> str:
        role = getattr(self.user, "role", None) if self.signed_in else None
        return str(role.get_code_display()) if role else ""

    @cached_property
    def scope(self) -> str:
        """The data the user works on: their projects or companies, else the scope's name."""
        if not self.signed_in:
            return ""
        level = self.user.scope_level_in_force
        if level == ScopeLevel.ALL:
            return _("All companies")
        # the ids come with the data scope the page has read anyway; the names are kept
        scope = self.user.data_scope()
        if level == ScopeLevel.COMPANY:
            names = _names(Company, scope.company_ids)
        else:
            names = _names(Project, scope.project_ids)
        return ", ".join(names) if names else str(ScopeLevel(level).label)

    @cached_property
    def identity(self) -> str:
        """「张伟 · 置业顾问 · 四季花城, 滨江壹号」"""
        return " · ".join(part for part in (self.name, self.role, self.scope) if part)

    @cached_property
    def unread(self) -> int:
        return unread_count(user=self.user) if self.signed_in else 0

    @cached_property
    def menu(self) -> list[MenuGroup]:
        if not self.signed_in:
            return []
        path = self.request.path
        groups: dict[str, MenuGroup] = {}
        for entry in menu.for_user(self.user):
            url = entry.url
            if not url:
                continue
            label = str(entry.group or "")
            group = groups.setdefault(label, MenuGroup(label=label, entries=[]))
            group.entries.append(self._item(entry, url, path))
        return list(groups.values())

    @staticmethod
    def _item(entry: MenuEntry, url: str, path: str) -> dict:
        active = path == url if url == "/" else path.startswith(url)
        return {"key": entry.key, "label": str(entry.label), "url": url, "icon": entry.icon,
                "active": active}

    @cached_property
    def urls(self) -> dict[str, str]:
        return {
            "home": _url("web:home"),
            "inbox": _url("core:inbox"),
            "login": _url("accounts:login"),
            "logout": _url("accounts:logout"),
            "me": _url("accounts:me"),
            "password_change": _url("accounts:password_change"),
            "set_language": _url("set_language"),
        }


def shell(request: HttpRequest) -> dict[str, Any]:
    return {"shell": Shell(request)}
