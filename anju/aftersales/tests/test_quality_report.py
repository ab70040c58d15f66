"""Quality feedback: counts and shares by project, building, component and category, repeat
repairs, time to close, satisfaction; the page with its chart, xlsx and PDF exports."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from anju.aftersales.models import Ticket
from anju.aftersales.tickets import reports, services
from anju.aftersales.tickets.calendar import SHANGHAI

from .tickets_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db


@pytest.fixture
def month_of_tickets(new_ticket, svc, lib, place):
    now = dt.datetime(2026, 3, 10, 10, tzinfo=SHANGHAI)
    first = new_ticket(now=now)
    repeat = new_ticket(now=now + dt.timedelta(days=5))  # the same unit and component again
    crack = new_ticket(component_id=lib["墙面"].pk, category_id=lib["开裂"].pk,
                       location_id=lib["客厅"].pk, description="墙面细微裂缝",
                       unit_id=place["units"]["302"].pk, customer_id=place["owner2"].pk,
                       now=now)
    consult = new_ticket(ticket_type="consultation", location_id=None, component_id=None,
                         category_id=None, description="问", now=now)
    services.ticket_close(actor=svc["agent"], ticket_id=consult.pk, note="答")
    Ticket.objects.filter(pk=consult.pk).update(closed_at=now + dt.timedelta(hours=6))
    services.ticket_callback(actor=svc["agent"], ticket_id=consult.pk, score=4)
    new_ticket(now=dt.datetime(2026, 4, 2, 10, tzinfo=SHANGHAI))  # next month
    return {"first": first, "repeat": repeat, "crack": crack, "consult": consult}


def test_the_report_counts_what_design_and_construction_need(month_of_tickets, svc):
    report = reports.quality_report(viewer=svc["agent"], start=dt.date(2026, 3, 1),
                                    end=dt.date(2026, 4, 1))
    assert report.total == 4 and report.repairs == 3
    assert report.repeat_repairs == 1 and report.repeat_rate == 33.3
    assert report.closed == 1 and report.hours_to_close == 6.0
    assert report.satisfaction == 4.0
    assert [(r.label, r.count) for r in report.by_category] == [("渗漏", 2), ("开裂", 1)]
    assert report.by_component[0].label == "土建 天花" and report.by_component[0].count == 2
    assert report.by_building[0].label == "四季花城 米兰苑" and report.by_building[0].count == 4
    assert report.by_project[0].count == 4
    # out of scope: nothing
    other = reports.quality_report(viewer=svc["outsider"], start=dt.date(2026, 3, 1),
                                   end=dt.date(2026, 4, 1))
    assert other.total == 0


def test_the_page_chart_and_exports(month_of_tickets, svc, client_for):
    client = client_for(svc["manager"])
    response = client.get(reverse("aftersales:quality"), {"month": "2026-03"})
    body = response.content.decode()
    assert response.status_code == 200 and 'data-kpi="total">4<' in body
    assert "data-chart-url" in body
    chart = client.get(reverse("aftersales:quality_chart"), {"month": "2026-03"}).json()
    assert chart["series"][0]["data"] == [2, 1]
    xlsx = client.get(reverse("aftersales:quality_export", args=["xlsx"]), {"month": "2026-03"})
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert len(book.sheetnames) == 6
    values = [c.value for row in book.worksheets[5].iter_rows() for c in row]
    assert "渗漏" in values
    assert client.get(reverse("aftersales:quality_export", args=["doc"])).status_code == 404
    assert client_for(svc["sales"]).get(reverse("aftersales:quality")).status_code == 403
    # a nonsense month falls back to the current one instead of failing
    assert client.get(reverse("aftersales:quality"), {"month": "13-x"}).status_code == 200


def test_the_page_costs_the_same_queries_with_more_tickets(month_of_tickets, svc, client_for,
                                                          new_ticket):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(svc["manager"])
    url = reverse("aftersales:quality") + "?month=2026-03"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for day in range(5):
        new_ticket(now=dt.datetime(2026, 3, 12 + day, 10, tzinfo=SHANGHAI))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few) == len(many)
    own = [q for q in many.captured_queries if '"aftersales_' in q["sql"]]
    assert len(own) == 2  # the stored months asked, the live rest grouped once


@pytest.mark.pdf
def test_the_pdf_report(month_of_tickets, svc, client_for):
    response = client_for(svc["manager"]).get(
        reverse("aftersales:quality_export", args=["pdf"]), {"month": "2026-03"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_stored_months_give_the_same_report(month_of_tickets, svc, new_ticket):
    from anju.aftersales.models import TicketStat
    from anju.aftersales.tickets.stats import ticket_stats_rebuild

    def figures(report):
        return (report.total, report.repairs, report.repeat_repairs, report.closed,
                report.hours_to_close, report.satisfaction,
                [(r.label, r.count, r.share) for r in report.by_category],
                [(r.label, r.count) for r in report.by_component],
                [(r.label, r.count) for r in report.by_building],
                [(r.label, r.count) for r in report.by_type])

    args = {"viewer": svc["agent"], "start": dt.date(2026, 1, 1), "end": dt.date(2026, 5, 1)}
    live = figures(reports.quality_report(**args))
    assert live[0] == 5
    assert ticket_stats_rebuild(month=dt.date(2026, 3, 1)) > 0
    assert TicketStat.objects.filter(month=dt.date(2026, 3, 1), dimension="total").exists()
    assert figures(reports.quality_report(**args)) == live
    # a stored month is not re-read from the tickets: a ticket slipped in stays unseen
    # until the nightly rebuild
    new_ticket(now=dt.datetime(2026, 3, 20, 10, tzinfo=SHANGHAI))
    assert reports.quality_report(**args).total == 5
    ticket_stats_rebuild(month=dt.date(2026, 3, 1))
    assert reports.quality_report(**args).total == 6
    # out of scope: nothing, stored or live
    assert reports.quality_report(viewer=svc["outsider"], start=dt.date(2026, 1, 1),
                                  end=dt.date(2026, 5, 1)).total == 0


def test_the_nightly_task_builds_the_last_three_months(new_ticket):
    from anju.aftersales.models import TicketStatMonth
    from anju.aftersales.tickets.tasks import tickets_stats_rebuild

    built = tickets_stats_rebuild.call()
    assert len(built) == 3 and TicketStatMonth.objects.count() == 3
