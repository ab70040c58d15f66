"""Quality feedback (质量反馈): what the tickets of a period say about design and
construction. Counts and shares by project, building, component and problem category; the
repeat-repair rate (a repair of a unit's component repaired before within a year, or a
ticket reopened); time to close; satisfaction. Exported monthly as xlsx and PDF.

Every figure is one grouped query over the viewer's tickets of the period (the
`ticket_project_created_idx` index bounds the range), so the page costs the same few queries
whatever the number of tickets."""

import datetime as dt
import io
from dataclasses import dataclass, field

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
)
from django.utils.translation import gettext as _

from anju.aftersales.models import TicketType

from .calendar import SHANGHAI
from .selectors import ticket_visible_to

TOP = 15


@dataclass
class Row:
    label: str
    count: int
    share: float = 0.0
    repeats: int = 0


@dataclass
class QualityReport:
    start: dt.date
    end: dt.date
    total: int = 0
    repairs: int = 0
    closed: int = 0
    repeat_repairs: int = 0
    hours_to_close: float | None = None
    satisfaction: float | None = None
    rated: int = 0
    by_type: list[Row] = field(default_factory=list)
    by_project: list[Row] = field(default_factory=list)
    by_building: list[Row] = field(default_factory=list)
    by_component: list[Row] = field(default_factory=list)
    by_category: list[Row] = field(default_factory=list)

    @property
    def repeat_rate(self) -> float:
        return round(100 * self.repeat_repairs / self.repairs, 1) if self.repairs else 0.0

    @property
    def close_rate(self) -> float:
        return round(100 * self.closed / self.total, 1) if self.total else 0.0


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime.combine(start, dt.time(0), SHANGHAI),
            dt.datetime.combine(end, dt.time(0), SHANGHAI))


def _rows(qs, label_fields: list[str], total: int, *, limit: int = TOP) -> list[Row]:
    grouped = (qs.values(*label_fields).annotate(n=Count("id")).order_by("-n")[:limit])
    return [Row(label=" ".join(str(g[f] or "—") for f in label_fields), count=g["n"],
                share=round(100 * g["n"] / total, 1) if total else 0.0) for g in grouped]


def quality_report(*, viewer, start: dt.date, end: dt.date,
                   project_id: int | None = None) -> QualityReport:
    """Tickets received in [start, end) in the viewer's scope (merged and cancelled ones
    left out)."""
    since, until = _bounds(start, end)
    base = (ticket_visible_to(viewer).filter(created_at__gte=since, created_at__lt=until)
            .exclude(status__in=("merged", "cancelled")))
    if project_id:
        base = base.filter(project_id=project_id)
    base = base.order_by()
    report = QualityReport(start=start, end=end)
    repairs = base.filter(ticket_type__in=(TicketType.REPAIR, TicketType.SELF_INSPECTION))
    totals = base.aggregate(
        total=Count("id"),
        closed=Count("id", filter=Q(closed_at__isnull=False)),
        rated=Count("id", filter=Q(satisfaction__isnull=False)),
        satisfaction=Avg("satisfaction"),
        to_close=Avg(ExpressionWrapper(F("closed_at") - F("created_at"),
                                       output_field=DurationField()),
                     filter=Q(closed_at__isnull=False)))
    report.total, report.closed, report.rated = totals["total"], totals["closed"], totals["rated"]
    report.satisfaction = (round(float(totals["satisfaction"]), 2)
                           if totals["satisfaction"] is not None else None)
    to_close = totals["to_close"]
    if to_close is not None:
        seconds = (to_close.total_seconds() if isinstance(to_close, dt.timedelta)
                   else float(to_close) / 1_000_000)
        report.hours_to_close = round(seconds / 3600, 1)
    repeat = repairs.aggregate(
        repairs=Count("id"),
        repeats=Count("id", filter=Q(round__gt=1) | Q(repeat=True)))
    report.repairs, report.repeat_repairs = repeat["repairs"], repeat["repeats"]
    total = report.total
    labels = dict(TicketType.choices)
    report.by_type = [Row(label=str(labels.get(r.label, r.label)), count=r.count,
                          share=r.share) for r in _rows(base, ["ticket_type"], total)]
    report.by_project = _rows(base, ["project__name"], total)
    report.by_building = _rows(base.filter(building__isnull=False),
                               ["project__name", "building__name"], total)
    report.by_component = _rows(repairs.filter(component__isnull=False),
                                ["component__parent__name", "component__name"], report.repairs)
    report.by_category = _rows(repairs.filter(category__isnull=False), ["category__name"],
                               report.repairs)
    return report


def quality_chart_option(report: QualityReport) -> dict:
    """An ECharts option: tickets by problem category and by component (bars)."""
    categories = report.by_category[:10]
    components = report.by_component[:10]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [_("by problem category"), _("by component")]},
        "grid": [{"left": "3%", "right": "52%", "containLabel": True},
                 {"left": "52%", "right": "3%", "containLabel": True}],
        "xAxis": [{"type": "value", "gridIndex": 0}, {"type": "value", "gridIndex": 1}],
        "yAxis": [{"type": "category", "gridIndex": 0, "inverse": True,
                   "data": [r.label for r in categories]},
                  {"type": "category", "gridIndex": 1, "inverse": True,
                   "data": [r.label for r in components]}],
        "series": [{"name": _("by problem category"), "type": "bar", "xAxisIndex": 0,
                    "yAxisIndex": 0, "data": [r.count for r in categories]},
                   {"name": _("by component"), "type": "bar", "xAxisIndex": 1,
                    "yAxisIndex": 1, "data": [r.count for r in components]}],
    }


def _summary(report: QualityReport) -> list[tuple[str, object]]:
    return [
        (_("period"), f"{report.start:%Y-%m-%d} – {report.end - dt.timedelta(days=1):%Y-%m-%d}"),
        (_("tickets"), report.total),
        (_("closed"), f"{report.closed} ({report.close_rate}%)"),
        (_("repairs"), report.repairs),
        (_("repeat repairs"), f"{report.repeat_repairs} ({report.repeat_rate}%)"),
        (_("hours to close (average)"),
         report.hours_to_close if report.hours_to_close is not None else "—"),
        (_("satisfaction (1–5)"),
         f"{report.satisfaction} ({report.rated})" if report.satisfaction else "—"),
    ]


def report_sections(report: QualityReport) -> list[tuple[str, list[Row]]]:
    return [(_("By type"), report.by_type), (_("By project"), report.by_project),
            (_("By building"), report.by_building), (_("By component"), report.by_component),
            (_("By problem category"), report.by_category)]


def quality_xlsx(report: QualityReport) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(_("Summary")[:31])
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 30)
    for i, (label, value) in enumerate(_summary(report)):
        sheet.write(i, 0, str(label), bold)
        sheet.write(i, 1, value if isinstance(value, int | float) else str(value))
    for title, rows in report_sections(report):
        sheet = book.add_worksheet(str(title)[:31])
        sheet.set_column(0, 0, 30)
        for col, head in enumerate((_("name"), _("tickets"), _("share %"))):
            sheet.write(0, col, str(head), bold)
        for i, row in enumerate(rows, start=1):
            sheet.write(i, 0, row.label)
            sheet.write_number(i, 1, row.count)
            sheet.write_number(i, 2, row.share)
    book.close()
    return out.getvalue()


def quality_pdf(report: QualityReport) -> bytes:
    from anju.core.pdf import render_pdf

    return render_pdf("aftersales/tickets/quality_pdf.html", {
        "report": report, "summary": _summary(report),
        "sections": report_sections(report)})
