"""The deals demo step: deals in every state across the demo buildings, all consistent."""

import io

import pytest

from anju.accounts import demo as accounts_demo
from anju.core.demo import DemoContext
from anju.customers import demo as customers_demo
from anju.property import demo as property_demo
from anju.property.models import Unit
from anju.sales.deals import demo
from anju.sales.models import LIVE_STATUSES, Deal, DealChangeRequest, Instalment

pytestmark = pytest.mark.django_db


def test_demo_deals_in_every_state(make_user):
    ctx = DemoContext(stdout=io.StringIO())
    accounts_demo.build(ctx)
    property_demo.build(ctx)
    customers_demo.build(ctx)
    demo.build(ctx)
    statuses = set(Deal.objects.values_list("status", flat=True))
    assert statuses == {"held", "reserved", "contracted", "delivered", "cancelled", "swapped"}
    assert Deal.objects.values("unit__building").distinct().count() >= 4
    assert Instalment.objects.exclude(overdue_flagged_at=None).exists()
    assert DealChangeRequest.objects.filter(state="pending").exists()
    # every live deal's unit shows the deal's state, every free unit has no live deal
    for deal in Deal.objects.filter(status__in=LIVE_STATUSES).select_related("unit"):
        assert deal.unit.status == deal.status
    assert not Unit.objects.filter(status="available", deals__status__in=LIVE_STATUSES).exists()
    count = Deal.objects.count()
    demo.build(ctx)  # a second run changes nothing
    assert Deal.objects.count() == count
