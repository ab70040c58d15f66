"""The tickets API: reception, the flow actions with their refusals, scope (404 outside),
the queue in SLA order, timeline, library reads and writes, quality, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anju.aftersales.models import Ticket, TicketCallback

from .tickets_fixtures import *  # noqa: F403
from .tickets_fixtures import image_file

pytestmark = pytest.mark.django_db


def reception(lib, place, **extra):
    return {"ticket_type": "repair", "channel": "wechat", "urgency": "high",
            "customer": place["owner"].pk, "unit": place["units"]["301"].pk,
            "location": lib["卫生间"].pk, "component": lib["天花"].pk,
            "category": lib["渗漏"].pk, "description": "下水管周围渗漏", **extra}


def test_receive_dispatch_complete_confirm_close_callback(api_for, svc, lib, place):
    agent, worker = api_for(svc["agent"]), api_for(svc["worker"])
    response = agent.post("/api/v1/tickets/", {**reception(lib, place),
                                               "photos": [image_file()]}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["title"].endswith("天花 – 渗漏 – 下水管周围渗漏") and body["in_warranty"] is True
    pk = body["id"]
    assert agent.post(f"/api/v1/tickets/{pk}/dispatch/", {"user": svc["worker"].pk},
                      format="json").json()["status"] == "dispatched"
    assert worker.post(f"/api/v1/tickets/{pk}/accept/").json()["status"] == "accepted"
    response = worker.post(f"/api/v1/tickets/{pk}/complete/", {"note": "ok"}, format="json")
    assert response.status_code == 400 and "photos" in response.json()["fields"]
    response = worker.post(f"/api/v1/tickets/{pk}/complete/", {"photos": [image_file()]},
                           format="multipart")
    assert response.json()["status"] == "completed"
    assert agent.post(f"/api/v1/tickets/{pk}/confirm/").json()["status"] == "confirmed"
    assert agent.post(f"/api/v1/tickets/{pk}/close/").json()["status"] == "closed"
    response = agent.post(f"/api/v1/tickets/{pk}/callback/", {"score": 9}, format="json")
    assert response.status_code == 400 and "score" in response.json()["fields"]
    response = agent.post(f"/api/v1/tickets/{pk}/callback/", {"score": 5, "comment": "好"},
                          format="json", HTTP_IDEMPOTENCY_KEY="cb-1")
    assert response.json()["status"] == "called_back"
    again = agent.post(f"/api/v1/tickets/{pk}/callback/", {"score": 5, "comment": "好"},
                       format="json", HTTP_IDEMPOTENCY_KEY="cb-1")
    assert again.status_code == 200  # the same request replayed, nothing written twice
    refused = agent.post(f"/api/v1/tickets/{pk}/callback/", {"score": 3}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "already_recorded"
    assert TicketCallback.objects.filter(ticket_id=pk).count() == 1
    timeline = agent.get(f"/api/v1/tickets/{pk}/timeline/").json()
    assert [e["kind"] for e in timeline][-1] == "callback"
    photos = agent.get(f"/api/v1/tickets/{pk}/photos/").json()
    assert len(photos) == 2 and photos[0]["url"].startswith("/service/tickets/photos/")


def test_refused_moves_and_bad_input(api_for, svc, lib, place):
    agent = api_for(svc["agent"])
    response = agent.post("/api/v1/tickets/", reception(lib, place, component=lib["土建"].pk),
                          format="json")
    assert response.status_code == 400 and "component" in response.json()["fields"]
    response = agent.post("/api/v1/tickets/", reception(lib, place, urgency="now"),
                          format="json")
    assert response.status_code == 400 and "urgency" in response.json()["fields"]
    assert Ticket.objects.count() == 0
    pk = agent.post("/api/v1/tickets/", reception(lib, place), format="json").json()["id"]
    response = agent.post(f"/api/v1/tickets/{pk}/close/")
    assert response.status_code == 409 and response.json()["code"] == "wrong_status"
    response = agent.post(f"/api/v1/tickets/{pk}/dispatch/", {}, format="json")
    assert response.status_code == 400 and "assignee" in response.json()["fields"]


def test_scope_hides_other_projects_tickets(api_for, svc, lib, place):
    pk = api_for(svc["agent"]).post("/api/v1/tickets/", reception(lib, place),
                                    format="json").json()["id"]
    outsider = api_for(svc["outsider"])
    assert outsider.get(f"/api/v1/tickets/{pk}/").status_code == 404
    assert outsider.post(f"/api/v1/tickets/{pk}/task/").status_code == 404
    assert outsider.get(f"/api/v1/tickets/{pk}/timeline/").status_code == 404
    assert outsider.get("/api/v1/tickets/").json()["results"] == []
    response = outsider.post("/api/v1/tickets/", reception(lib, place), format="json")
    assert response.status_code == 403
    assert api_for(svc["worker"]).get(f"/api/v1/tickets/{pk}/").status_code == 404


def test_queue_is_in_sla_order_and_its_queries_do_not_grow(api_for, svc, lib, place):
    agent = api_for(svc["agent"])
    for urgency in ("low", "normal", "critical"):
        agent.post("/api/v1/tickets/", reception(lib, place, urgency=urgency), format="json")
    with CaptureQueriesContext(connection) as few:
        body = agent.get("/api/v1/tickets/queue/").json()
    assert [t["urgency"] for t in body["results"]] == ["critical", "normal", "low"]
    for _ in range(5):
        agent.post("/api/v1/tickets/", reception(lib, place), format="json")
    with CaptureQueriesContext(connection) as many:
        assert len(agent.get("/api/v1/tickets/queue/").json()["results"]) == 8
    assert len(few) == len(many)
    with CaptureQueriesContext(connection) as listing:
        agent.get("/api/v1/tickets/")
    assert len(listing) == len(many) - 1  # one ordered query, no second part


def test_library_reads_for_agents_writes_for_managers(api_for, svc, lib, org):
    agent, manager = api_for(svc["agent"]), api_for(svc["manager"])
    components = agent.get(f"/api/v1/service-components/?location={lib['玄关'].pk}"
                           "&page_size=200").json()["results"]
    names = {c["name"] for c in components}
    assert "入户门" in names and "卫生间防水" not in names
    categories = agent.get(f"/api/v1/problem-categories/?component={lib['天花'].pk}").json()
    assert {c["name"] for c in categories["results"]} == {"渗漏", "开裂", "空鼓"}
    response = agent.post("/api/v1/problem-descriptions/",
                          {"category": lib["渗漏"].pk, "text": "空调孔渗水"}, format="json")
    assert response.status_code == 201
    response = agent.post("/api/v1/problem-categories/",
                          {"company": org["first"].pk, "name": "异味"}, format="json")
    assert response.status_code == 403
    response = manager.post("/api/v1/problem-categories/",
                            {"company": org["first"].pk, "name": "异味"}, format="json")
    assert response.status_code == 201
    assert api_for(svc["outsider"]).get("/api/v1/problem-categories/").json()["results"] == []


def test_quality_endpoint(api_for, svc, lib, place):
    agent = api_for(svc["agent"])
    agent.post("/api/v1/tickets/", reception(lib, place), format="json")
    from django.utils import timezone

    today = timezone.localdate()
    import datetime as dt

    body = agent.get(f"/api/v1/service-quality/?start={today}&end="
                     f"{today + dt.timedelta(days=1)}").json()
    assert body["total"] == 1 and body["by_category"][0]["label"] == "渗漏"
    response = agent.get("/api/v1/service-quality/?start=x&end=y")
    assert response.status_code == 400 and "start" in response.json()["fields"]
