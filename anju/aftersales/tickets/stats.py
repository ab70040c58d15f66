"""Monthly ticket statistics for the quality report.

`stat_rows(tickets)` groups a set of tickets by project and by each dimension (total, type,
building, component, category) into plain dicts with the counts the report needs; the
nightly task writes the rows of finished months into `TicketStat` (`ticket_stats_rebuild`),
and the report sums stored months with the live rows of the current (or an unbuilt) month.
So a year's report reads a few thousand small rows instead of half a million tickets."""

import datetime as dt

from django.db import transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone

from anju.aftersales.models import Ticket, TicketStat, TicketStatMonth, TicketType

from .calendar import SHANGHAI

REPAIR_TYPES = (TicketType.REPAIR, TicketType.SELF_INSPECTION)
DIMENSIONS = {
    # dimension: (key field, label fields, only repairs?)
    "total": (None, [], False),
    "type": ("ticket_type", ["ticket_type"], False),
    "project": ("project_id", ["project__name"], False),
    "building": ("building_id", ["project__name", "building__name"], False),
    "component": ("component_id", ["component__parent__name", "component__name"], True),
    "category": ("category_id", ["category__name"], True),
}


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = month.replace(day=1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return (dt.datetime.combine(start, dt.time(0), SHANGHAI),
            dt.datetime.combine(end, dt.time(0), SHANGHAI))


def _seconds(value) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds())
    return int(value) // 1_000_000  # microseconds on databases without an interval type


GRAIN = ["project_id", "ticket_type", "building_id", "component_id", "category_id",
         "project__name", "building__name", "component__parent__name", "component__name",
         "category__name"]


def stat_rows(tickets) -> list[dict]:
    """One dict per (project, dimension, key) of the given tickets (merged and cancelled
    left out). One grouped query at the finest grain (project × type × building ×
    component × category), rolled up here: the tickets are read once, not once per
    dimension."""
    tickets = tickets.exclude(status__in=("merged", "cancelled")).order_by()
    measures = {
        "tickets": Count("id"),
        "repeats": Count("id", filter=Q(ticket_type__in=REPAIR_TYPES)
                         & (Q(repeat=True) | Q(round__gt=1))),
        "closed": Count("id", filter=Q(closed_at__isnull=False)),
        "close_time": Sum(ExpressionWrapper(F("closed_at") - F("created_at"),
                                            output_field=DurationField()),
                          filter=Q(closed_at__isnull=False)),
        "rated": Count("id", filter=Q(satisfaction__isnull=False)),
        "satisfaction_sum": Sum("satisfaction"),
    }
    out: dict[tuple, dict] = {}
    for g in tickets.values(*GRAIN).annotate(**measures).order_by():
        is_repair = g["ticket_type"] in REPAIR_TYPES
        counts = {"tickets": g["tickets"], "repairs": g["tickets"] if is_repair else 0,
                  "repeats": g["repeats"], "closed": g["closed"],
                  "close_seconds": _seconds(g["close_time"]), "rated": g["rated"],
                  "satisfaction_sum": g["satisfaction_sum"] or 0}
        for dimension, (key_field, label_fields, repairs_only) in DIMENSIONS.items():
            if repairs_only and not is_repair:
                continue
            if key_field in ("building_id", "component_id", "category_id") \
                    and g[key_field] is None:
                continue
            key = "" if key_field is None else str(g[key_field])
            entry = out.get((g["project_id"], dimension, key))
            if entry is None:
                entry = out[(g["project_id"], dimension, key)] = {
                    "project_id": g["project_id"], "dimension": dimension, "key": key,
                    "label": " ".join(str(g[f] or "—") for f in label_fields),
                    **dict.fromkeys(counts, 0)}
            for name, value in counts.items():
                entry[name] += value
    return list(out.values())


@transaction.atomic
def ticket_stats_rebuild(*, month: dt.date) -> int:
    """Writes the statistics of one month (all projects), replacing the old ones."""
    month = month.replace(day=1)
    since, until = month_bounds(month)
    rows = stat_rows(Ticket.objects.filter(created_at__gte=since, created_at__lt=until))
    TicketStat.objects.filter(month=month).delete()
    TicketStat.objects.bulk_create([TicketStat(month=month, **row) for row in rows],
                                   batch_size=2000)
    TicketStatMonth.objects.update_or_create(month=month,
                                             defaults={"built_at": timezone.now()})
    return len(rows)


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    months, month = [], start.replace(day=1)
    while month < end:
        months.append(month)
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def current_month() -> dt.date:
    return timezone.now().astimezone(SHANGHAI).date().replace(day=1)
