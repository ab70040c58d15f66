"""What an owner does in the portal: file a repair or complaint with photos (images only,
size limit, metadata stripped), follow it, confirm and rate it through the tickets services,
answer surveys, book a handover slot; and never reach another owner's anything."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from anju.aftersales.care import services as care
from anju.aftersales.models import (
    HandoverSlot,
    SurveyResponse,
    Ticket,
    TicketCallback,
    TicketPhoto,
)
from anju.aftersales.tickets import services as tickets

from .portal_fixtures import *  # noqa: F403
from .portal_fixtures import image_file, leak, run_ticket_to_completion

pytestmark = pytest.mark.django_db
TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


def file_leak(client: Client, unit, lib, **extra):
    form = {"ticket_type": "repair", "unit": unit.pk, "location": lib["卫生间"].pk,
            "problem": leak(lib), "description": "卫生间天花下水管周围渗水",
            "photos": [image_file()]}
    form.update(extra)
    return client.post("/owner/tickets/new/", form)


@pytest.fixture
def leak_ticket(owners, owner_client, estate, lib):
    client = owner_client(owners["a"])
    answer = file_leak(client, estate["units"]["7-101"], lib)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    return Ticket.objects.get()


def test_an_owner_files_a_leak_with_a_photo_stripped_of_its_metadata(leak_ticket, owners):
    ticket = leak_ticket
    assert (ticket.channel, ticket.ticket_type, ticket.status) == ("portal", "repair",
                                                                   "received")
    assert ticket.customer_id == owners["a"].customer_id
    photo = TicketPhoto.objects.get(ticket=ticket)
    data = photo.image.open("rb").read()
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
    assert b"SecretCam" not in data


def test_bad_uploads_and_missing_fields_are_named_and_nothing_is_written(
        owners, owner_client, estate, lib):
    client = owner_client(owners["a"])
    unit = estate["units"]["7-101"]
    not_image = SimpleUploadedFile("leak.jpg", b"%PDF-1.4 not an image", "image/jpeg")
    answer = file_leak(client, unit, lib, photos=[not_image])
    assert answer.status_code == 400 and 'data-field="photos"' in answer.content.decode()
    huge = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * (9 * 1024 * 1024), "image/jpeg")
    answer = file_leak(client, unit, lib, photos=[huge])
    assert answer.status_code == 400 and 'data-field="photos"' in answer.content.decode()
    answer = file_leak(client, unit, lib, problem="")
    assert answer.status_code == 400 and 'data-field="problem"' in answer.content.decode()
    assert "卫生间天花下水管周围渗水" in answer.content.decode()  # what was typed is kept
    # another owner's unit is not one of yours
    answer = file_leak(client, estate["units"]["7-102"], lib)
    assert answer.status_code == 400 and 'data-field="unit"' in answer.content.decode()
    assert Ticket.objects.count() == 0 and TicketPhoto.objects.count() == 0


def test_a_complaint_needs_no_problem_category(owners, owner_client, estate):
    client = owner_client(owners["a"])
    answer = client.post("/owner/tickets/new/", {
        "ticket_type": "complaint", "unit": estate["units"]["7-101"].pk,
        "description": "物业噪音扰民"})
    assert answer.status_code == 302
    assert Ticket.objects.get().ticket_type == "complaint"


def test_the_owner_follows_confirms_and_rates_their_ticket(leak_ticket, owners, owner_client,
                                                           care_staff,
                                                           django_assert_max_num_queries):
    client = owner_client(owners["a"])
    url = f"/owner/tickets/{leak_ticket.pk}/"
    client.get(url)
    with django_assert_max_num_queries(8):
        page = client.get(url)
    assert 'aria-current="step"' in page.content.decode()
    run_ticket_to_completion(agent=care_staff["agent"], worker=care_staff["agent"],
                             ticket_id=leak_ticket.pk, note="更换密封圈")
    page = client.get(url).content.decode()
    assert "更换密封圈" in page and "/confirm/" in page
    # rating before confirming is refused with a message, not a 500
    early = client.post(f"{url}rate/", {"score": "5"})
    assert early.status_code == 409
    assert client.post(f"{url}confirm/").status_code == 302
    bad = client.post(f"{url}rate/", {"score": "9"})
    assert bad.status_code == 400 and 'data-field="score"' in bad.content.decode()
    assert client.post(f"{url}rate/", {"score": "5", "comment": "师傅很专业"}).status_code == 302
    twice = client.post(f"{url}rate/", {"score": "1"})
    assert twice.status_code == 409
    leak_ticket.refresh_from_db()
    assert leak_ticket.status == "confirmed" and leak_ticket.satisfaction == 5
    assert TicketCallback.objects.filter(ticket=leak_ticket).count() == 1
    photos = list(TicketPhoto.objects.filter(ticket=leak_ticket))
    assert client.get(f"{url}photos/{photos[0].pk}/").status_code == 200


def test_another_owner_reaches_nothing_by_any_url_or_api_id(
        leak_ticket, owners, owner_client, estate, org, survey_template, lib):
    survey_template(org["first"], trigger="manual")
    invitation = care.survey_invite(customer=estate["owners"]["7-101"], project=org["a"],
                                    trigger="manual", reference="x", send_sms=False)
    batch = care.handover_batch_create(actor=None, building=estate["building"], name="批次",
                                       starts_on=TOMORROW, ends_on=TOMORROW)
    handover_a = batch.units.get(unit__label="7-101")
    slot = HandoverSlot.objects.create(
        batch=batch, capacity=2,
        starts_at=timezone.make_aware(datetime.datetime.combine(TOMORROW, datetime.time(9))),
        ends_at=timezone.make_aware(datetime.datetime.combine(TOMORROW, datetime.time(10))))
    photo = TicketPhoto.objects.get(ticket=leak_ticket)
    b = owner_client(owners["b"])
    t = leak_ticket.pk
    for url in (f"/owner/tickets/{t}/", f"/owner/tickets/{t}/photos/{photo.pk}/",
                f"/owner/handover/{handover_a.pk}/", f"/api/v1/portal/tickets/{t}/",
                f"/api/v1/portal/surveys/{invitation.pk}/",
                f"/api/v1/portal/handovers/{handover_a.pk}/slots/"):
        assert b.get(url).status_code == 404, url
    for url, data in ((f"/owner/tickets/{t}/confirm/", {}),
                      (f"/owner/tickets/{t}/rate/", {"score": 1}),
                      (f"/owner/handover/{handover_a.pk}/", {"slot": slot.pk}),
                      (f"/api/v1/portal/tickets/{t}/confirm/", {}),
                      (f"/api/v1/portal/tickets/{t}/rate/", {"score": 1}),
                      (f"/api/v1/portal/surveys/{invitation.pk}/answer/", {"answers": {}}),
                      (f"/api/v1/portal/handovers/{handover_a.pk}/book/", {"slot": slot.pk})):
        answer = b.post(url, data, content_type="application/json")
        assert answer.status_code == 404, url
    assert b.get("/api/v1/portal/tickets/").json() == []
    units = b.get("/api/v1/portal/units/").json()
    assert [u["label"] for u in units] == ["7-102"]
    created = b.post("/api/v1/portal/tickets/", {
        "ticket_type": "complaint", "unit": estate["units"]["7-101"].pk,
        "description": "冒充"}, content_type="application/json")
    assert created.status_code == 404
    handover_a.refresh_from_db()
    assert handover_a.slot_id is None and Ticket.objects.count() == 1
    # ids that are not numbers are 404s too, not 500s
    assert b.get("/api/v1/portal/tickets/abc/").status_code == 404


def test_surveys_are_answered_from_their_link_once(org, estate, owners, owner_client,
                                                   survey_template):
    template = survey_template(org["first"], trigger="manual")
    invitation = care.survey_invite(customer=estate["owners"]["7-101"], project=org["a"],
                                    trigger="manual", reference="y", send_sms=False)
    client = owner_client(owners["a"])
    assert template.name in client.get("/owner/").content.decode()
    url = f"/owner/surveys/{invitation.token}/"
    q = {question.kind: f"q{question.pk}" for question in template.questions.all()}
    bad = client.post(url, {q["nps"]: "12", q["choice"]: "准时"})
    body = bad.content.decode()
    assert bad.status_code == 400
    assert f'data-field="{q["nps"]}"' in body and f'data-field="{q["scale"]}"' in body
    done = client.post(url, {q["nps"]: "10", q["scale"]: "5", q["choice"]: "准时",
                             q["text"]: "交付很顺利"})
    assert done.status_code == 200 and SurveyResponse.objects.count() == 1
    again = client.post(url, {q["nps"]: "0", q["scale"]: "1", q["choice"]: "迟到"})
    assert again.status_code == 409 and SurveyResponse.objects.count() == 1
    assert Client().get("/owner/surveys/not-a-token/").status_code == 404


def test_owner_books_a_handover_slot_and_a_full_one_is_refused(owners, owner_client, estate):
    batch = care.handover_batch_create(actor=None, building=estate["building"],
                                       name="7号楼交付", starts_on=TOMORROW, ends_on=TOMORROW)
    start = timezone.make_aware(datetime.datetime.combine(TOMORROW, datetime.time(9)))
    slot = care.handover_slot_create(actor=None, batch=batch, starts_at=start,
                                     ends_at=start + datetime.timedelta(hours=1), capacity=1)
    a, b = owner_client(owners["a"]), owner_client(owners["b"])
    handover_a = batch.units.get(unit__label="7-101")
    handover_b = batch.units.get(unit__label="7-102")
    assert f"/owner/handover/{handover_a.pk}/" in a.get("/owner/").content.decode()
    assert a.post(f"/owner/handover/{handover_a.pk}/", {"slot": slot.pk}).status_code == 302
    page = a.get(f"/owner/handover/{handover_a.pk}/").content.decode()
    assert 'class="notice booked"' in page
    full = b.post(f"/owner/handover/{handover_b.pk}/", {"slot": slot.pk})
    assert full.status_code == 409
    api_full = b.post(f"/api/v1/portal/handovers/{handover_b.pk}/book/", {"slot": slot.pk},
                      content_type="application/json")
    assert api_full.status_code == 409 and api_full.json()["code"] == "slot_full"
    slot.refresh_from_db()
    assert slot.booked == 1
    # the first owner gives the place up; the second one takes it
    assert a.post(f"/owner/handover/{handover_a.pk}/", {"action": "cancel"}).status_code == 302
    assert b.post(f"/owner/handover/{handover_b.pk}/", {"slot": slot.pk}).status_code == 302
    slot.refresh_from_db()
    assert slot.booked == 1 and slot.bookings.get().pk == handover_b.pk


def test_portal_api_files_follows_and_rates_with_pinned_queries(
        owners, owner_client, estate, lib, care_staff, django_assert_max_num_queries):
    client = owner_client(owners["a"], enforce_csrf_checks=True)
    client.get("/owner/")  # the page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    unit = estate["units"]["7-101"]
    no_csrf = client.post("/api/v1/portal/tickets/", {"ticket_type": "complaint",
                                                      "unit": unit.pk, "description": "x"})
    assert no_csrf.status_code == 403
    created = client.post("/api/v1/portal/tickets/", {
        "ticket_type": "repair", "unit": unit.pk, "location": lib["卫生间"].pk,
        "problem": leak(lib), "description": "天花渗水", "photos": [image_file()]},
        HTTP_X_CSRFTOKEN=token)
    assert created.status_code == 201, created.json()
    ticket_id = created.json()["id"]
    with django_assert_max_num_queries(6):
        listed = client.get("/api/v1/portal/tickets/")
    assert [t["id"] for t in listed.json()] == [ticket_id]
    run_ticket_to_completion(agent=care_staff["agent"], worker=care_staff["agent"],
                             ticket_id=ticket_id)
    with django_assert_max_num_queries(8):
        detail = client.get(f"/api/v1/portal/tickets/{ticket_id}/").json()
    assert detail["status"] == "completed" and detail["events"]
    confirmed = client.post(f"/api/v1/portal/tickets/{ticket_id}/confirm/",
                            HTTP_X_CSRFTOKEN=token)
    assert confirmed.json()["status"] == "confirmed"
    rated = client.post(f"/api/v1/portal/tickets/{ticket_id}/rate/",
                        {"score": 4, "comment": "好"}, content_type="application/json",
                        HTTP_X_CSRFTOKEN=token)
    assert rated.status_code == 200 and rated.json()["satisfaction"] == 4
    twice = client.post(f"/api/v1/portal/tickets/{ticket_id}/rate/", {"score": 1},
                        content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert twice.status_code == 409


def test_home_page_query_count_does_not_grow_with_tickets(owners, owner_client, estate, lib,
                                                          django_assert_max_num_queries):
    client = owner_client(owners["a"])
    for _n in range(3):
        file_leak(client, estate["units"]["7-101"], lib, photos=[])
    client.get("/owner/")
    with django_assert_max_num_queries(8):
        page = client.get("/owner/")
    assert page.content.decode().count("/owner/tickets/") >= 4


def test_staff_agent_sees_the_portal_ticket_in_their_scope(leak_ticket, care_staff):
    from anju.aftersales.tickets.selectors import ticket_visible_to

    assert ticket_visible_to(care_staff["agent"]).filter(pk=leak_ticket.pk).exists()
    assert not ticket_visible_to(care_staff["outsider"]).filter(pk=leak_ticket.pk).exists()
    tickets.ticket_dispatch(actor=care_staff["agent"], ticket_id=leak_ticket.pk,
                            user_id=care_staff["agent"].pk)


def test_every_portal_page_and_api_list_pins_its_queries(
        owners, owner_client, estate, org, lib, survey_template, django_assert_max_num_queries):
    survey_template(org["first"], trigger="manual")
    invitation = care.survey_invite(customer=estate["owners"]["7-101"], project=org["a"],
                                    trigger="manual", reference="q", send_sms=False)
    batch = care.handover_batch_create(actor=None, building=estate["building"], name="批次",
                                       starts_on=TOMORROW, ends_on=TOMORROW)
    start = timezone.make_aware(datetime.datetime.combine(TOMORROW, datetime.time(9)))
    for hour in range(3):
        care.handover_slot_create(actor=None, batch=batch,
                                  starts_at=start + datetime.timedelta(hours=hour),
                                  ends_at=start + datetime.timedelta(hours=hour + 1),
                                  capacity=2)
    handover = batch.units.get(unit__label="7-101")
    client = owner_client(owners["a"])
    pinned = {
        "/owner/login/": 0,
        "/owner/tickets/new/": 8,
        f"/owner/surveys/{invitation.token}/": 5,
        f"/owner/handover/{handover.pk}/": 5,
        "/api/v1/portal/units/": 4,
        "/api/v1/portal/surveys/": 5,
        "/api/v1/portal/handovers/": 4,
    }
    anonymous = Client()
    for url, most in pinned.items():
        browser = anonymous if url == "/owner/login/" else client
        browser.get(url)
        with django_assert_max_num_queries(most):
            assert browser.get(url).status_code == 200, url


def test_not_fixed_sends_the_work_back_with_the_owners_reason(leak_ticket, owners,
                                                              owner_client, care_staff):
    client = owner_client(owners["a"])
    url = f"/owner/tickets/{leak_ticket.pk}/"
    run_ticket_to_completion(agent=care_staff["agent"], worker=care_staff["agent"],
                             ticket_id=leak_ticket.pk)
    empty = client.post(f"{url}reject/", {"reason": ""})
    assert empty.status_code == 400 and 'data-field="reason"' in empty.content.decode()
    assert client.post(f"{url}reject/", {"reason": "还在滴水"}).status_code == 302
    leak_ticket.refresh_from_db()
    assert leak_ticket.status == "dispatched"
    assert "还在滴水" in client.get(url).content.decode()
