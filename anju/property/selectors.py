"""Every non-trivial read of the property app, scoped to the viewer."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

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


# --- the sales-control board ----------------------------------------------------------------

BOARD_COLUMNS = ("id", "floor", "position", "number", "label", "status", "list_price",
                 "built_area", "revision", "unit_type_id", "unit_type__name",
                 "unit_type__rooms", "unit_type__halls", "unit_type__bathrooms")


class BoardUnit:
    """What the board needs of a unit, read as plain values (320 model instances with their
    unit types cost more than the query)."""

    __slots__ = ("built_area", "floor", "id", "label", "list_price", "number", "position",
                 "revision", "status", "type_baths", "type_halls", "type_rooms",
                 "unit_type_id", "unit_type_name")

    def __init__(self, row: tuple) -> None:
        (self.id, self.floor, self.position, self.number, self.label, self.status,
         self.list_price, self.built_area, self.revision, self.unit_type_id,
         self.unit_type_name, self.type_rooms, self.type_halls, self.type_baths) = row

    @property
    def pk(self) -> int:
        return self.id
STATUS_ORDER = [s.value for s in Unit.Status]
WAN, FEN, ONE = Decimal("10000"), Decimal("0.01"), Decimal("1")


@dataclass
class BoardFilters:
    unit_type: int | None = None
    statuses: frozenset[str] = frozenset()
    price_min: Decimal | None = None  # yuan
    price_max: Decimal | None = None

    @property
    def active(self) -> bool:
        return bool(self.unit_type or self.statuses or self.price_min is not None
                    or self.price_max is not None)

    def matches(self, unit: "Unit | BoardUnit") -> bool:
        if self.unit_type and unit.unit_type_id != self.unit_type:
            return False
        if self.statuses and unit.status not in self.statuses:
            return False
        if self.price_min is not None and unit.list_price < self.price_min:
            return False
        return not (self.price_max is not None and unit.list_price > self.price_max)


@dataclass
class BoardCell:
    unit: BoardUnit
    matches: bool = True
    title: str = ""


class _Titles:
    """Hover text of the cells: "3-1201 · A户型 3室2厅2卫 · 98.50 m² · 128.50万元 · …".
    Translated labels and unit-type texts are looked up once per board, not per cell."""

    def __init__(self) -> None:
        self.status = {s.value: str(s.label) for s in Unit.Status}
        self.types: dict[int, str] = {}
        self.area = _("%(area)s m²")
        self.per_m2 = _("%(price)s yuan/m²")
        self.layout = _("%(rooms)s bd %(halls)s lr %(baths)s ba")

    def __call__(self, unit: BoardUnit) -> str:
        parts = [unit.label]
        if unit.unit_type_id:
            text = self.types.get(unit.unit_type_id)
            if text is None:
                text = self.types[unit.unit_type_id] = unit.unit_type_name + " " + (
                    self.layout % {"rooms": unit.type_rooms, "halls": unit.type_halls,
                                   "baths": unit.type_baths})
            parts.append(text)
        parts.append(self.area % {"area": unit.built_area})
        parts.append(f"{(unit.list_price / WAN).quantize(FEN, ROUND_HALF_UP):,}万元")
        if unit.built_area:
            per_m2 = (unit.list_price / unit.built_area).quantize(ONE, ROUND_HALF_UP)
            parts.append(self.per_m2 % {"price": f"{per_m2:,}"})
        parts.append(self.status.get(unit.status, unit.status))
        return " · ".join(parts)


@dataclass
class Board:
    building: Building
    floors: list[tuple[int, list[BoardCell | None]]]
    counts: list[tuple[str, str, int]]  # status, label, count
    total: int
    revision: int
    unit_types: list[tuple[int, str]] = field(default_factory=list)
    filters: BoardFilters = field(default_factory=BoardFilters)
    positions: int = 0


def board_building(*, user: Any, building_id: int) -> Building:
    """The building if the viewer may see it (with its project); DoesNotExist otherwise."""
    return Building.objects.visible_to(user).select_related("project").get(pk=building_id)


def _board_units(building_id: int, since: int | None = None) -> list[BoardUnit]:
    qs = Unit.objects.filter(building_id=building_id)
    if since is not None:
        qs = qs.filter(revision__gt=since)
    return [BoardUnit(row) for row in qs.order_by("-floor", "position")
            .values_list(*BOARD_COLUMNS)]


def status_counts(units: list[BoardUnit]) -> list[tuple[str, str, int]]:
    counted = Counter(u.status for u in units)
    return [(s.value, str(s.label), counted.get(s.value, 0)) for s in Unit.Status]


def board_for(*, building: Building, filters: BoardFilters | None = None) -> Board:
    """Every unit of the building in one query, laid out floor by floor (top floor first),
    with the counts per status and the unit types present (for the filter)."""
    filters = filters or BoardFilters()
    units = _board_units(building.pk)
    rows: dict[int, dict[int, BoardCell]] = defaultdict(dict)
    positions = building.units_per_floor
    types: dict[int, str] = {}
    title = _Titles()
    for unit in units:
        rows[unit.floor][unit.position] = BoardCell(unit, filters.matches(unit), title(unit))
        positions = max(positions, unit.position)
        if unit.unit_type_id:
            types[unit.unit_type_id] = unit.unit_type_name
    floors = [(floor, [cells.get(p) for p in range(1, positions + 1)])
              for floor, cells in sorted(rows.items(), reverse=True)]
    return Board(building=building, floors=floors, counts=status_counts(units),
                 total=len(units), revision=building.revision,
                 unit_types=sorted(types.items(), key=lambda item: item[1]), filters=filters,
                 positions=positions)


def board_changes(*, building: Building, since: int,
                  filters: BoardFilters | None = None) -> tuple[list[BoardCell],
                                                                list[tuple[str, str, int]]]:
    """The cells changed since revision `since`, and the building's fresh status counts."""
    filters = filters or BoardFilters()
    title = _Titles()
    changed = [BoardCell(u, filters.matches(u), title(u)) for u in _board_units(building.pk,
                                                                                 since)]
    counts = Counter(dict(Unit.objects.filter(building_id=building.pk).order_by()
                          .values_list("status").annotate(n=Count("id"))))
    return changed, [(s.value, str(s.label), counts.get(s.value, 0)) for s in Unit.Status]


