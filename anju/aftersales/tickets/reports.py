"""Quality feedback (质量反馈): what the tickets of a period say about design and
construction. Counts and shares by project, building, component and problem category; the
repeat-repair rate (a repair of a unit's component repaired before within a year, or a
ticket reopened); time to close; satisfaction. Exported monthly as xlsx and PDF.

Finished months come from the monthly statistics (`tickets.stats`, rebuilt nightly), the
current month is grouped live; the page costs the same few queries whatever the number of
tickets. The report counts by project scope (the projects the viewer sees)."""

import datetime as dt
import io
from dataclasses import dataclass, field

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from anju.accounts.models import Project
from anju.aftersales.models import Ticket, TicketStat, TicketStatMonth, TicketType

from . import stats
from .calendar import SHANGHAI

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


MEASURES = ("tickets", "repairs", "repeats", "closed", "close_seconds", "rated",
            "satisfaction_sum")


def quality_report(*, viewer, start: dt.date, end: dt.date,
                   project_id: int | None = None) -> QualityReport:
    """Tickets received in [start, end) of the projects in the viewer's scope (merged and
    cancelled ones left out). Finished months whose statistics are built are read from
    `TicketStat`; the rest of the period (the current month, unbuilt months, partial
    months at the edges) is grouped live from the tickets."""
    projects = Project.objects.visible_to(viewer).order_by()
    if project_id:
        projects = projects.filter(pk=project_id)
    project_ids = list(projects.values_list("pk", flat=True))
    whole = [m for m in stats.months_between(start, end)
             if m >= start and stats.month_bounds(m)[1] <= _bounds(start, end)[1]
             and m < stats.current_month()]
    stored = set(TicketStatMonth.objects.filter(month__in=whole)
                 .values_list("month", flat=True)) if whole else set()
    sums: dict[tuple[str, str], dict] = {}

    def add(row: dict) -> None:
        entry = sums.setdefault((row["dimension"], row["key"]),
                                {"label": row["label"], **dict.fromkeys(MEASURES, 0)})
        for name in MEASURES:
            entry[name] += row[name] or 0

    if stored and project_ids:
        grouped = (TicketStat.objects.filter(month__in=stored, project_id__in=project_ids)
                   .values("dimension", "key", "label")
                   .annotate(**{name: Sum(name) for name in MEASURES}).order_by())
        for row in grouped:
            add(row)
    # the live part: the period minus the stored months, as plain ranges (an index range
    # each) rather than "not in these months", which would read every ticket
    since, until = _bounds(start, end)
    gaps, cursor = [], since
    for month in sorted(stored):
        m_since, m_until = stats.month_bounds(month)
        if m_since > cursor:
            gaps.append((cursor, m_since))
        cursor = max(cursor, m_until)
    if cursor < until:
        gaps.append((cursor, until))
    if project_ids and gaps:
        live = Q()
        for g_since, g_until in gaps:
            live |= Q(created_at__gte=g_since, created_at__lt=g_until)
        for row in stats.stat_rows(Ticket.objects.filter(live, project_id__in=project_ids)):
            add(row)
    report = QualityReport(start=start, end=end)
    total = sums.get(("total", ""), dict.fromkeys(MEASURES, 0))
    report.total, report.repairs = total["tickets"], total["repairs"]
    report.repeat_repairs, report.closed = total["repeats"], total["closed"]
    report.rated = total["rated"]
    report.satisfaction = (round(total["satisfaction_sum"] / total["rated"], 2)
                           if total["rated"] else None)
    report.hours_to_close = (round(total["close_seconds"] / total["closed"] / 3600, 1)
                             if total["closed"] else None)
    labels = dict(TicketType.choices)

    def rows(dimension: str, whole_count: int) -> list[Row]:
        found = [(key, entry) for (dim, key), entry in sums.items() if dim == dimension]
        found.sort(key=lambda item: (-item[1]["tickets"], item[1]["label"]))
        return [Row(label=str(labels.get(key, key)) if dimension == "type" else entry["label"],
                    count=entry["tickets"],
                    share=round(100 * entry["tickets"] / whole_count, 1) if whole_count else 0.0)
                for key, entry in found[:TOP]]

    report.by_type = rows("type", report.total)
    report.by_project = rows("project", report.total)
    report.by_building = rows("building", report.total)
    report.by_component = rows("component", report.repairs)
    report.by_category = rows("category", report.repairs)
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
