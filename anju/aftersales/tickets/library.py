"""The problem library's rules: warranty from the handover date, the readable title, the
defaults a new company starts with."""

import datetime as dt

from django.db.models import Q

from anju.aftersales.models import (
    Component,
    Location,
    ProblemCategory,
    ProblemDescription,
    Ticket,
    TicketPayer,
    TicketType,
    WarrantyPeriod,
)

from .calendar import SHANGHAI

SEPARATOR = " – "
# Default warranty periods (years) by component name: the 《建设工程质量管理条例》 minimums
# most developers adopt. A company changes them on the library pages.
DEFAULT_WARRANTY = {"防水": 5, "管道": 2, "电线": 2, "装修": 2}


def warranty_for(component: Component | None) -> WarrantyPeriod | None:
    """The component's warranty period, or its nearest ancestor's (one query per level; the
    tree is a few levels deep)."""
    seen: set[int] = set()
    while component is not None and component.pk not in seen:
        seen.add(component.pk)
        period = WarrantyPeriod.objects.filter(component_id=component.pk).first()
        if period is not None:
            return period
        component = (Component.objects.filter(pk=component.parent_id).first()
                     if component.parent_id else None)
    return None


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def handover_date_of_unit(unit_id: int | None) -> dt.date | None:
    """The date the unit was handed over: its delivered deal's `delivered_at`."""
    if not unit_id:
        return None
    from anju.sales.models import Deal, DealStatus

    delivered = (Deal.objects.filter(unit_id=unit_id, status=DealStatus.DELIVERED,
                                     delivered_at__isnull=False)
                 .order_by("-delivered_at").values_list("delivered_at", flat=True).first())
    return delivered.astimezone(SHANGHAI).date() if delivered else None


def warranty_verdict(*, component: Component | None, unit_id: int | None,
                     ticket_type: str, on: dt.date) -> dict:
    """Whether the unit's component is still under warranty on `on`, and who pays."""
    verdict = {"handover_date": None, "warranty_years": None, "warranty_until": None,
               "in_warranty": None, "payer": ""}
    if ticket_type not in (TicketType.REPAIR, TicketType.SELF_INSPECTION):
        return verdict
    if ticket_type == TicketType.SELF_INSPECTION:
        # found by the developer's own inspection (often before handover): the developer pays
        verdict["payer"] = TicketPayer.DEVELOPER
    period = warranty_for(component)
    handed = handover_date_of_unit(unit_id)
    verdict["handover_date"] = handed
    if period is not None:
        verdict["warranty_years"] = period.years
    if handed is None:
        if unit_id and ticket_type == TicketType.REPAIR:
            verdict["in_warranty"] = True  # not handed over yet: the developer's problem
            verdict["payer"] = TicketPayer.DEVELOPER
        return verdict
    if period is None:
        return verdict
    until = add_years(handed, period.years)
    verdict["warranty_until"] = until
    verdict["in_warranty"] = on <= until
    if not verdict["payer"]:
        verdict["payer"] = TicketPayer.DEVELOPER if on <= until else TicketPayer.OWNER
    return verdict


def ticket_title(*, project_name: str, unit_label: str = "", building_name: str = "",
                 public_area: str = "", location: Location | None = None,
                 component: Component | None = None, category: ProblemCategory | None = None,
                 description: str = "") -> str:
    """`四季花城 米兰苑 301 – 卫生间 – 天花 – 渗漏 – 下水管周围渗漏`."""
    place = " ".join(part for part in (project_name, building_name,
                                       unit_label or public_area) if part)
    short = description.strip().splitlines()[0][:60] if description.strip() else ""
    parts = [place, *(str(p) for p in (location, component, category) if p), short]
    return SEPARATOR.join(part for part in parts if part)[:300]


def components_for_location(*, company_id: int, location_id: int | None):
    """Leaf components usable at a location (those bound to it, or to no location)."""
    leaves = Component.objects.filter(company_id=company_id, active=True,
                                      children__isnull=True)
    if location_id:
        leaves = leaves.filter(Q(locations__id=location_id) | Q(locations__isnull=True))
    return leaves.distinct().order_by("order", "name")


def descriptions_for(*, category_id: int, component_id: int | None = None):
    rows = ProblemDescription.objects.filter(category_id=category_id)
    if component_id:
        rows = rows.filter(Q(component_id=component_id) | Q(component__isnull=True))
    return rows.order_by("-uses", "text")


def component_path(component: Component) -> list[Component]:
    path = [component]
    while path[-1].parent_id and len(path) < 10:
        path.append(path[-1].parent)
    return list(reversed(path))


def unit_ticket_history_count(*, unit_id: int, component_id: int) -> int:
    return Ticket.objects.filter(unit_id=unit_id, component_id=component_id).count()
