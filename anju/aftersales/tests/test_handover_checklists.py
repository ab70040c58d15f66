"""The inspection checklist is data per project: a project's own, else its company's
default, else the built-in one; service managers edit it on a staff page (htmx); a batch
copies the checklist in force when it is created, so later edits never change an inspection
in progress; the inspection page and the API read the batch's copy."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from anju.aftersales.care import selectors, services
from anju.aftersales.care.services import CHECKLIST, InspectionLine
from anju.aftersales.care.testing import *  # noqa: F403
from anju.aftersales.models import ChecklistTemplate, HandoverInspectionItem, HandoverUnit
from anju.aftersales.tickets.seed import library_seed

pytestmark = pytest.mark.django_db
TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


def rooms_of(rooms) -> dict[str, list[str]]:
    return {row["room"]: row["items"] for row in rooms}


def change(project, actor=None, **kwargs):
    return services.checklist_change(actor=actor, company=project.company, project=project,
                                     **kwargs)


def test_a_project_uses_its_own_then_the_company_default_then_the_built_in(org):
    rooms, source = selectors.checklist_in_force(project_id=org["a"].pk)
    assert source == "default" and rooms_of(rooms) == {k: list(v) for k, v in CHECKLIST.items()}
    services.checklist_change(actor=None, company=org["first"], action="item_add",
                              room="客厅", name="入户门")
    rooms, source = selectors.checklist_in_force(project_id=org["a"].pk)
    assert source == "company" and rooms_of(rooms)["客厅"][-1] == "入户门"
    change(org["a"], action="room_add", name="储藏间")
    change(org["a"], action="item_add", room="储藏间", name="墙面")
    rooms, source = selectors.checklist_in_force(project_id=org["a"].pk)
    # the project's copy started from the company's default
    assert source == "project" and rooms_of(rooms)["储藏间"] == ["墙面"]
    assert "入户门" in rooms_of(rooms)["客厅"]
    assert selectors.checklist_in_force(project_id=org["b"].pk)[1] == "company"
    assert selectors.checklist_in_force(project_id=org["c"].pk)[1] == "default"
    services.checklist_reset(actor=None, company=org["first"], project=org["a"])
    assert selectors.checklist_in_force(project_id=org["a"].pk)[1] == "company"


def test_items_and_rooms_are_added_renamed_reordered_and_removed(org):
    project = org["a"]
    change(project, action="item_rename", room="阳台", item="栏杆", name="栏杆高度")
    change(project, action="item_up", room="阳台", item="排水")
    change(project, action="item_remove", room="阳台", item="地面")
    change(project, action="room_up", room="厨房")
    change(project, action="room_rename", room="次卧", name="儿童房")
    change(project, action="room_remove", room="主卧")
    rooms = ChecklistTemplate.objects.get(project=project).rooms
    assert [r["room"] for r in rooms] == ["客厅", "厨房", "儿童房", "卫生间", "阳台"]
    assert rooms_of(rooms)["阳台"] == ["排水", "栏杆高度"]


@pytest.mark.parametrize("kwargs, field", [
    ({"action": "item_add", "room": "客厅", "name": "墙面"}, "name"),      # already there
    ({"action": "item_add", "room": "客厅", "name": "  "}, "name"),        # empty
    ({"action": "item_add", "room": "客厅", "name": "墙|面"}, "name"),      # the form's separator
    ({"action": "item_add", "room": "客厅", "name": "长" * 51}, "name"),    # too long
    ({"action": "room_add", "name": "客厅"}, "name"),
    ({"action": "item_remove", "room": "客厅", "item": "冰箱"}, "item"),
    ({"action": "item_add", "room": "车库", "name": "地面"}, "room"),
    ({"action": "explode", "room": "客厅"}, "action"),
])
def test_bad_edits_name_the_field_and_write_nothing(org, kwargs, field):
    with pytest.raises(ValidationError) as caught:
        change(org["a"], **kwargs)
    assert field in caught.value.message_dict
    assert not ChecklistTemplate.objects.exists()  # not even the project's copy


def test_a_checklist_keeps_at_least_one_item(org):
    project = org["a"]
    for room in list(CHECKLIST)[:-1]:
        change(project, action="room_remove", room=room)
    for item in CHECKLIST["阳台"][:-1]:
        change(project, action="item_remove", room="阳台", item=item)
    with pytest.raises(ValidationError) as caught:
        change(project, action="item_remove", room="阳台", item="排水")
    assert "items" in caught.value.message_dict
    assert rooms_of(ChecklistTemplate.objects.get(project=project).rooms) == {"阳台": ["排水"]}


def test_a_batch_keeps_the_checklist_it_started_with(org, estate, care_staff, lib,
                                                     django_assert_max_num_queries):
    project = org["a"]
    change(project, action="item_add", room="客厅", name="入户门")
    batch = services.handover_batch_create(actor=None, building=estate["building"],
                                           name="一批", starts_on=TOMORROW, ends_on=TOMORROW)
    change(project, action="item_remove", room="客厅", item="入户门")
    change(project, action="room_add", name="车库")
    change(project, action="item_add", room="车库", name="地面")
    assert "入户门" in rooms_of(services.batch_checklist(batch))["客厅"]
    handover = HandoverUnit.objects.get(batch=batch, unit__label="7-101")
    services.handover_inspect(actor=None, handover_id=handover.pk,
                              lines=[InspectionLine("客厅", "入户门", ok=True)])
    # a line that is not on the batch's checklist is named and refused
    with pytest.raises(ValidationError) as caught:
        services.handover_inspect(actor=None, handover_id=handover.pk,
                                  lines=[InspectionLine("车库", "地面", ok=True)])
    assert "车库 地面" in str(caught.value.message_dict["items"])
    assert list(HandoverInspectionItem.objects.values_list("item", flat=True)) == ["入户门"]
    # the inspection page and the API read the batch's copy
    client = Client()
    client.force_login(care_staff["agent"])
    page = client.get(reverse("aftersales:handover_unit", args=[handover.pk])).content.decode()
    assert 'name="r:客厅|入户门"' in page and "车库" not in page
    api = APIClient()
    api.force_authenticate(care_staff["agent"])
    with django_assert_max_num_queries(6):
        lines = api.get(f"/api/v1/service/handover-units/{handover.pk}/checklist/").json()
    assert {"room": "客厅", "item": "入户门", "result": "ok", "note": "",
            "ticket": None} in lines
    assert not any(line["room"] == "车库" for line in lines)
    detail = api.get(f"/api/v1/service/handover-batches/{batch.pk}/").json()
    assert "入户门" in rooms_of(detail["checklist"])["客厅"]


def test_managers_edit_on_the_staff_page_with_htmx(org, care_staff,
                                                   django_assert_max_num_queries):
    url = reverse("aftersales:checklist_project", args=[org["a"].pk])
    manager = Client()
    manager.force_login(care_staff["manager"])
    manager.get(url)
    with django_assert_max_num_queries(12):
        page = manager.get(url)
    assert page.status_code == 200 and 'data-source="default"' in page.content.decode()
    added = manager.post(url, {"action": "item_add", "room": "客厅", "name": "入户门"},
                         HTTP_HX_REQUEST="true")
    body = added.content.decode()
    assert added.status_code == 200 and 'id="checklist"' in body and "<html" not in body
    assert 'data-item="入户门"' in body and 'data-source="project"' in body
    refused = manager.post(url, {"action": "item_add", "room": "客厅", "name": "入户门"},
                           HTTP_HX_REQUEST="true")
    assert 'role="alert"' in refused.content.decode()
    plain = manager.post(url, {"action": "item_add", "room": "客厅", "name": ""})
    assert plain.status_code == 400
    assert manager.post(url, {"action": "item_up", "room": "客厅",
                              "item": "入户门"}).status_code == 302
    assert rooms_of(ChecklistTemplate.objects.get(project=org["a"]).rooms)["客厅"][-2:] == [
        "入户门", "水电"]
    with django_assert_max_num_queries(10):
        listing = manager.get(reverse("aftersales:checklist_list"))
    assert 'data-source="project"' in listing.content.decode()
    # an agent reads but does not edit; another project's people find nothing
    agent = Client()
    agent.force_login(care_staff["agent"])
    assert agent.get(url).status_code == 200
    assert agent.post(url, {"action": "item_add", "room": "客厅",
                            "name": "x"}).status_code == 403
    outsider = Client()
    outsider.force_login(care_staff["outsider"])
    assert outsider.get(url).status_code == 404
    # a project's manager does not change the company's default for every project
    company_url = reverse("aftersales:checklist_company", args=[org["first"].pk])
    assert manager.get(company_url).status_code == 200
    assert manager.post(company_url, {"action": "room_add", "name": "车库"}).status_code == 403


def test_checklist_changes_leave_an_audit_trail(org):
    from auditlog.models import LogEntry

    template = change(org["a"], action="item_add", room="客厅", name="入户门")
    assert LogEntry.objects.get_for_object(template).exists()


def test_the_api_reads_and_edits_checklists_as_the_page_does(org, care_staff, make_user):
    """A project's checklist in force and a company's default, read by service staff in
    scope, changed by managers one named edit at a time; a bad edit names the field, an
    agent may only read, and a project out of scope is not found."""
    project = org["a"]
    manager, agent = APIClient(), APIClient()
    manager.force_authenticate(care_staff["manager"])
    agent.force_authenticate(care_staff["agent"])
    url = f"/api/v1/service/handover-checklists/{project.pk}/"

    read = agent.get(url)
    assert read.status_code == 200
    assert read.json()["source"] == "default" and read.json()["may_edit"] is False
    assert rooms_of(read.json()["rooms"]) == {k: list(v) for k, v in CHECKLIST.items()}
    assert agent.post(url + "change/", {"action": "room_add", "name": "储藏间"},
                      format="json").status_code == 403

    added = manager.post(url + "change/", {"action": "room_add", "name": "储藏间"},
                         format="json")
    assert added.status_code == 200, added.json()
    manager.post(url + "change/", {"action": "item_add", "room": "储藏间", "name": "墙面"},
                 format="json")
    body = manager.get(url).json()
    assert body["source"] == "project" and body["may_edit"] is True
    assert rooms_of(body["rooms"])["储藏间"] == ["墙面"]
    assert rooms_of(selectors.checklist_in_force(project_id=project.pk)[0])["储藏间"] == [
        "墙面"]

    refused = manager.post(url + "change/", {"action": "item_add", "room": "无此房间",
                                             "name": "墙面"}, format="json")
    assert refused.status_code == 400 and "room" in str(refused.json())
    assert manager.post(url + "reset/").json()["source"] == "default"

    # the company's default: its own route; a project manager's scope is not the company
    company_url = f"/api/v1/service/company-checklists/{org['first'].pk}/"
    assert manager.get(company_url).json()["may_edit"] is False
    assert manager.post(company_url + "change/", {"action": "room_add", "name": "车位"},
                        format="json").status_code == 403
    outsider = APIClient()
    outsider.force_authenticate(care_staff["outsider"])
    assert outsider.get(url).status_code == 404
    consultant = APIClient()
    consultant.force_authenticate(care_staff["consultant"])
    assert consultant.get(url).status_code == 403


def test_the_page_warns_of_rooms_the_problem_library_does_not_have(org, care_staff):
    """An inspection's issue becomes a ticket at the library room of the checklist room's
    name: a room the library lacks would give tickets no location, so the page says so and
    offers the library's rooms while a room is named."""
    url = reverse("aftersales:checklist_project", args=[org["a"].pk])
    manager = Client()
    manager.force_login(care_staff["manager"])
    assert 'data-library="empty"' in manager.get(url).content.decode()

    library_seed(company_id=org["first"].pk, project_ids=[org["a"].pk])
    change(org["a"], action="room_add", name="储藏间")
    change(org["a"], action="item_add", room="储藏间", name="墙面")
    page = manager.get(url).content.decode()
    assert 'data-library="empty"' not in page
    assert 'data-unlinked="储藏间"' in page and 'data-unlinked="客厅"' not in page
    assert "不是问题库中的房间部位" in page
    datalist = page.split('<datalist id="library-rooms">')[1].split("</datalist>")[0]
    assert '<option value="卫生间">' in datalist and "电梯厅" not in datalist  # rooms only
