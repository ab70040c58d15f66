"""The ticket pages: queue (SLA order, filters, scope, query counts that do not grow), the
reception form with its pickers and warranty, detail with actions, worker's tasks, photos
served in scope, library pages and xlsx import, the 360° section, the quality page."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook

from anju.aftersales.models import Component, ProblemCategory, Ticket, WarrantyPeriod
from anju.aftersales.tickets import services

from .tickets_fixtures import *  # noqa: F403
from .tickets_fixtures import image_file

pytestmark = pytest.mark.django_db


def queries(client, url, **extra):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200, (url, response.status_code)
    own = [q for q in captured.captured_queries if '"aftersales_' in q["sql"]]
    return response, len(captured), len(own)


def test_queue_in_sla_order_with_fixed_query_count(new_ticket, svc, client_for):
    client = client_for(svc["agent"])
    new_ticket(urgency="low")
    urgent = new_ticket(urgency="critical")
    url = reverse("aftersales:ticket_queue")
    client.get(url)  # the shell's caches warm up
    response, total_few, own_few = queries(client, url)
    body = response.content.decode()
    rows = body.split('data-ticket="')[1:]
    assert rows[0].startswith(str(urgent.pk))  # the nearest deadline first
    for _ in range(8):
        new_ticket()
    _response, total_many, own_many = queries(client, url)
    assert own_few == own_many == 2  # running clocks, then stopped ones
    assert total_few == total_many


def test_queue_filters_and_scope(new_ticket, svc, client_for):
    consult = new_ticket(ticket_type="consultation", location_id=None, component_id=None,
                         category_id=None, description="问物业费")
    repair = new_ticket()
    url = reverse("aftersales:ticket_queue")
    body = client_for(svc["agent"]).get(url + "?type=consultation").content.decode()
    assert consult.number in body and repair.number not in body
    body = client_for(svc["outsider"]).get(url).content.decode()
    assert repair.number not in body
    assert client_for(svc["sales"]).get(url).status_code == 403


def test_reception_form_narrows_the_library_and_shows_warranty(svc, lib, place, org,
                                                              client_for):
    client = client_for(svc["agent"])
    unit = place["units"]["301"]
    url = reverse("aftersales:ticket_pickers")
    body = client.get(url, {"project": org["a"].pk}).content.decode()
    assert "卫生间" in body and "米兰苑 301" in body
    body = client.get(url, {"project": org["a"].pk, "unit": unit.pk,
                            "location": lib["卫生间"].pk}).content.decode()
    assert "陈业主" in body  # the unit's owner offered
    assert "卫生间防水" in body and "入户门" not in body  # 入户门 is bound to 玄关
    body = client.get(url, {"project": org["a"].pk, "unit": unit.pk,
                            "location": lib["卫生间"].pk, "component": lib["卫生间防水"].pk,
                            "category": lib["渗漏"].pk}).content.decode()
    assert "下水管周围渗漏" in body
    assert "in-warranty" in body and "2030-06-30" in body  # 5 years of waterproofing
    response = client.post(reverse("aftersales:ticket_new"), {
        "ticket_type": "repair", "channel": "call_centre", "urgency": "normal",
        "project": org["a"].pk, "unit": unit.pk, "customer": place["owner"].pk,
        "location": lib["卫生间"].pk, "component": lib["卫生间防水"].pk,
        "category": lib["渗漏"].pk, "description": "地漏周围渗水",
        "photos": [image_file()]})
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "aftersales:ticket_detail", args=[ticket.pk])
    assert ticket.photos.count() == 1


def test_reception_errors_name_the_field_and_keep_the_input(svc, lib, place, org,
                                                           client_for):
    client = client_for(svc["agent"])
    response = client.post(reverse("aftersales:ticket_new"), {
        "ticket_type": "repair", "channel": "call_centre", "urgency": "normal",
        "project": org["a"].pk, "unit": place["units"]["301"].pk,
        "customer": place["owner"].pk, "location": lib["卫生间"].pk,
        "component": lib["土建"].pk, "category": lib["渗漏"].pk,
        "description": "我写的描述"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "我写的描述" in body and "field-error" in body
    assert Ticket.objects.count() == 0


def test_detail_actions_and_refusals(new_ticket, svc, client_for):
    ticket = new_ticket(photos=[image_file()])
    client = client_for(svc["agent"])
    url = reverse("aftersales:ticket_detail", args=[ticket.pk])
    response, _total, own = queries(client, url)
    body = response.content.decode()
    assert 'data-action="dispatch"' in body and 'data-action="accept"' not in body
    assert own <= 6
    response = client.post(reverse("aftersales:ticket_act", args=[ticket.pk, "close"]),
                           follow=True)
    assert "已接待" in response.content.decode() or "received" in response.content.decode()
    client.post(reverse("aftersales:ticket_act", args=[ticket.pk, "dispatch"]),
                {"user": svc["worker"].pk, "note": "尽快"})
    ticket.refresh_from_db()
    assert ticket.status == "dispatched" and ticket.assignee_user == svc["worker"]
    response = client.post(reverse("aftersales:ticket_act", args=[ticket.pk, "nonsense"]))
    assert response.status_code == 404
    assert client_for(svc["outsider"]).get(url).status_code == 404
    assert client_for(svc["outsider"]).post(
        reverse("aftersales:ticket_act", args=[ticket.pk, "task"])).status_code == 404


def test_worker_tasks_page_and_completion_with_photos(new_ticket, svc, client_for):
    ticket = new_ticket()
    services.ticket_dispatch(actor=svc["agent"], ticket_id=ticket.pk, user_id=svc["worker"].pk)
    client = client_for(svc["worker"])
    response, _total, own = queries(client, reverse("aftersales:my_tasks"))
    assert ticket.title in response.content.decode() and own == 1
    client.post(reverse("aftersales:ticket_act", args=[ticket.pk, "accept"]),
                {"next": "my_tasks"})
    response = client.post(reverse("aftersales:ticket_act", args=[ticket.pk, "complete"]),
                           {"next": "my_tasks", "note": "修好了"}, follow=True)
    assert "photos" in response.content.decode()  # the refusal names the field
    client.post(reverse("aftersales:ticket_act", args=[ticket.pk, "complete"]),
                {"next": "my_tasks", "photos": [image_file()]})
    ticket.refresh_from_db()
    assert ticket.status == "completed"


def test_photos_are_served_only_in_scope(new_ticket, svc, client_for):
    ticket = new_ticket(photos=[image_file()])
    photo = ticket.photos.get()
    url = reverse("aftersales:ticket_photo", args=[photo.pk])
    response = client_for(svc["agent"]).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert client_for(svc["outsider"]).get(url).status_code == 404
    assert client_for(svc["worker"]).get(url).status_code == 404


def test_customer_360_section(new_ticket, svc, place, client_for):
    ticket = new_ticket()
    url = reverse("customers:section", args=[place["owner"].pk, "service-tickets"])
    response = client_for(svc["agent"]).get(url)
    assert response.status_code == 200 and ticket.number in response.content.decode()
    assert client_for(svc["sales"]).get(url).status_code == 404  # hidden section


def _xlsx(rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "library.xlsx"
    return out


def test_library_page_and_import_with_row_errors(lib, svc, client_for, org):
    client = client_for(svc["manager"])
    response, _total, own = queries(client, reverse("aftersales:library"))
    assert "卫生间防水" in response.content.decode() and own == 8  # one per table
    upload = _xlsx([["构件", "问题分类", "问题描述", "位置", "保修年限"],
                    ["暖通/地暖盘管", "不热", "地暖不热", "客厅,主卧", 2],
                    ["", "渗漏", "", "", ""],
                    ["防水/卫生间防水", "渗漏", "地漏周围渗水", "卫生间", "abc"],
                    ["土建", "开裂", "", "", ""]])
    response = client.post(reverse("aftersales:library_import"), {"file": upload})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="import-errors"' in body
    leaf = Component.objects.get(company=org["first"], name="地暖盘管")
    assert leaf.parent.name == "暖通" and leaf.categories.get().name == "不热"
    assert WarrantyPeriod.objects.get(component=leaf.parent).years == 2
    assert ProblemCategory.objects.filter(company=org["first"], name="不热").exists()
    assert body.count("<tr><td>") == 3  # rows 3, 4 and 5 refused, each with its reason
    assert client_for(svc["agent"]).get(reverse("aftersales:library_import")).status_code == 403
    response = client.post(reverse("aftersales:library_import"),
                           {"file": io.BytesIO(b"not a workbook")})
    assert response.status_code == 200


def test_menu_entries_for_service_staff(svc, client_for):
    body = client_for(svc["agent"]).get(reverse("aftersales:ticket_queue")).content.decode()
    assert reverse("aftersales:library") in body and reverse("aftersales:quality") in body
