"""Test fixtures of care and the portal (import them into a test module with
`from anju.aftersales.care.testing import *`).

- `care_staff`: `agent` (service agent, project A), `manager` (service manager, A),
  `outsider` (service agent, project C), `consultant` (sales consultant, A: owns the deals).
- `estate`: building "7" of project A, 2 floors × 2 units, each sold (contracted deal) to its
  own customer; `estate["owners"]` maps unit label → customer, `estate["units"]` label → unit.
- `other_estate`: one sold unit in project C.
- `survey_template(company, trigger)`: an active survey (NPS, scale, choice, text).
- `pay_in_full(unit)`: the unit's deal paid in full, so a handover sign-off delivers it.
"""

from decimal import Decimal

import pytest

from anju.aftersales.care import services
from anju.aftersales.care.services import QuestionSpec
from anju.customers.models import Customer
from anju.property.models import Building, Unit
from anju.sales.models import Deal, DealBuyer

_phones = iter(range(10_000_000, 99_999_999))


def next_phone() -> str:
    return f"+86137{next(_phones):08d}"


@pytest.fixture
def care_staff(org, make_user):
    return {
        "agent": make_user("cagent", "service_agent", projects=[org["a"]],
                           display_name="客服小周"),
        "manager": make_user("cmanager", "service_manager", projects=[org["a"]],
                             display_name="服务经理"),
        "outsider": make_user("coutsider", "service_agent", projects=[org["c"]]),
        "consultant": make_user("cconsultant", "sales_consultant", projects=[org["a"]]),
    }


def sell_building(project, consultant, *, code="7", floors=2, per_floor=2,
                  status="contracted") -> dict:
    building = Building.objects.create(project=project, name=f"{code}号楼", code=code,
                                       floor_count=floors, units_per_floor=per_floor)
    units = {}
    owners = {}
    for floor in range(1, floors + 1):
        for position in range(1, per_floor + 1):
            number = f"{floor}{position:02d}"
            unit = Unit.objects.create(
                building=building, floor=floor, position=position, number=number,
                label=f"{code}-{number}", built_area=Decimal("98.50"),
                list_price=Decimal("1000000.00"), status=status)
            customer = Customer.objects.create(
                company=project.company, project=project, owner=consultant,
                name=f"业主{code}{number}", primary_phone=next_phone())
            deal = Deal.objects.create(unit=unit, project=project, customer=customer,
                                       consultant=consultant, status=status,
                                       list_price=unit.list_price,
                                       final_price=unit.list_price)
            DealBuyer.objects.create(deal=deal, customer=customer, share=Decimal("100"),
                                     is_primary=True)
            units[unit.label] = unit
            owners[unit.label] = customer
    return {"building": building, "units": units, "owners": owners}


@pytest.fixture
def estate(org, care_staff):
    return sell_building(org["a"], care_staff["consultant"])


@pytest.fixture
def other_estate(org, make_user):
    consultant = make_user("cconsultant_c", "sales_consultant", projects=[org["c"]])
    return sell_building(org["c"], consultant, code="9", floors=1, per_floor=1)


@pytest.fixture
def survey_template(care_staff):
    def make(company, trigger="callback", name="服务满意度回访"):
        return services.survey_template_create(
            actor=care_staff["manager"], company=company, name=name, trigger=trigger,
            questions=[
                QuestionSpec("nps", "您有多大可能向亲友推荐我们？"),
                QuestionSpec("scale", "您对维修服务的满意度？"),
                QuestionSpec("choice", "维修人员是否准时？", ("准时", "迟到")),
                QuestionSpec("text", "您还有什么建议？", required=False),
            ])

    return make


@pytest.fixture
def lib(org):
    """The seeded problem library of company `first`, bound to projects A and B."""
    from anju.aftersales.tickets.seed import library_seed

    seeded = library_seed(company_id=org["first"].pk, project_ids=[org["a"].pk, org["b"].pk])
    return {**seeded["locations"], **seeded["categories"], **seeded["components"]}


def leak(lib) -> str:
    """The portal/inspection problem choice "天花 – 渗漏"."""
    return f"{lib['天花'].pk}:{lib['渗漏'].pk}"


def image_file(name="leak.jpg", *, size=(64, 48), exif=True):
    """A small JPEG with camera and GPS EXIF tags (to be stripped)."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    tags = Image.Exif()
    if exif:
        tags[0x010F] = "SecretCam"
        tags[0x8825] = {2: (30.0, 15.0, 0.0)}
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="JPEG", exif=tags.tobytes())
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


class RecordingSmsGateway:
    """An SMS gateway for tests: keeps (phone, text) in `sent` instead of sending."""

    sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        RecordingSmsGateway.sent.append((phone, text))


@pytest.fixture
def sms(settings):
    settings.ANJU_SMS_BACKEND = "anju.aftersales.care.testing.RecordingSmsGateway"
    RecordingSmsGateway.sent = []
    return RecordingSmsGateway.sent


def pay_in_full(unit) -> None:
    """Marks the unit's deal as paid in full (what sign-off needs to deliver it)."""
    from django.db.models import F

    Deal.objects.filter(unit=unit).update(received_amount=F("final_price"))


def run_ticket_to_completion(*, agent, worker, ticket_id, note="已修复"):
    """Dispatch → accept → start → complete with a photo, through the tickets services."""
    from anju.aftersales.tickets import services as tickets

    tickets.ticket_dispatch(actor=agent, ticket_id=ticket_id, user_id=worker.pk)
    tickets.ticket_accept(actor=worker, ticket_id=ticket_id)
    tickets.ticket_start(actor=worker, ticket_id=ticket_id)
    return tickets.ticket_complete(actor=worker, ticket_id=ticket_id, note=note,
                                   photos=[image_file("done.jpg")])
