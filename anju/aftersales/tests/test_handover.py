"""Handover (交付): a batch per building with its sold units and owners, appointment slots that
never overbook (conditional UPDATE + check constraint, raced on PostgreSQL), the on-site
checklist whose issues become repair tickets on the unit, keys, sign-off (and its survey),
and the batch's progress at a glance."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from anju.aftersales.care import selectors, services
from anju.aftersales.care.services import CareError, InspectionLine
from anju.aftersales.care.testing import *  # noqa: F403
from anju.aftersales.care.testing import pay_in_full, sell_building
from anju.aftersales.models import (
    HandoverEvent,
    HandoverInspectionItem,
    HandoverSlot,
    HandoverUnit,
    SurveyInvitation,
    Ticket,
)
from anju.conftest import ensure_seeded_roles

TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


def at(day: datetime.date, hour: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def batch(estate, care_staff):
    return services.handover_batch_create(
        actor=care_staff["manager"], building=estate["building"], name="7号楼第一批交付",
        starts_on=TOMORROW, ends_on=TOMORROW + datetime.timedelta(days=2))


def slot(batch, *, hour=9, capacity=1, day=TOMORROW):
    return services.handover_slot_create(actor=None, batch=batch, starts_at=at(day, hour),
                                         ends_at=at(day, hour + 1), capacity=capacity)


def handover_of(batch, label) -> HandoverUnit:
    return HandoverUnit.objects.get(batch=batch, unit__label=label)


@pytest.mark.django_db
def test_a_batch_takes_the_buildings_sold_units_with_their_owners(org, estate, batch,
                                                                  care_staff):
    rows = {h.unit.label: h.customer for h in selectors.handover_units_of(batch=batch)}
    assert rows == estate["owners"]
    # a unit already in an open batch is not taken twice
    second = services.handover_batch_create(actor=None, building=estate["building"],
                                            name="补充批次", starts_on=TOMORROW,
                                            ends_on=TOMORROW)
    assert second.units.count() == 0
    with pytest.raises(ValidationError) as caught:
        services.handover_batch_create(actor=None, building=estate["building"], name="x",
                                       starts_on=TOMORROW,
                                       ends_on=TOMORROW - datetime.timedelta(days=1))
    assert "ends_on" in caught.value.message_dict


@pytest.mark.django_db
def test_slots_must_fall_in_the_batch_and_be_well_formed(batch):
    with pytest.raises(ValidationError) as caught:
        slot(batch, day=TOMORROW + datetime.timedelta(days=10))
    assert "starts_at" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.handover_slot_create(actor=None, batch=batch, starts_at=at(TOMORROW, 10),
                                      ends_at=at(TOMORROW, 9), capacity=2)
    assert "ends_at" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        slot(batch, capacity=0)
    assert "capacity" in caught.value.message_dict


@pytest.mark.django_db
def test_a_full_slot_is_refused_and_moving_a_booking_frees_the_old_place(batch):
    nine, ten = slot(batch, hour=9), slot(batch, hour=10)
    first, second = handover_of(batch, "7-101"), handover_of(batch, "7-102")
    services.handover_book(actor=None, handover_id=first.pk, slot_id=nine.pk)
    with pytest.raises(CareError) as caught:
        services.handover_book(actor=None, handover_id=second.pk, slot_id=nine.pk)
    assert caught.value.code == "slot_full"
    services.handover_book(actor=None, handover_id=first.pk, slot_id=ten.pk)
    services.handover_book(actor=None, handover_id=second.pk, slot_id=nine.pk)
    nine.refresh_from_db()
    ten.refresh_from_db()
    assert (nine.booked, ten.booked) == (1, 1)
    services.handover_cancel_booking(actor=None, handover_id=second.pk)
    nine.refresh_from_db()
    assert nine.booked == 0 and handover_of(batch, "7-102").stage == "waiting"
    # a slot of another batch, or one that has begun, cannot be booked
    past = HandoverSlot.objects.create(batch=batch, starts_at=timezone.now()
                                       - datetime.timedelta(hours=1),
                                       ends_at=timezone.now(), capacity=5)
    with pytest.raises(CareError) as caught:
        services.handover_book(actor=None, handover_id=second.pk, slot_id=past.pk)
    assert caught.value.code == "slot_closed"


@pytest.mark.django_db
def test_the_database_refuses_an_overbooked_slot_whatever_writes_it(batch):
    full = slot(batch, capacity=1)
    HandoverSlot.objects.filter(pk=full.pk).update(booked=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        HandoverSlot.objects.filter(pk=full.pk).update(booked=2)


@pytest.mark.only_postgresql
@pytest.mark.django_db(transaction=True)
def test_owners_racing_for_the_last_places_never_overbook(org, make_user):
    ensure_seeded_roles()
    consultant = make_user("race_consultant", "sales_consultant", projects=[org["a"]])
    estate = sell_building(org["a"], consultant, code="R", floors=4, per_floor=3)
    batch = services.handover_batch_create(actor=None, building=estate["building"],
                                           name="抢约", starts_on=TOMORROW, ends_on=TOMORROW)
    target = slot(batch, capacity=3)
    handovers = list(HandoverUnit.objects.filter(batch=batch).values_list("pk", flat=True))
    outcomes: list[str] = []
    barrier = threading.Barrier(len(handovers))

    def book(handover_id):
        try:
            barrier.wait()
            services.handover_book(actor=None, handover_id=handover_id, slot_id=target.pk)
            outcomes.append("booked")
        except CareError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(pk,)) for pk in handovers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    target.refresh_from_db()
    assert outcomes.count("booked") == 3 and outcomes.count("slot_full") == 9
    assert target.booked == 3
    assert HandoverUnit.objects.filter(slot=target).count() == 3


@pytest.mark.django_db
def test_inspection_issues_become_repair_tickets_on_the_unit(batch, lib, care_staff):
    agent = care_staff["agent"]
    handover = handover_of(batch, "7-201")
    lines = [InspectionLine("客厅", "墙面", ok=True),
             InspectionLine("卫生间", "天花", ok=False, note="下水管周围渗水",
                            component_id=lib["天花"].pk, category_id=lib["渗漏"].pk)]
    items = services.handover_inspect(actor=agent, handover_id=handover.pk, lines=lines)
    issue = next(i for i in items if i.result == "issue")
    ticket = Ticket.objects.get(pk=issue.ticket_id)
    assert (ticket.channel, ticket.ticket_type) == ("handover", "repair")
    assert ticket.unit_id == handover.unit_id and ticket.customer_id == handover.customer_id
    assert ticket.location == lib["卫生间"] and "下水管周围渗水" in ticket.description
    assert handover_of(batch, "7-201").stage == "inspected"


@pytest.mark.django_db
def test_a_bad_checklist_line_is_named_and_nothing_is_written(batch, lib, care_staff):
    handover = handover_of(batch, "7-202")
    lines = [InspectionLine("卫生间", "天花", ok=False, note="渗水",
                            component_id=lib["天花"].pk, category_id=lib["渗漏"].pk),
             InspectionLine("厨房", "墙面", ok=False, note="空鼓")]  # no problem chosen
    with pytest.raises(ValidationError) as caught:
        services.handover_inspect(actor=care_staff["agent"], handover_id=handover.pk,
                                  lines=lines)
    assert "厨房 墙面" in str(caught.value.message_dict["items"])
    assert Ticket.objects.count() == 0 and HandoverInspectionItem.objects.count() == 0
    with pytest.raises(ValidationError) as caught:
        services.handover_inspect(actor=care_staff["agent"], handover_id=handover.pk,
                                  lines=[InspectionLine("厨房", "墙面", ok=False, note="")])
    assert "note_1" in caught.value.message_dict


@pytest.mark.django_db
def test_keys_then_sign_off_in_order_and_the_handover_survey_goes_out(
        org, batch, care_staff, survey_template):
    survey_template(org["first"], trigger="handover", name="交付满意度调查")
    handover = handover_of(batch, "7-101")
    with pytest.raises(CareError):
        services.handover_keys(actor=None, handover_id=handover.pk, key_count=2)
    services.handover_inspect(actor=None, handover_id=handover.pk,
                              lines=[InspectionLine("客厅", "墙面", ok=True)])
    with pytest.raises(ValidationError) as caught:
        services.handover_keys(actor=None, handover_id=handover.pk, key_count=0)
    assert "key_count" in caught.value.message_dict
    with pytest.raises(CareError):
        services.handover_sign_off(actor=None, handover_id=handover.pk, signed_by="业主")
    services.handover_keys(actor=None, handover_id=handover.pk, key_count=3)
    pay_in_full(handover.unit)
    done = services.handover_sign_off(actor=None, handover_id=handover.pk,
                                      signed_by="业主7101")
    assert done.stage == "signed" and done.signed_by == "业主7101"
    invitation = SurveyInvitation.objects.get()
    assert (invitation.trigger, invitation.customer_id) == ("handover", handover.customer_id)
    assert selectors.handover_progress(batch_ids=[batch.pk])[batch.pk] == {
        "waiting": 3, "booked": 0, "inspected": 0, "keys": 0, "signed": 1, "total": 4}


@pytest.mark.django_db
def test_pages_show_progress_and_run_the_steps(batch, care_staff, lib,
                                               django_assert_max_num_queries):
    nine = slot(batch, capacity=2)
    services.handover_book(actor=None, handover_id=handover_of(batch, "7-101").pk,
                           slot_id=nine.pk)
    manager = Client()
    manager.force_login(care_staff["manager"])
    manager.get(reverse("aftersales:handover_list"))
    with django_assert_max_num_queries(14):
        listing = manager.get(reverse("aftersales:handover_list"))
    assert "7号楼第一批交付" in listing.content.decode()
    with django_assert_max_num_queries(16):
        detail = manager.get(reverse("aftersales:handover_detail", args=[batch.pk]))
    body = detail.content.decode()
    assert '<strong data-stage="total">4</strong>' in body
    assert '<strong data-stage="booked">1</strong>' in body
    bad_slot = manager.post(reverse("aftersales:handover_detail", args=[batch.pk]),
                            {"starts_at": "", "ends_at": "", "capacity": "3"})
    assert bad_slot.status_code == 400
    added = manager.post(reverse("aftersales:handover_detail", args=[batch.pk]),
                         {"starts_at": f"{TOMORROW}T14:00", "ends_at": f"{TOMORROW}T15:00",
                          "capacity": "3"})
    assert added.status_code == 302 and batch.slots.count() == 2

    handover = handover_of(batch, "7-102")
    unit_url = reverse("aftersales:handover_unit", args=[handover.pk])
    with django_assert_max_num_queries(18):
        assert manager.get(unit_url).status_code == 200
    action = "aftersales:handover_unit_action"
    form = {"r:卫生间|天花": "issue", "n:卫生间|天花": "天花渗水",
            "p:卫生间|天花": f"{lib['天花'].pk}:{lib['渗漏'].pk}", "r:客厅|墙面": "ok"}
    assert manager.post(reverse(action, args=[handover.pk, "inspect"]), form).status_code == 302
    assert Ticket.objects.filter(unit=handover.unit, channel="handover").count() == 1
    refused = manager.post(reverse(action, args=[handover.pk, "sign"]), {"signed_by": "x"})
    assert refused.status_code == 409
    assert manager.post(reverse(action, args=[handover.pk, "keys"]),
                        {"key_count": "2"}).status_code == 302
    pay_in_full(handover.unit)
    assert manager.post(reverse(action, args=[handover.pk, "sign"]),
                        {"signed_by": "业主7102"}).status_code == 302
    assert handover_of(batch, "7-102").stage == "signed"
    # another project's agent finds nothing
    outsider = Client()
    outsider.force_login(care_staff["outsider"])
    assert outsider.get(unit_url).status_code == 404
    assert outsider.get(reverse("aftersales:handover_detail",
                                args=[batch.pk])).status_code == 404


@pytest.mark.django_db
def test_api_creates_a_batch_books_and_reports_progress(estate, care_staff,
                                                        django_assert_max_num_queries):
    api = APIClient()
    api.force_authenticate(care_staff["manager"])
    created = api.post("/api/v1/service/handover-batches/", {
        "building": estate["building"].pk, "name": "API批次", "starts_on": str(TOMORROW),
        "ends_on": str(TOMORROW)}, format="json")
    assert created.status_code == 201, created.json()
    batch_id = created.json()["id"]
    assert created.json()["progress"]["total"] == 4
    made = api.post(f"/api/v1/service/handover-batches/{batch_id}/slots/", {
        "starts_at": at(TOMORROW, 9).isoformat(), "ends_at": at(TOMORROW, 10).isoformat(),
        "capacity": 1}, format="json")
    assert made.status_code == 201
    units = api.get("/api/v1/service/handover-units/", {"batch": batch_id}).json()["results"]
    first, second = units[0]["id"], units[1]["id"]
    booked = api.post(f"/api/v1/service/handover-units/{first}/book/",
                      {"slot": made.json()["id"]}, format="json")
    assert booked.status_code == 200 and booked.json()["stage"] == "booked"
    full = api.post(f"/api/v1/service/handover-units/{second}/book/",
                    {"slot": made.json()["id"]}, format="json")
    assert full.status_code == 409 and full.json()["code"] == "slot_full"
    history = api.get(f"/api/v1/service/handover-units/{first}/history/").json()
    assert [(e["kind"], e["actor_name"]) for e in history] == [
        ("booked", str(care_staff["manager"]))]
    assert api.get(f"/api/v1/service/handover-units/{second}/history/").json() == []
    with django_assert_max_num_queries(6):
        listed = api.get("/api/v1/service/handover-batches/")
    assert listed.json()["results"][0]["progress"]["booked"] == 1
    with django_assert_max_num_queries(6):
        api.get("/api/v1/service/handover-units/", {"batch": batch_id})
    outsider = APIClient()
    outsider.force_authenticate(care_staff["outsider"])
    assert outsider.get(f"/api/v1/service/handover-batches/{batch_id}/").status_code == 404
    assert outsider.post(f"/api/v1/service/handover-units/{first}/book/",
                         {"slot": made.json()["id"]}, format="json").status_code == 404


@pytest.mark.django_db
def test_handover_steps_leave_an_audit_trail(batch, care_staff):
    from auditlog.models import LogEntry

    nine = slot(batch, capacity=2)
    handover = handover_of(batch, "7-101")
    services.handover_book(actor=None, handover_id=handover.pk, slot_id=nine.pk)
    entries = LogEntry.objects.get_for_object(handover)
    assert any(e.changes_dict.get("stage") == ["waiting", "booked"] for e in entries)


@pytest.mark.django_db
def test_the_history_tells_every_step_with_who_and_when(batch, lib, care_staff):
    """From the appointment to the keys, each step leaves a line on the unit's history in
    the staff's language, with the times as the owner was told them (Shanghai time)."""
    agent = care_staff["agent"]
    nine, ten = slot(batch, hour=9), slot(batch, hour=10)
    handover = handover_of(batch, "7-101")
    services.handover_book(actor=None, handover_id=handover.pk, slot_id=nine.pk)
    services.handover_book(actor=agent, handover_id=handover.pk, slot_id=ten.pk)
    services.handover_cancel_booking(actor=agent, handover_id=handover.pk)
    services.handover_book(actor=agent, handover_id=handover.pk, slot_id=nine.pk)
    services.handover_inspect(actor=agent, handover_id=handover.pk, lines=[
        InspectionLine("客厅", "墙面", ok=True), InspectionLine("客厅", "地面", ok=True),
        InspectionLine("卫生间", "天花", ok=False, note="渗水",
                       component_id=lib["天花"].pk, category_id=lib["渗漏"].pk)])
    services.handover_keys(actor=agent, handover_id=handover.pk, key_count=3)

    events = list(HandoverEvent.objects.filter(handover=handover).order_by("id"))
    assert [e.kind for e in events] == ["booked", "rebooked", "unbooked", "booked",
                                        "inspected", "keys"]
    day = TOMORROW.isoformat()
    assert events[0].message == f"已预约 {day} 09:00 验房交付。" and events[0].actor is None
    assert events[1].message == f"预约由 {day} 09:00 改至 {day} 10:00。"
    assert events[1].actor == agent
    assert events[2].message == f"已取消 {day} 10:00 的预约。"
    ticket = Ticket.objects.get(unit=handover.unit, channel="handover")
    assert events[4].message == f"查验 3 项，2 项合格；问题已转维修工单 {ticket.number}。"
    assert events[5].message == "已交钥匙 3 把。"
    client = Client()
    client.force_login(agent)
    page = client.get(reverse("aftersales:handover_unit", args=[handover.pk])).content.decode()
    assert 'data-kind="rebooked"' in page and ticket.number in page


