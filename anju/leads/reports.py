"""Lead reports: leads, valid rate, first-response time, visit rate, conversion rate, cost
per lead and per deal, by channel, agency, project or consultant, and over time.

A "deal" here is a converted lead (the contract lives in sales, above this app). Costs are
the channel costs overlapping the period, prorated by days; an agency's cost is the
commission owed for deals signed in the period. All counts come from two grouped queries on
the viewer's scoped leads, whatever the number of rows."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.models import User

from .models import AgencyCommission, ChannelCost, Lead

DIMENSIONS = {
    "channel": ("channel_id", "channel__name"),
    "project": ("project_id", "project__name"),
    "consultant": ("assigned_to_id", "assigned_to__display_name"),
    "agency": ("registration__agency_id", "registration__agency__name"),
}


@dataclass
class ReportRow:
    key: int | None
    label: str
    leads: int = 0
    valid: int = 0
    visited: int = 0
    converted: int = 0
    avg_first_response_minutes: float | None = None
    cost: Decimal = Decimal(0)

    @property
    def valid_rate(self) -> float:
        return round(self.valid / self.leads, 4) if self.leads else 0.0

    @property
    def visit_rate(self) -> float:
        return round(self.visited / self.leads, 4) if self.leads else 0.0

    @property
    def conversion_rate(self) -> float:
        return round(self.converted / self.leads, 4) if self.leads else 0.0

    @property
    def cost_per_lead(self) -> Decimal | None:
        return (self.cost / self.leads).quantize(Decimal("0.01")) if self.leads and self.cost \
            else None

    @property
    def cost_per_deal(self) -> Decimal | None:
        return (self.cost / self.converted).quantize(Decimal("0.01")) \
            if self.converted and self.cost else None

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "leads": self.leads,
                "valid": self.valid, "valid_rate": self.valid_rate, "visited": self.visited,
                "visit_rate": self.visit_rate, "converted": self.converted,
                "conversion_rate": self.conversion_rate,
                "avg_first_response_minutes": self.avg_first_response_minutes,
                "cost": str(self.cost),
                "cost_per_lead": str(self.cost_per_lead) if self.cost_per_lead else None,
                "cost_per_deal": str(self.cost_per_deal) if self.cost_per_deal else None}


@dataclass
class Report:
    dimension: str
    date_from: datetime.date
    date_to: datetime.date
    rows: list[ReportRow]
    total: ReportRow
    days: list[dict] = field(default_factory=list)


def _bounds(date_from: datetime.date, date_to: datetime.date):
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min,
                                    tzinfo=zone)
    return start, end


def _prorated(cost: ChannelCost, date_from: datetime.date, date_to: datetime.date) -> Decimal:
    first, last = max(cost.period_start, date_from), min(cost.period_end, date_to)
    if last < first:
        return Decimal(0)
    days = (cost.period_end - cost.period_start).days + 1
    return (cost.amount * ((last - first).days + 1) / days).quantize(Decimal("0.01"))


def lead_report(*, user: User, dimension: str, date_from: datetime.date,
                date_to: datetime.date, project_id: int | None = None) -> Report:
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    key_field, label_field = DIMENSIONS[dimension]
    start, end = _bounds(date_from, date_to)
    leads = Lead.objects.visible_to(user).filter(created_at__gte=start, created_at__lt=end)
    if project_id:
        leads = leads.filter(project_id=project_id)
    metrics = dict(
        leads=Count("id"), valid=Count("id", filter=~Q(status=Lead.Status.INVALID)),
        visited=Count("id", filter=Q(visits__gt=0) | Q(status__in=["visited", "converted"])),
        converted=Count("id", filter=Q(status=Lead.Status.CONVERTED)),
        response=Avg("first_response_seconds"))
    grouped = (leads.order_by().values(key_field, label_field).annotate(**metrics)
               .order_by(key_field))
    rows: dict = {}
    for item in grouped:
        key = item[key_field]
        label = item[label_field] or (_("none") if key is None else str(key))
        rows[key] = ReportRow(
            key=key, label=label, leads=item["leads"], valid=item["valid"],
            visited=item["visited"], converted=item["converted"],
            avg_first_response_minutes=round(item["response"] / 60, 1)
            if item["response"] is not None else None)
    if dimension in ("channel", "project"):
        costs = ChannelCost.objects.visible_to(user).filter(period_start__lte=date_to,
                                                             period_end__gte=date_from)
        if project_id:
            costs = costs.filter(project_id=project_id)
        for cost in costs.select_related("channel", "project"):
            key = cost.channel_id if dimension == "channel" else cost.project_id
            label = cost.channel.name if dimension == "channel" else cost.project.name
            row = rows.setdefault(key, ReportRow(key=key, label=label))
            row.cost += _prorated(cost, date_from, date_to)
    elif dimension == "agency":
        owed = (AgencyCommission.objects.visible_to(user)
                .filter(signed_at__gte=start, signed_at__lt=end).order_by()
                .values("agency_id", "agency__name").annotate(total=Sum("amount")))
        for item in owed:
            row = rows.setdefault(item["agency_id"], ReportRow(key=item["agency_id"],
                                                               label=item["agency__name"]))
            row.cost += item["total"] or 0
    ordered = sorted(rows.values(), key=lambda row: (-row.leads, row.label))
    total = ReportRow(key=None, label=_("total"))
    response_sum, response_n = 0.0, 0
    for row in ordered:
        total.leads += row.leads
        total.valid += row.valid
        total.visited += row.visited
        total.converted += row.converted
        total.cost += row.cost
        if row.avg_first_response_minutes is not None:
            response_sum += row.avg_first_response_minutes * row.leads
            response_n += row.leads
    total.avg_first_response_minutes = round(response_sum / response_n, 1) if response_n \
        else None
    zone = ZoneInfo(settings.TIME_ZONE)
    days = [{"day": item["day"].isoformat(), "leads": item["leads"],
             "valid": item["valid"], "visited": item["visited"],
             "converted": item["converted"]}
            for item in leads.annotate(day=TruncDate("created_at", tzinfo=zone)).order_by()
            .values("day").annotate(**{k: v for k, v in metrics.items() if k != "response"})
            .order_by("day")]
    return Report(dimension=dimension, date_from=date_from, date_to=date_to, rows=ordered,
                  total=total, days=days)


def chart_option(report: Report) -> dict:
    """An ECharts option: leads and conversions per group (bars), rates (line), and the
    days below (the page's script lays out two grids)."""
    labels = [row.label for row in report.rows]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [_("leads"), _("valid"), _("visited"), _("converted"),
                            _("conversion rate")]},
        "grid": [{"left": 50, "right": 50, "top": 40, "height": "35%"},
                 {"left": 50, "right": 50, "top": "60%", "height": "30%"}],
        "xAxis": [{"type": "category", "data": labels, "gridIndex": 0},
                  {"type": "category", "data": [d["day"] for d in report.days],
                   "gridIndex": 1}],
        "yAxis": [{"type": "value", "gridIndex": 0},
                  {"type": "value", "gridIndex": 0, "max": 1,
                   "axisLabel": {"formatter": "{value}"}},
                  {"type": "value", "gridIndex": 1}],
        "series": [
            {"name": _("leads"), "type": "bar", "data": [r.leads for r in report.rows]},
            {"name": _("valid"), "type": "bar", "data": [r.valid for r in report.rows]},
            {"name": _("visited"), "type": "bar", "data": [r.visited for r in report.rows]},
            {"name": _("converted"), "type": "bar",
             "data": [r.converted for r in report.rows]},
            {"name": _("conversion rate"), "type": "line", "yAxisIndex": 1,
             "data": [r.conversion_rate for r in report.rows]},
            {"name": _("leads"), "type": "line", "xAxisIndex": 1, "yAxisIndex": 2,
             "data": [d["leads"] for d in report.days]},
        ],
    }
