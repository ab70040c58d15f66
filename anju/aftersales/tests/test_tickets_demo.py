"""The tickets demo step: the library, and tickets of every type and state on demo units."""

import io

import pytest

from anju.accounts import demo as accounts_demo
from anju.aftersales.models import Component, Location, Ticket, TicketCallback
from anju.aftersales.tickets import demo
from anju.core.demo import DemoContext
from anju.customers import demo as customers_demo
from anju.property import demo as property_demo
from anju.sales.deals import demo as deals_demo

pytestmark = pytest.mark.django_db


def test_demo_tickets_of_every_type_and_state(make_user):
    ctx = DemoContext(stdout=io.StringIO())
    for step in (accounts_demo, property_demo, customers_demo, deals_demo):
        step.build(ctx)
    demo.build(ctx)
    assert Location.objects.filter(name="卫生间").exists()
    assert Component.objects.filter(name="卫生间防水", parent__name="防水").exists()
    types = set(Ticket.objects.values_list("ticket_type", flat=True))
    assert types == {"repair", "complaint", "consultation", "praise"}
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert {"received", "tasked", "dispatched", "accepted", "in_progress", "completed",
            "confirmed", "closed", "called_back", "merged", "cancelled"} <= statuses
    assert Ticket.objects.filter(sla_paused_at__isnull=False).exists()
    assert Ticket.objects.filter(round=2).exists()
    assert TicketCallback.objects.count() >= 3
    assert Ticket.objects.exclude(title__contains=" – ").filter(
        ticket_type="repair").count() == 0
    count = Ticket.objects.count()
    demo.build(ctx)  # a second run adds nothing
    assert Ticket.objects.count() == count