@pytest.mark.django_db
def test_staff_cancel_an_appointment_on_the_page_and_through_the_api(batch, care_staff):
    """The owner phones to cancel: the agent frees the place (the slot counts it again) on
    the unit's page or through the API; with no appointment the answer says why."""
    nine = slot(batch, capacity=1)
    first, second = handover_of(batch, "7-101"), handover_of(batch, "7-102")
    services.handover_book(actor=None, handover_id=first.pk, slot_id=nine.pk)
    agent = Client()
    agent.force_login(care_staff["agent"])
    page = agent.get(reverse("aftersales:handover_unit", args=[first.pk])).content.decode()
    assert 'data-action="cancel-booking"' in page and "取消预约" in page
    action = "aftersales:handover_unit_action"
    assert agent.post(reverse(action, args=[first.pk, "cancel"])).status_code == 302
    assert handover_of(batch, "7-101").stage == "waiting"
    assert HandoverSlot.objects.get(pk=nine.pk).booked == 0
    again = agent.post(reverse(action, args=[first.pk, "cancel"]))
    assert again.status_code == 409 and "没有可取消的预约" in again.content.decode()

    api = APIClient()
    api.force_authenticate(care_staff["agent"])
    services.handover_book(actor=None, handover_id=second.pk, slot_id=nine.pk)
    answer = api.post(f"/api/v1/service/handover-units/{second.pk}/cancel-booking/")
    assert answer.status_code == 200 and answer.json()["stage"] == "waiting"
    refused = api.post(f"/api/v1/service/handover-units/{second.pk}/cancel-booking/")
    assert refused.status_code == 409 and refused.json()["code"] == "wrong_stage"
    assert [e.kind for e in HandoverEvent.objects.filter(handover=second)] == ["booked",
                                                                              "unbooked"]
