"""The opportunities demo step: opportunities across the stages, quotes, some awaiting approval."""

import io

import pytest

from anju.accounts import demo as accounts_demo
from anju.core.demo import DemoContext
from anju.customers import demo as customers_demo
from anju.property import demo as property_demo
from anju.sales.models.opportunities import FunnelCell, Opportunity, Quote
from anju.sales.opportunities import demo
from anju.sales.opportunities.funnel import funnel_rebuild

pytestmark = pytest.mark.django_db


def test_demo_opportunities_across_stages_with_quotes(make_user):
    ctx = DemoContext(stdout=io.StringIO())
    accounts_demo.build(ctx)
    property_demo.build(ctx)
    customers_demo.build(ctx)
    demo.build(ctx)
    stages = set(Opportunity.objects.values_list("stage", flat=True))
    assert {"first_visit", "needs_confirmed", "negotiation", "lost", "won"} <= stages
    assert not Opportunity.objects.filter(stage="lost", lost_reason="").exists()
    assert Quote.objects.filter(status=Quote.Status.PENDING).exists()
    assert Quote.objects.filter(status=Quote.Status.ISSUED).exists()
    months = FunnelCell.objects.values("month").distinct().count()
    assert months > 1  # openings are spread over the last months
    cells = sorted(FunnelCell.objects.values_list("month", "project", "owner_key", "stage",
                                                  "reached", "current", "stays"))
    funnel_rebuild()
    assert sorted(FunnelCell.objects.values_list("month", "project", "owner_key", "stage",
                                                 "reached", "current", "stays")) == cells
    count = Opportunity.objects.count()
    demo.build(ctx)  # a second run changes nothing
    assert Opportunity.objects.count() == count