def unit_counts_by_building(building_ids: list[int]) -> dict[int, dict[str, int]]:
    """{building id: {status: units}} for these buildings, in one query."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if building_ids:
        for building_id, status, n in (Unit.objects.filter(building_id__in=building_ids)
                                       .order_by().values_list("building_id", "status")
                                       .annotate(n=Count("id"))):
            counts[building_id][status] = n
    return counts


@dataclass
class BuildingRow:
    building: Building
    counts: list[tuple[str, str, int]]
    total: int


def building_list(*, user: Any, project_id: int | None = None) -> list[tuple[Any,
                                                                           list[BuildingRow]]]:
    """The viewer's buildings grouped by project, each with its units counted by status
    (two queries whatever the number of buildings)."""
    buildings = building_visible_to(user).select_related("project").order_by(
        "project__name", "code")
    if project_id:
        buildings = buildings.filter(project_id=project_id)
    buildings = list(buildings)
    counts = unit_counts_by_building([b.pk for b in buildings])
    groups: dict[int, tuple[Any, list[BuildingRow]]] = {}
    for building in buildings:
        counted = counts.get(building.pk, {})
        row = BuildingRow(building=building,
                          counts=[(s.value, str(s.label), counted.get(s.value, 0))
                                  for s in Unit.Status],
                          total=sum(counted.values()))
        groups.setdefault(building.project_id, (building.project, []))[1].append(row)
    return list(groups.values())


def unit_detail(*, user: Any, unit_id: int) -> Unit:
    return (unit_visible_to(user).select_related("building__project", "unit_type")
            .get(pk=unit_id))


def may_see_floor_price(user: Any) -> bool:
    """The floor price (底价) is for sales control and deal approvers only."""
    return bool(getattr(user, "is_authenticated", False)) and (
        user.may("control_sales") or user.may("approve_deals"))
