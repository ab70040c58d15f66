"""Every non-trivial read of the property app, scoped to the viewer."""

from typing import Any

from django.db.models import QuerySet

from .models import Building, Unit, UnitStatusChange, UnitType


def unit_visible_to(user: Any) -> QuerySet[Unit]:
    """The units `user` may see (by project scope)."""
    return Unit.objects.visible_to(user)


def building_visible_to(user: Any) -> QuerySet[Building]:
    return Building.objects.visible_to(user)


def unit_type_visible_to(user: Any) -> QuerySet[UnitType]:
    return UnitType.objects.visible_to(user)


def unit_history(*, user: Any, unit_id: int, limit: int = 50) -> list[UnitStatusChange]:
    """A unit's moves, newest first (empty when the unit is out of the viewer's scope)."""
    return list(UnitStatusChange.objects.visible_to(user).filter(unit_id=unit_id)
                .select_related("actor").order_by("-id")[:limit])
