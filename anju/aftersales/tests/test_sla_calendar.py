"""Working time around 国庆, 春节 and a 调休 Saturday; admin overrides; the policies; the
clock that stops while waiting on the owner; warnings and escalation by the sweep."""

import datetime as dt
from decimal import Decimal

import pytest

from anju.aftersales.models import CalendarDay, SlaPolicy, Ticket, TicketEvent, WorkCalendar
from anju.aftersales.tickets import services, sla
from anju.aftersales.tickets.calendar import SHANGHAI, WorkingTime
from anju.aftersales.tickets.tasks import tickets_sla_sweep
from anju.core.models import Notification

from .tickets_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db


def at(y, m, d, h=10, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def test_national_day_week_is_skipped():
    wt = WorkingTime()
    # Tuesday 2025-09-30, 17:00, four working hours: one hour that day, then 国庆 1–8 Oct
    # are off, so the rest runs on Thursday 9 Oct from 09:00.
    due = wt.add(at(2025, 9, 30, 17), 4)
    assert due.astimezone(SHANGHAI) == at(2025, 10, 9, 12)


def test_a_swapped_working_saturday_counts():
    wt = WorkingTime()
    # Saturday 2025-09-27 is not a 调休 day, Sunday 2025-09-28 is: Friday 17:00 + 2 hours →
    # one hour on Friday, one hour on Sunday the 28th.
    assert wt.is_workday(dt.date(2025, 9, 28)) and not wt.is_workday(dt.date(2025, 9, 27))
    due = wt.add(at(2025, 9, 26, 17), 2)
    assert due.astimezone(SHANGHAI) == at(2025, 9, 28, 10)
    # 2026 春节: a 调休 Saturday (14 Feb 2026) works
    assert wt.is_workday(dt.date(2026, 2, 14))
    assert not wt.is_workday(dt.date(2026, 2, 17))


def test_spring_festival_pauses_the_clock():
    wt = WorkingTime()
    # Friday 2025-01-24 16:00 + 9 working hours: 2 hours Friday, Sunday 26 Jan is a 调休
    # working day (9 h) … 7 more hours land there.
    due = wt.add(at(2025, 1, 24, 16), 9)
    assert due.astimezone(SHANGHAI) == at(2025, 1, 26, 16)
    # the holiday 28 Jan – 4 Feb: from Monday 27 Jan 17:00, 2 hours → Wednesday 5 Feb
    due = wt.add(at(2025, 1, 27, 17), 2)
    assert due.astimezone(SHANGHAI) == at(2025, 2, 5, 10)
    assert wt.between(at(2025, 1, 27, 17), at(2025, 2, 5, 10)) == 2 * 3600
    # and Saturday 8 Feb is a 调休 working day
    assert wt.is_workday(dt.date(2025, 2, 8)) and not wt.is_workday(dt.date(2025, 2, 1))


def test_an_admin_teaches_a_year_the_library_does_not_know(org):
    calendar = WorkCalendar.objects.create(company=org["first"], day_start=dt.time(8, 30),
                                           day_end=dt.time(17, 30))
    # 2031 is beyond the library: weekdays work unless the admin says otherwise
    CalendarDay.objects.create(calendar=calendar, date=dt.date(2031, 1, 1), is_workday=False,
                               note="元旦")
    CalendarDay.objects.create(calendar=calendar, date=dt.date(2031, 1, 4), is_workday=True,
                               note="调休")
    wt = WorkingTime.for_company(org["first"].pk)
    assert not wt.is_workday(dt.date(2031, 1, 1))
    assert wt.is_workday(dt.date(2031, 1, 4))  # a Saturday
    due = wt.add(at(2030, 12, 31, 17), 2)  # Tue 17:00: 30 min, then Thu 2 Jan 08:30 + 1.5 h
    assert due.astimezone(SHANGHAI) == at(2031, 1, 2, 10)


def test_the_most_specific_policy_applies(org, lib):
    SlaPolicy.objects.create(company=org["first"], ticket_type="repair", response_hours=4,
                             resolve_hours=40)
    SlaPolicy.objects.create(company=org["first"], ticket_type="repair",
                             category=lib["渗漏"], urgency="high", response_hours=1,
                             onsite_hours=4, resolve_hours=8, callback_hours=4,
                             warn_percent=50)
    leak = sla.policy_for(company_id=org["first"].pk, ticket_type="repair",
                          category_id=lib["渗漏"].pk, urgency="high")
    assert leak == {"response": 3600, "onsite": 14400, "resolve": 28800, "callback": 14400,
                    "warn_percent": 50}
    other = sla.policy_for(company_id=org["first"].pk, ticket_type="repair",
                           category_id=lib["开裂"].pk, urgency="high")
    assert other["response"] == 4 * 3600 and "onsite" not in other
    # no policy: built-in defaults scaled by urgency
    complaint = sla.policy_for(company_id=org["first"].pk, ticket_type="complaint",
                               category_id=None, urgency="critical")
    assert complaint["response"] == 900


def test_deadlines_of_a_ticket_in_working_time(new_ticket, org):
    SlaPolicy.objects.create(company=org["first"], ticket_type="repair", response_hours=2,
                             onsite_hours=8, resolve_hours=16, callback_hours=8)
    ticket = new_ticket(now=at(2025, 9, 30, 16))
    # 2 h on 30 Sep, 国庆 1–8 Oct off, 9 h on 9 Oct, 5 h on 10 Oct
    assert ticket.resolve_due.astimezone(SHANGHAI) == at(2025, 10, 10, 14)
    assert ticket.onsite_due.astimezone(SHANGHAI) == at(2025, 10, 9, 15)
    assert ticket.responded_at is not None  # an agent received it
    assert ticket.next_clock == "onsite"


def test_the_clock_stops_while_waiting_on_the_owner(new_ticket, svc, org, monkeypatch):
    from django.utils import timezone

    SlaPolicy.objects.create(company=org["first"], ticket_type="repair", response_hours=2,
                             onsite_hours=8, resolve_hours=16)
    ticket = new_ticket(now=at(2025, 11, 3, 9))  # Monday
    assert ticket.onsite_due.astimezone(SHANGHAI) == at(2025, 11, 3, 17)
    monkeypatch.setattr(timezone, "now", lambda: at(2025, 11, 3, 11))
    services.ticket_wait_owner(actor=svc["agent"], ticket_id=ticket.pk, reason="业主出差")
    ticket.refresh_from_db()
    assert ticket.next_due is None and ticket.warn_at is None  # out of the sweep
    monkeypatch.setattr(timezone, "now", lambda: at(2025, 11, 4, 11))  # a working day later
    services.ticket_resume(actor=svc["agent"], ticket_id=ticket.pk)
    ticket.refresh_from_db()
    assert ticket.sla_paused_seconds == 9 * 3600
    assert ticket.onsite_due.astimezone(SHANGHAI) == at(2025, 11, 4, 17)


def test_the_sweep_warns_once_then_escalates_level_by_level(new_ticket, svc, org, make_user):
    SlaPolicy.objects.create(company=org["first"], ticket_type="repair", response_hours=1,
                             onsite_hours=2, resolve_hours=4, warn_percent=50)
    company_manager = make_user("scompany", "service_manager", companies=[org["first"]],
                                scope_level="company")
    ticket = new_ticket(now=at(2025, 11, 3, 9))
    services.ticket_dispatch(actor=svc["agent"], ticket_id=ticket.pk, user_id=svc["worker"].pk)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=at(2025, 11, 3, 9))
    ticket.refresh_from_db()
    sla.refresh(ticket, WorkingTime(), now=at(2025, 11, 3, 9))
    ticket.save()
    assert ticket.next_clock == "onsite" and ticket.warn_at.astimezone(SHANGHAI) == at(
        2025, 11, 3, 10)
    assert sla.sweep(now=at(2025, 11, 3, 9, 30)) == {"warned": 0, "escalated": 0}
    assert sla.sweep(now=at(2025, 11, 3, 10, 5)) == {"warned": 1, "escalated": 0}
    assert sla.sweep(now=at(2025, 11, 3, 10, 6)) == {"warned": 0, "escalated": 0}
    assert Notification.objects.filter(recipient=svc["worker"],
                                       kind="ticket.deadline_near").count() == 1
    assert sla.sweep(now=at(2025, 11, 3, 11, 1)) == {"warned": 0, "escalated": 1}
    assert Notification.objects.filter(recipient=svc["manager"], kind="ticket.escalated",
                                       level="urgent").count() == 1
    assert sla.sweep(now=at(2025, 11, 3, 11, 30)) == {"warned": 0, "escalated": 0}
    # two more working hours past the deadline: level 2, the company's managers
    assert sla.sweep(now=at(2025, 11, 3, 13, 1)) == {"warned": 0, "escalated": 1}
    assert Notification.objects.filter(recipient=company_manager,
                                       kind="ticket.escalated").count() == 1
    ticket.refresh_from_db()
    assert ticket.escalation_level == 2
    assert list(TicketEvent.objects.filter(ticket=ticket, kind__in=["warn", "escalate"])
                .values_list("kind", flat=True)) == ["warn", "escalate", "escalate"]
    # the worker arrives: the on-site clock stops, the resolve clock is next and calm again
    services.ticket_accept(actor=svc["worker"], ticket_id=ticket.pk)
    services.ticket_start(actor=svc["worker"], ticket_id=ticket.pk)
    ticket.refresh_from_db()
    assert ticket.next_clock == "resolve" and ticket.escalation_level == 0


def test_the_periodic_task_runs_the_sweep(new_ticket):
    new_ticket()
    result = tickets_sla_sweep.call()
    assert set(result) == {"warned", "escalated"}


def test_the_task_is_scheduled():
    from anju.aftersales import tasks  # noqa: F401  the module the scheduler imports

    assert callable(tickets_sla_sweep.call)
    assert Decimal(1)
