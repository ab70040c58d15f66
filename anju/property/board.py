"""What higher apps add to the sales-control board's side panel.

`unit_actions` lists the buttons shown in a unit's side panel. The sales app registers
"Hold for a customer" / "Reserve for a customer" in its `registrations.py`::

    from anju.property.board import UnitAction, unit_actions

    unit_actions.register(UnitAction(
        key="sales.hold", label=_("Hold for a customer"), url_name="sales:unit_hold",
        order=100, visible=lambda user, unit: unit.status == "available"))

The panel links each visible action to `reverse(url_name, args=[unit.pk])` and loads it
with htmx into the panel (the view answers a fragment, or a full page without htmx)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse

from anju.core.registry import Registry


def _always(user: Any, unit: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


@dataclass(frozen=True)
class UnitAction:
    """One button of a unit's side panel; `visible(user, unit)` decides if it shows."""

    key: str
    label: Any  # str or lazy translation
    url_name: str
    order: int = 100
    visible: Callable[[Any, Any], bool] = _always

    def is_visible(self, user: Any) -> bool:
        # The registry's per-user filter; the unit-aware test is `visible_for`.
        return bool(getattr(user, "is_authenticated", False))

    def visible_for(self, user: Any, unit: Any) -> bool:
        return bool(self.visible(user, unit))

    def url(self, unit: Any) -> str:
        """The action's address for `unit`; '' when the named URL is not installed."""
        try:
            return reverse(self.url_name, args=[unit.pk])
        except NoReverseMatch:
            return ""


@dataclass(frozen=True)
class BoundAction:
    key: str
    label: Any
    url: str


unit_actions: Registry[UnitAction] = Registry("unit_actions")


def actions_for(user: Any, unit: Any) -> list[BoundAction]:
    """The actions `user` may take on `unit`, in order, with their addresses."""
    result = []
    for action in unit_actions.all():
        if not action.visible_for(user, unit):
            continue
        url = action.url(unit)
        if url:
            result.append(BoundAction(key=action.key, label=action.label, url=url))
    return result
