"""Matching units to a customer's needs: the available units the viewer may see, ranked by
how well they fit the budget (万元), the area range, the rooms and the districts, each with
the reasons. One query whatever the number of units: the database narrows to the units in
reach (price at most 10 % over the budget, area within 15 % of the range), ordered by price,
at most CANDIDATES of them; the ranking happens here."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from anju.core.money import format_wan, to_wan
from anju.property.models import Unit

CANDIDATES = 500
BUDGET_SLACK = Decimal("1.10")  # a unit up to 10 % over the budget is still shown
AREA_SLACK = Decimal("0.15")
WAN = Decimal(10000)
WEIGHTS = {"budget": 40, "area": 25, "rooms": 20, "district": 15}


@dataclass
class Reason:
    kind: str  # budget, area, rooms, district
    fit: str  # good, near, miss
    text: str


@dataclass
class UnitMatch:
    unit: Unit
    score: int  # 0–100, share of the stated criteria met
    reasons: list[Reason] = field(default_factory=list)

    @property
    def price_wan(self) -> str:
        return format_wan(self.unit.list_price)


@dataclass(frozen=True)
class Needs:
    """What matching reads of a customer's needs (`customers.CustomerNeed`)."""

    budget_min_wan: Decimal | None = None
    budget_max_wan: Decimal | None = None
    area_min: Decimal | None = None
    area_max: Decimal | None = None
    rooms: tuple[int, ...] = ()
    districts: tuple[str, ...] = ()

    @classmethod
    def from_need(cls, need: Any) -> "Needs":
        rooms = []
        for value in getattr(need, "rooms", None) or []:
            digits = "".join(ch for ch in str(value) if ch.isdigit())
            if digits:
                rooms.append(int(digits))
        return cls(budget_min_wan=need.budget_min_wan, budget_max_wan=need.budget_max_wan,
                   area_min=need.area_min, area_max=need.area_max, rooms=tuple(sorted(rooms)),
                   districts=tuple(str(d).strip() for d in (need.districts or []) if str(d)))

    @property
    def is_empty(self) -> bool:
        return not any((self.budget_min_wan, self.budget_max_wan, self.area_min, self.area_max,
                        self.rooms, self.districts))


def candidate_units(*, viewer: Any, needs: Needs, project_id: int | None = None):
    rows = (Unit.objects.visible_to(viewer).filter(status=Unit.Status.AVAILABLE)
            .select_related("unit_type", "building__project"))
    if project_id is not None:
        rows = rows.filter(building__project_id=project_id)
    if needs.budget_max_wan is not None:
        rows = rows.filter(list_price__lte=needs.budget_max_wan * WAN * BUDGET_SLACK)
    if needs.area_min is not None:
        rows = rows.filter(built_area__gte=needs.area_min * (1 - AREA_SLACK))
    if needs.area_max is not None:
        rows = rows.filter(built_area__lte=needs.area_max * (1 + AREA_SLACK))
    if needs.rooms:
        rows = rows.filter(unit_type__rooms__in=needs.rooms) | rows.filter(
            unit_type__isnull=True)
    return rows.order_by("-list_price", "id")[:CANDIDATES]


def _budget(needs: Needs, unit: Unit) -> tuple[int, Reason] | None:
    low, high = needs.budget_min_wan, needs.budget_max_wan
    if low is None and high is None:
        return None
    price = to_wan(unit.list_price)
    shown = format_wan(unit.list_price)
    if high is not None and price > high:
        return WEIGHTS["budget"] // 2, Reason("budget", "near", _(
            "%(price)s, slightly over the budget of %(high)s万元") % {"price": shown,
                                                                       "high": high})
    if low is not None and price < low:
        return WEIGHTS["budget"] * 3 // 4, Reason("budget", "near", _(
            "%(price)s, below the budget") % {"price": shown})
    return WEIGHTS["budget"], Reason("budget", "good", _("%(price)s, within the budget")
                                     % {"price": shown})


def _area(needs: Needs, unit: Unit) -> tuple[int, Reason] | None:
    low, high = needs.area_min, needs.area_max
    if low is None and high is None:
        return None
    area = unit.built_area
    inside = (low is None or area >= low) and (high is None or area <= high)
    if inside:
        return WEIGHTS["area"], Reason("area", "good", _("%(area)s m², within the range")
                                       % {"area": area})
    return WEIGHTS["area"] // 2, Reason("area", "near", _("%(area)s m², close to the range")
                                        % {"area": area})


def _rooms(needs: Needs, unit: Unit) -> tuple[int, Reason] | None:
    if not needs.rooms:
        return None
    rooms = unit.unit_type.rooms if unit.unit_type_id else None
    if rooms in needs.rooms:
        return WEIGHTS["rooms"], Reason("rooms", "good", _("%(rooms)d bedrooms, as wanted")
                                        % {"rooms": rooms})
    return 0, Reason("rooms", "miss", _("bedrooms unknown") if rooms is None else
                     _("%(rooms)d bedrooms") % {"rooms": rooms})


def _district(needs: Needs, unit: Unit) -> tuple[int, Reason] | None:
    if not needs.districts:
        return None
    project = unit.building.project
    district = (project.district or "").strip()
    if district and any(d in district or district in d for d in needs.districts):
        return WEIGHTS["district"], Reason("district", "good", _("in %(district)s, as wanted")
                                           % {"district": district})
    return 0, Reason("district", "miss", _("in %(district)s") % {
        "district": district or project.city or project.name})


def rank(needs: Needs, units) -> list[UnitMatch]:
    """Each unit scored against the needs, best first (then nearer the budget's middle)."""
    matches = []
    middle = None
    if needs.budget_min_wan is not None and needs.budget_max_wan is not None:
        middle = (needs.budget_min_wan + needs.budget_max_wan) / 2 * WAN
    elif needs.budget_max_wan is not None:
        middle = needs.budget_max_wan * WAN
    for unit in units:
        points = stated = 0
        reasons = []
        for kind, check in (("budget", _budget), ("area", _area), ("rooms", _rooms),
                            ("district", _district)):
            result = check(needs, unit)
            if result is None:
                continue
            stated += WEIGHTS[kind]
            points += result[0]
            reasons.append(result[1])
        score = round(100 * points / stated) if stated else 0
        matches.append(UnitMatch(unit=unit, score=score, reasons=reasons))
    matches.sort(key=lambda m: (-m.score,
                                abs(m.unit.list_price - middle) if middle is not None else 0,
                                m.unit.pk))
    return matches


def match_units(*, viewer: Any, need: Any, project_id: int | None = None,
                limit: int = 10) -> list[UnitMatch]:
    """The best `limit` available units for a customer's need (a `CustomerNeed` or `Needs`);
    [] when no need is recorded."""
    if need is None:
        return []
    needs = need if isinstance(need, Needs) else Needs.from_need(need)
    if needs.is_empty:
        return []
    return rank(needs, candidate_units(viewer=viewer, needs=needs,
                                       project_id=project_id))[:limit]
