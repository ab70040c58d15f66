"""Fixtures of the tickets tests (imported by each test_tickets_* / test_sla_* module).

- `org` (anju/conftest.py): companies `first` (projects `a` 四季花城, `b`) and `second` (`c`).
- `svc`: `agent` (service agent of A), `manager` (service manager of A), `hq` (service
  agent with company scope: headquarters), `worker` (service agent with no project: sees
  only what is dispatched to them), `outsider` (service agent of C), `sales` (consultant of A),
  `team` (维修一组 of A, led by `manager`).
- `lib`: the seeded library of company `first`, bound to A and B (names → rows).
- `place`: building 米兰苑 (code ML) of A with units 101…302; unit 301 handed over to
  customer 陈业主 on 2025-06-30 (a delivered deal); `owner2` another owner (unit 302).
"""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from anju.accounts.models import Team
from anju.aftersales.tickets.calendar import SHANGHAI
from anju.aftersales.tickets.seed import library_seed
from anju.customers.models import Customer
from anju.property.models import Building, Unit
from anju.sales.models import Deal, DealStatus

HANDOVER = dt.datetime(2025, 6, 30, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def svc(org, make_user):
    manager = make_user("smanager", "service_manager", projects=[org["a"]],
                        display_name="周经理")
    team = Team.objects.create(name="维修一组", project=org["a"], leader=manager)
    return {
        "agent": make_user("sagent", "service_agent", projects=[org["a"]],
                           display_name="客服小王"),
        "manager": manager,
        "team": team,
        "hq": make_user("shq", "service_agent", companies=[org["first"]],
                        scope_level="company", display_name="总部客服"),
        "worker": make_user("sworker", "service_agent", display_name="维修师傅老李"),
        "outsider": make_user("soutsider", "service_agent", projects=[org["c"]]),
        "sales": make_user("ssales", "sales_consultant", projects=[org["a"]]),
    }


@pytest.fixture
def lib(org):
    seeded = library_seed(company_id=org["first"].pk, project_ids=[org["a"].pk, org["b"].pk])
    return {**seeded["locations"], **seeded["categories"], **seeded["components"]}


@pytest.fixture
def place(org, svc):
    building = Building.objects.create(project=org["a"], name="米兰苑", code="ML",
                                       floor_count=3, units_per_floor=2)
    units = {}
    for floor in (1, 2, 3):
        for pos in (1, 2):
            number = f"{floor}0{pos}"
            units[number] = Unit.objects.create(
                building=building, floor=floor, position=pos, number=number,
                label=f"ML-{number}", built_area=Decimal("98.50"),
                list_price=Decimal("1000000.00"), status="delivered")
    owner = Customer.objects.create(company=org["first"], project=org["a"], name="陈业主",
                                    primary_phone="+8613800000001")
    owner2 = Customer.objects.create(company=org["first"], project=org["a"], name="林业主",
                                     primary_phone="+8613800000002")
    for customer, number in ((owner, "301"), (owner2, "302")):
        Deal.objects.create(unit=units[number], project=org["a"], customer=customer,
                            consultant=svc["sales"], status=DealStatus.DELIVERED,
                            list_price=Decimal("1000000.00"), final_price=Decimal("1000000.00"),
                            delivered_at=HANDOVER)
    return {"building": building, "units": units, "owner": owner, "owner2": owner2}


def image_file(name="leak.jpg", *, size=(64, 48), exif=True, fmt="JPEG") -> SimpleUploadedFile:
    """A small real image; with `exif` it carries a GPS-like EXIF block to be stripped."""
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    kwargs = {}
    if exif and fmt == "JPEG":
        tags = Image.Exif()
        tags[0x010F] = "SecretCam"  # Make
        tags[0x8825] = {2: (30.0, 15.0, 0.0)}  # GPSInfo
        kwargs["exif"] = tags.tobytes()
    image.save(buffer, format=fmt, **kwargs)
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png"}[fmt]
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)


@pytest.fixture
def new_ticket(svc, lib, place):
    """`new_ticket(**overrides)`: a repair of unit 301's bathroom ceiling leak by the agent."""
    from anju.aftersales.tickets import services

    def make(**overrides):
        args = {"actor": svc["agent"], "customer_id": place["owner"].pk,
                "unit_id": place["units"]["301"].pk, "location_id": lib["卫生间"].pk,
                "component_id": lib["天花"].pk, "category_id": lib["渗漏"].pk,
                "description": "下水管周围渗漏", "urgency": "normal",
                "ticket_type": "repair", "channel": "call_centre"}
        args.update(overrides)
        return services.ticket_create(**args)

    return make
