"""Matching: available units ranked against budget (万元), area, rooms and districts, with the
reasons; only units the viewer may see and that are for sale; constant queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anju.property.models import Building, Unit, UnitType
from anju.sales.opportunities.matching import Needs, match_units

from .opportunity_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock(org):
    org["a"].district = "余杭区"
    org["a"].save()
    org["b"].district = "建邺区"
    org["b"].save()
    made = {}
    for project, code in ((org["a"], "1"), (org["b"], "2"), (org["c"], "9")):
        two = UnitType.objects.create(project=project, name="两房", rooms=2,
                                      built_area=Decimal("89"))
        three = UnitType.objects.create(project=project, name="三房", rooms=3,
                                        built_area=Decimal("120"))
        building = Building.objects.create(project=project, name=f"{code}号楼", code=code,
                                           floor_count=9, units_per_floor=2)
        for floor, kind, area, price in ((1, two, "89", "1500000"), (2, three, "120", "2000000"),
                                         (3, three, "125", "2350000"),
                                         (4, two, "88", "1450000")):
            made[f"{code}-{floor}01"] = Unit.objects.create(
                building=building, floor=floor, position=1, number=f"{floor}01",
                label=f"{code}-{floor}01", unit_type=kind, built_area=Decimal(area),
                list_price=Decimal(price))
    Unit.objects.filter(pk=made["1-401"].pk).update(status=Unit.Status.RESERVED)
    return made


def _labels(matches):
    return [match.unit.label for match in matches]


def test_ranked_by_fit_with_reasons(people, stock):
    needs = Needs(budget_min_wan=Decimal(180), budget_max_wan=Decimal(210),
                  area_min=Decimal(110), area_max=Decimal(130), rooms=(3,),
                  districts=("余杭区",))
    matches = match_units(viewer=people["manager"], need=needs)
    assert _labels(matches)[0] == "1-201"  # everything fits, in the wanted district
    assert matches[0].score == 100
    assert {reason.kind: reason.fit for reason in matches[0].reasons} == {
        "budget": "good", "area": "good", "rooms": "good", "district": "good"}
    assert _labels(matches)[1] == "2-201"  # same unit, another district
    assert "1-301" not in _labels(matches)  # 235万 is beyond 210万 + 10 %
    assert "1-101" not in _labels(matches)  # two bedrooms
    assert all(not label.startswith("9-") for label in _labels(matches))  # other company


def test_over_budget_within_slack_is_shown_lower(people, stock):
    needs = Needs(budget_max_wan=Decimal(215), rooms=(3,))
    matches = match_units(viewer=people["manager"], need=needs)
    assert _labels(matches)[:2] == ["1-201", "2-201"]
    over = next(match for match in matches if match.unit.label == "1-301")
    assert over.score < matches[0].score
    assert next(r for r in over.reasons if r.kind == "budget").fit == "near"


def test_only_available_units_in_scope(people, stock):
    needs = Needs(budget_max_wan=Decimal(160), rooms=(2,))
    assert "1-401" not in _labels(match_units(viewer=people["manager"], need=needs))
    assert _labels(match_units(viewer=people["consultant_b"], need=needs)) == ["2-101",
                                                                               "2-401"]
    assert match_units(viewer=people["consultant"], need=Needs()) == []
    assert match_units(viewer=people["consultant"], need=None) == []


def test_rooms_written_as_text_are_understood(people, stock, make_customer):
    from anju.customers.models import CustomerNeed

    need = CustomerNeed.objects.create(customer=make_customer(owner=people["consultant"]),
                                       rooms=["3室"], districts=["建邺"])
    matches = match_units(viewer=people["manager"], need=need)
    assert _labels(matches)[0] in ("2-201", "2-301")
    assert matches[0].score == 100


def test_one_query_whatever_the_stock(people, stock, org):
    needs = Needs(budget_max_wan=Decimal(300))
    match_units(viewer=people["admin"], need=needs)  # the admin's data scope, read once
    with CaptureQueriesContext(connection) as few:
        match_units(viewer=people["admin"], need=needs)
    building = Building.objects.get(code="1")
    Unit.objects.bulk_create([Unit(building=building, floor=floor, position=2,
                                   number=f"{floor}02", label=f"1-{floor}02",
                                   built_area=Decimal("90"), list_price=Decimal("1600000"))
                              for floor in range(1, 10)])
    with CaptureQueriesContext(connection) as many:
        matches = match_units(viewer=people["admin"], need=needs, limit=50)
    assert len(many) == len(few) == 1
    assert len(matches) > 10
