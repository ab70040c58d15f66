"""The property demo step: buildings with typed, priced units and a few locked ones."""

import io

import pytest

from anju.accounts import demo as accounts_demo
from anju.core.demo import DemoContext
from anju.property import demo
from anju.property.models import Building, Unit, UnitStatusChange, UnitType

pytestmark = pytest.mark.django_db


def test_demo_buildings(make_user):
    ctx = DemoContext(stdout=io.StringIO())
    accounts_demo.build(ctx)
    demo.build(ctx)
    assert Building.objects.count() == 5
    assert Building.objects.values("project").distinct().count() == 3
    assert UnitType.objects.exclude(floor_plan="").count() == UnitType.objects.count() == 7
    assert Unit.objects.count() == 18 * 4 + 26 * 2 + 32 * 4 + 11 * 2 + 18 * 6
    assert not Unit.objects.filter(unit_type__isnull=True).exists()
    assert Unit.objects.filter(status="locked").count() == 15
    assert UnitStatusChange.objects.filter(to_status="locked").exclude(reason="").count() == 15
    top = Unit.objects.get(building__code="A", number="3201")
    low = Unit.objects.get(building__code="A", number="101")
    assert top.list_price > low.list_price and top.floor_price < top.list_price
    assert len(ctx.data["property"]["buildings"]) == 5
    demo.build(ctx)  # a second run changes nothing
    assert Building.objects.count() == 5
