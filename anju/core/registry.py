"""Registries through which higher apps plug into pages drawn by lower ones.

The kernel and the web shell draw the navigation menu, the dashboard and a customer's 360°
page; the apps above them (leads, sales, aftersales, ...) contribute entries here, so no lower
app ever imports a higher one (ARCHITECTURE.md). An app registers in its `registrations.py`
module, which `autodiscover()` imports once at start-up (called by the web app's `ready()`)::

    from anju.core.registry import MenuEntry, menu

    menu.register(MenuEntry(key="sales.deals", label=_("Deals"), url_name="sales:deal_list",
                            icon="file-text", order=300, group=_("Sales")))

Entries are sorted by `(order, key)`, so the result never depends on import order; a key
registered twice raises `DuplicateKeyError` (two apps claiming one slot is a bug, not a
preference). `for_user(user)` keeps the entries whose `visible(user)` is true."""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from threading import RLock
from typing import Any, Protocol

from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import autodiscover_modules

from .scoping import Principal

Visible = Callable[[Any], bool]


def always(user: Any) -> bool:
    """The default `visible`: every signed-in user."""
    return bool(getattr(user, "is_authenticated", False))


def with_right(right: str) -> Visible:
    """A `visible` test for users holding one role right (see `Principal.may`)."""

    def test(user: Any) -> bool:
        return bool(getattr(user, "is_authenticated", False)) and user.may(right)

    test.__name__ = f"with_right_{right}"
    return test


class DuplicateKeyError(ValueError):
    """A second entry under a key that is already registered."""


class _Entry(Protocol):
    key: str
    order: int

    def is_visible(self, user: Any) -> bool: ...


@dataclass(frozen=True)
class MenuEntry:
    """One link in the navigation. `group` collects entries under a heading (lazy text)."""

    key: str
    label: Any  # str or lazy translation
    url_name: str
    icon: str = ""
    order: int = 100
    visible: Visible = always
    group: Any = ""
    url_kwargs: dict = field(default_factory=dict)

    def is_visible(self, user: Any) -> bool:
        return bool(self.visible(user))

    @property
    def url(self) -> str:
        """The entry's address; '' when the named URL is not installed (nothing breaks)."""
        try:
            return reverse(self.url_name, kwargs=self.url_kwargs or None)
        except NoReverseMatch:
            return ""


@dataclass(frozen=True)
class Tile:
    """One panel of the home dashboard.

    Either `template_name` (rendered with the request, `{"tile": tile}` and what
    `context(request) -> dict` returns) or `render` (a callable `(request) -> str` of safe
    HTML). With `data_url` set the shell
    draws an ECharts chart from the JSON at that URL (an ECharts `option` object);
    `data_url` is a URL name or path. `size` is "s", "m" or "l" (grid columns)."""

    key: str
    title: Any
    template_name: str = ""
    render: Callable[[Any], str] | None = None
    order: int = 100
    visible: Visible = always
    data_url: str | None = None
    size: str = "m"
    context: Callable[[Any], dict] | None = None

    def get_context(self, request: Any) -> dict:
        return {"tile": self, **(self.context(request) if self.context else {})}

    def is_visible(self, user: Any) -> bool:
        return bool(self.visible(user))

    @property
    def chart_url(self) -> str:
        if not self.data_url:
            return ""
        if self.data_url.startswith("/"):
            return self.data_url
        try:
            return reverse(self.data_url)
        except NoReverseMatch:
            return ""


@dataclass(frozen=True)
class Section:
    """One block of a customer's 360° page, contributed by the app that owns its data.

    `context(customer, viewer) -> dict` runs only when the section is shown, and must use the
    contributing app's scoped selectors (the viewer may see less than the customer has)."""

    key: str
    title: Any
    order: int = 100
    template_name: str = ""
    context: Callable[[Any, Any], dict] | None = None
    visible: Visible = always

    def __post_init__(self) -> None:
        # the key is a URL segment: the page loads each section from /sections/<key>/
        if not re.fullmatch(r"[-a-zA-Z0-9_]+", self.key):
            raise ValueError(f"section key {self.key!r} must be a slug (letters, digits, - _)")

    def is_visible(self, user: Any) -> bool:
        return bool(self.visible(user))

    def get_context(self, customer: Any, viewer: Any) -> dict:
        return dict(self.context(customer, viewer)) if self.context else {}


class Registry[E: _Entry]:
    """An ordered set of entries keyed by `entry.key`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: dict[str, E] = {}
        self._lock = RLock()

    def register(self, entry: E) -> E:
        with self._lock:
            if entry.key in self._entries:
                raise DuplicateKeyError(f"{self.name}: key {entry.key!r} is already registered")
            self._entries[entry.key] = entry
        return entry

    def unregister(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def get(self, key: str) -> E:
        return self._entries[key]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[E]:
        return iter(self.all())

    def all(self) -> list[E]:
        """Every entry, by (order, key): deterministic whatever the import order."""
        return sorted(self._entries.values(), key=lambda e: (e.order, e.key))

    def for_user(self, user: Principal | Any) -> list[E]:
        """The entries this user may see, in order."""
        return [entry for entry in self.all() if entry.is_visible(user)]


menu: Registry[MenuEntry] = Registry("menu")
dashboard: Registry[Tile] = Registry("dashboard")
customer_sections: Registry[Section] = Registry("customer_sections")

_discovered = False


def autodiscover() -> None:
    """Imports `registrations.py` of every installed app, once."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    autodiscover_modules("registrations")
