"""Fixtures of the deals tests (imported by each test_deals_* module).

- `org` (anju/conftest.py): companies `first` (projects `a`, `b`) and `second` (project `c`).
- `people`: `consultant` (project A, team led by `manager`), `other` (consultant of
  project A, same team), `manager` (sales manager of A and B: approve_deals), `manager2` (a
  second approver), `outsider` (consultant of project C).
- `building`: project A, 3 floors × 2 units ("1-101" … "1-302"), list price 1,000,000 +
  10,000 × floor, floor price 95 %.
- `customer(name, owner=consultant)`: a customer of project A.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from anju.accounts.models import Team
from anju.customers.models import Customer
from anju.property.models import Building, Unit
from anju.sales.deals import services
from anju.sales.deals.services import InstalmentLine


@pytest.fixture
def people(org, make_user):
    manager = make_user("dmanager", "sales_manager", projects=[org["a"], org["b"]],
                        display_name="王经理")
    team = Team.objects.create(name="一组", project=org["a"], leader=manager)
    consultant = make_user("dconsultant", "sales_consultant", projects=[org["a"]],
                           display_name="李顾问", team=team)
    other = make_user("dother", "sales_consultant", projects=[org["a"]],
                      display_name="赵顾问", team=team)
    return {
        "manager": manager,
        "manager2": make_user("dmanager2", "sales_manager", projects=[org["a"]],
                              display_name="钱经理"),
        "consultant": consultant,
        "other": other,
        "outsider": make_user("doutsider", "sales_consultant", projects=[org["c"]]),
    }


def build(project, *, code="1", floors=3, per_floor=2) -> Building:
    building = Building.objects.create(project=project, name=f"{code}号楼", code=code,
                                       floor_count=floors, units_per_floor=per_floor)
    units = []
    for floor in range(1, floors + 1):
        for position in range(1, per_floor + 1):
            number = f"{floor}{position:02d}"
            price = Decimal("1000000.00") + Decimal("10000.00") * floor
            units.append(Unit(building=building, floor=floor, position=position, number=number,
                              label=f"{code}-{number}",
                              built_area=Decimal("98.50"), usable_area=Decimal("80.00"),
                              list_price=price,
                              floor_price=(price * Decimal("0.95")).quantize(Decimal("0.01"))))
    Unit.objects.bulk_create(units)
    return building


@pytest.fixture
def building(org):
    return build(org["a"])


@pytest.fixture
def units(building):
    return {unit.label: unit for unit in Unit.objects.filter(building=building)}


@pytest.fixture
def customer(org, people):
    def make(name="张三", owner=None, project=None):
        project = project or org["a"]
        return Customer.objects.create(company=project.company, project=project, name=name,
                                       owner=owner or people["consultant"])
    return make


def plan_for(deal, *, method="instalments", today=None):
    """A plan adding up to the deal's price: 30 % down payment, then the rest in two (or the
    rest as a loan for mortgage plans)."""
    today = today or timezone.localdate()
    rest = deal.final_price - deal.deposit
    down = (deal.final_price * Decimal("0.3")).quantize(Decimal("0.01")) - deal.deposit
    if method == "full":
        return [InstalmentLine("full", today + datetime.timedelta(days=7), rest)]
    if method in ("mortgage", "provident_fund"):
        return [InstalmentLine("down_payment", today + datetime.timedelta(days=7), down),
                InstalmentLine("loan", today + datetime.timedelta(days=60), rest - down,
                               bank="建设银行")]
    half = ((rest - down) / 2).quantize(Decimal("0.01"))
    return [InstalmentLine("down_payment", today + datetime.timedelta(days=7), down),
            InstalmentLine("instalment", today + datetime.timedelta(days=90), half),
            InstalmentLine("instalment", today + datetime.timedelta(days=180),
                           rest - down - half)]


@pytest.fixture
def contracted(people, units, customer):
    """A contracted deal on 1-101 (reserved with ¥50,000, instalments plan)."""
    def make(method="instalments", unit="1-101", buyer=None):
        actor = people["consultant"]
        buyer = buyer or customer("张三")
        deal = services.deal_reserve(actor=actor, unit=units[unit], customer=buyer,
                                     deposit="50000")
        return services.deal_contract(actor=actor, deal=deal, buyers=[(buyer, 100)],
                                      payment_method=method,
                                      instalments=plan_for(deal, method=method))
    return make
