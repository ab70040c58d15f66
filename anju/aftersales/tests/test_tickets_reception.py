"""Reception (接待): what ticket_create records, refuses and shows."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from PIL import Image

from anju.aftersales.models import Ticket, TicketEvent, TicketPhoto, WarrantyPeriod
from anju.aftersales.tickets import selectors, services
from anju.aftersales.tickets.calendar import SHANGHAI

from .tickets_fixtures import *  # noqa: F403
from .tickets_fixtures import image_file

pytestmark = pytest.mark.django_db


def test_a_repair_reads_like_the_offices_say_it(new_ticket):
    ticket = new_ticket()
    assert ticket.title == "四季花城 米兰苑 301 – 卫生间 – 天花 – 渗漏 – 下水管周围渗漏"
    assert ticket.status == "received"
    assert ticket.number.startswith("GD") and ticket.number.endswith(f"{ticket.pk:06d}")
    event = TicketEvent.objects.get(ticket=ticket)
    assert event.kind == "create" and event.actor.username == "sagent"


def test_warranty_is_known_at_once_from_the_handover_date(new_ticket, lib):
    now = dt.datetime(2026, 12, 1, 10, tzinfo=SHANGHAI)
    # 天花 sits under 土建 (2 years): handed over 2025-06-30 → covered until 2027-06-30
    ticket = new_ticket(now=now)
    assert ticket.handover_date == dt.date(2025, 6, 30)
    assert ticket.warranty_years == 2 and ticket.warranty_until == dt.date(2027, 6, 30)
    assert ticket.in_warranty is True and ticket.payer == "developer"
    # three years later the finishes are out of warranty and the owner pays ...
    later = dt.datetime(2028, 8, 1, 10, tzinfo=SHANGHAI)
    tile = new_ticket(component_id=lib["瓷砖"].pk, category_id=lib["空鼓"].pk,
                      location_id=lib["厨房"].pk, description="墙砖空鼓", now=later)
    assert tile.in_warranty is False and tile.payer == "owner"
    # ... but waterproofing (5 years) is still the developer's
    leak = new_ticket(component_id=lib["卫生间防水"].pk, category_id=lib["渗漏"].pk,
                      now=later)
    assert leak.warranty_years == 5 and leak.in_warranty is True and leak.payer == "developer"


def test_warranty_periods_are_configurable_per_component(new_ticket, lib):
    WarrantyPeriod.objects.create(component=lib["天花"], years=10)
    ticket = new_ticket(now=dt.datetime(2030, 1, 2, 10, tzinfo=SHANGHAI))
    assert ticket.warranty_years == 10 and ticket.in_warranty is True


def test_bad_input_names_the_field_and_writes_nothing(new_ticket, lib, org):
    cases = [
        ({"description": "  "}, "description"),
        ({"urgency": "yesterday"}, "urgency"),
        ({"ticket_type": "party"}, "ticket_type"),
        ({"channel": "pigeon"}, "channel"),
        ({"component_id": lib["土建"].pk}, "component"),  # not a leaf
        ({"category_id": lib["跳闸"].pk}, "category"),  # not a category of 天花
        ({"location_id": None}, "location"),
        ({"customer_id": None}, "customer"),
        ({"unit_id": None}, "unit"),
        ({"unit_id": 999999}, "unit"),
    ]
    for overrides, field in cases:
        with pytest.raises(ValidationError) as error:
            new_ticket(**overrides)
        assert field in error.value.message_dict, (overrides, error.value.message_dict)
    assert Ticket.objects.count() == 0 and TicketEvent.objects.count() == 0


def test_library_rows_of_another_company_are_refused(new_ticket, org):
    from anju.aftersales.tickets.seed import library_seed

    other = library_seed(company_id=org["second"].pk)
    with pytest.raises(ValidationError) as error:
        new_ticket(category_id=other["categories"]["渗漏"].pk)
    assert "category" in error.value.message_dict


def test_a_public_area_ticket_needs_no_unit(new_ticket, org, lib):
    ticket = new_ticket(unit_id=None, project_id=org["a"].pk, public_area="3号电梯厅",
                        customer_id=None, ticket_type="self_inspection",
                        location_id=lib["电梯厅"].pk, component_id=lib["照明"].pk,
                        category_id=lib["不亮"].pk, description="楼道灯不亮")
    assert ticket.title == "四季花城 3号电梯厅 – 电梯厅 – 照明 – 不亮 – 楼道灯不亮"
    assert ticket.unit_id is None and ticket.payer == "developer"


def test_consultation_and_praise_need_no_problem(new_ticket, svc):
    consult = new_ticket(ticket_type="consultation", location_id=None, component_id=None,
                         category_id=None, description="物业费怎么交？")
    assert consult.title.endswith("物业费怎么交？") and consult.in_warranty is None
    praise = new_ticket(ticket_type="praise", location_id=None, component_id=None,
                        category_id=None, description="维修师傅很专业",
                        praised_team_id=svc["team"].pk)
    assert praise.praised_team == svc["team"]


def test_only_service_staff_in_scope_receive(new_ticket, svc):
    with pytest.raises(PermissionDenied):
        new_ticket(actor=svc["sales"])
    with pytest.raises(PermissionDenied):
        new_ticket(actor=svc["outsider"])
    assert Ticket.objects.count() == 0


def test_photos_are_images_within_the_limit_without_metadata(new_ticket, settings):
    ticket = new_ticket(photos=[image_file(), image_file("b.png", fmt="PNG")])
    photos = list(TicketPhoto.objects.filter(ticket=ticket))
    assert len(photos) == 2
    with photos[0].image.open("rb") as stored:
        image = Image.open(stored)
        image.load()
        assert image.format == "JPEG"
        assert not image.getexif()  # EXIF and GPS gone
        assert "exif" not in image.info
    with pytest.raises(ValidationError) as error:
        new_ticket(photos=[image_file("x.jpg").__class__("x.jpg", b"not an image",
                                                          content_type="image/jpeg")])
    assert "photos" in error.value.message_dict
    assert Ticket.objects.count() == 1  # the refused one left nothing behind


def test_a_too_large_photo_is_refused(new_ticket, monkeypatch):
    from anju.aftersales.tickets import photos

    monkeypatch.setattr(photos, "MAX_BYTES", 100)
    with pytest.raises(ValidationError) as error:
        new_ticket(photos=[image_file(size=(400, 400))])
    assert "MB" in str(error.value.message_dict["photos"])


def test_visibility_scope_first_line_and_worker(new_ticket, svc, org):
    ticket = new_ticket()
    assert ticket in selectors.ticket_visible_to(svc["agent"])
    assert ticket in selectors.ticket_visible_to(svc["hq"])
    assert ticket not in selectors.ticket_visible_to(svc["outsider"])
    assert ticket not in selectors.ticket_visible_to(svc["worker"])
    services.ticket_dispatch(actor=svc["agent"], ticket_id=ticket.pk,
                             user_id=svc["worker"].pk)
    assert ticket in selectors.ticket_visible_to(svc["worker"])


def test_tickets_for_customer_keeps_the_owners_own(new_ticket, place):
    mine = new_ticket()
    hidden = new_ticket(owner_visible=False)
    new_ticket(customer_id=place["owner2"].pk, unit_id=place["units"]["302"].pk)
    rows = list(selectors.tickets_for_customer(customer_id=place["owner"].pk))
    assert rows == [mine]
    assert hidden in selectors.tickets_for_customer(customer_id=place["owner"].pk,
                                                    owner_view=False)
