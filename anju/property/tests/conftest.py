"""Fixtures of the property tests.

- `org` (anju/conftest.py): companies `first` (projects `a`, `b`) and `second` (project `c`).
- `staff`: `manager` (sales manager, projects A and B, holds `control_sales`), `consultant`
  (project A), `outsider` (consultant of project C), `admin` (everything), `marketing`
  (project A, no sales rights).
- `make_building(project, floors=3, per_floor=2, code="1", ...)`: a building with its
  units written straight to the tables (floor f, position p → number f*100+p, label
  "<code>-<number>"), list price 1,000,000 + 10,000 × floor, floor price 95 %.
"""

from decimal import Decimal

import pytest

from anju.property.models import Building, Unit, UnitType


@pytest.fixture
def staff(org, make_user):
    return {
        "manager": make_user("pmanager", "sales_manager", projects=[org["a"], org["b"]],
                             display_name="王经理"),
        "consultant": make_user("pconsultant", "sales_consultant", projects=[org["a"]],
                                display_name="李顾问"),
        "outsider": make_user("poutsider", "sales_consultant", projects=[org["c"]]),
        "admin": make_user("padmin", "admin"),
        "marketing": make_user("pmarketing", "marketing", projects=[org["a"]]),
    }


@pytest.fixture
def make_building(org):
    def make(project=None, *, floors=3, per_floor=2, code="1", name=None, unit_type=None,
             with_type=True):
        project = project or org["a"]
        building = Building.objects.create(project=project, name=name or f"{code}号楼",
                                           code=code, floor_count=floors,
                                           units_per_floor=per_floor)
        if unit_type is None and with_type:
            unit_type, _created = UnitType.objects.get_or_create(
                project=project, name="A户型",
                defaults={"rooms": 3, "halls": 2, "bathrooms": 2,
                          "built_area": Decimal("98.50"), "orientation": "S"})
        units = []
        for floor in range(1, floors + 1):
            for position in range(1, per_floor + 1):
                number = f"{floor}{position:02d}"
                price = Decimal("1000000.00") + Decimal("10000.00") * floor
                units.append(Unit(building=building, floor=floor, position=position,
                                  number=number, label=f"{code}-{number}",
                                  unit_type=unit_type, built_area=Decimal("98.50"),
                                  usable_area=Decimal("80.00"), list_price=price,
                                  floor_price=(price * Decimal("0.95")).quantize(
                                      Decimal("0.01"))))
        Unit.objects.bulk_create(units)
        return building

    return make


@pytest.fixture
def unit(make_building):
    building = make_building(floors=1, per_floor=1, code="3")
    return building.units.get()


@pytest.fixture
def page_queries():
    """`page_queries(client, url, **extra) -> (all, own)`: the queries of one GET, and those
    reading property tables. Full pages also run the shell's (session, user, scope, menu,
    inbox badge), which other apps' menu entries change: pin `own`, compare `all`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def measure(client, url, **extra):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **extra)
        assert response.status_code == 200, response.status_code
        own = [q for q in queries.captured_queries if '"property_' in q["sql"]]
        return len(queries), len(own)

    return measure
