"""The opportunities API: scoped lists with pinned query counts, create, PATCH with version,
moves (refusals as 400 naming the stage), idempotent writes, funnel, matches, quotes with
approval, discount policies and win probabilities."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anju.customers.models import CustomerNeed
from anju.property.models import Building, Unit, UnitType
from anju.sales.models.opportunities import DiscountPolicy, Opportunity, Quote
from anju.sales.opportunities import services

from .opportunity_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db
S = services.Stage


@pytest.fixture
def unit(org):
    kind = UnitType.objects.create(project=org["a"], name="B2", rooms=2,
                                   built_area=Decimal("89"))
    building = Building.objects.create(project=org["a"], name="8号楼", code="8", floor_count=10,
                                       units_per_floor=2)
    return Unit.objects.create(building=building, floor=3, position=1, number="301",
                               label="8-301", unit_type=kind, built_area=Decimal("89.00"),
                               list_price=Decimal("1580000.00"))


def _queries(client, url):
    client.get(url)  # the user's data scope is read once and kept on the user object
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(queries), response.json()


def test_list_is_scoped_filtered_and_constant(people, make_opportunity, api_for, org):
    for _index in range(2):
        make_opportunity()
    make_opportunity(owner=people["peer"])
    manager = api_for(people["manager"])
    few, body = _queries(manager, "/api/v1/opportunities/")
    assert len(body["results"]) == 3
    for _index in range(4):
        make_opportunity()
    many, body = _queries(manager, "/api/v1/opportunities/")
    assert many == few and len(body["results"]) == 7
    _n, mine = _queries(api_for(people["consultant"]), "/api/v1/opportunities/")
    assert len(mine["results"]) == 6
    _n, peer = _queries(manager, f"/api/v1/opportunities/?owner={people['peer'].pk}")
    assert len(peer["results"]) == 1
    _n, none = _queries(api_for(people["outsider"]), "/api/v1/opportunities/")
    assert none["results"] == []


def test_create_patch_and_move(people, make_customer, api_for, org):
    consultant = people["consultant"]
    client = api_for(consultant)
    customer = make_customer(owner=consultant)
    created = client.post("/api/v1/opportunities/", {
        "customer": customer.pk, "project": org["a"].pk, "expected_value": "1800000.00"},
        format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert created.status_code == 201, created.content
    replay = client.post("/api/v1/opportunities/", {
        "customer": customer.pk, "project": org["a"].pk, "expected_value": "1800000.00"},
        format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert Opportunity.objects.count() == 1
    pk, version = created.json()["id"], created.json()["version"]
    bad = client.post("/api/v1/opportunities/", {"customer": customer.pk,
                                                 "project": org["a"].pk}, format="json")
    assert bad.status_code == 400 and "project" in bad.json()["fields"]

    refused = client.post(f"/api/v1/opportunities/{pk}/move/", {"stage": "won"},
                          format="json")
    assert refused.status_code == 400 and refused.json()["fields"]["stage"]
    lost = client.post(f"/api/v1/opportunities/{pk}/move/", {"stage": "lost"}, format="json")
    assert lost.status_code == 400 and "lost_reason" in lost.json()["fields"]
    moved = client.post(f"/api/v1/opportunities/{pk}/move/", {"stage": "negotiation"},
                        format="json")
    assert moved.status_code == 200 and moved.json()["stage"] == "negotiation"

    stale = client.patch(f"/api/v1/opportunities/{pk}/", {"version": version,
                                                          "expected_value": "1"},
                         format="json")
    assert stale.status_code == 409
    fresh = moved.json()["version"]
    patched = client.patch(f"/api/v1/opportunities/{pk}/", {
        "version": fresh, "expected_close_date": "2027-06-30"}, format="json")
    assert patched.status_code == 200 and patched.json()["expected_close_date"] == "2027-06-30"
    history = client.get(f"/api/v1/opportunities/{pk}/history/").json()
    assert [row["to_stage"] for row in history] == ["first_visit", "negotiation"]
    assert api_for(people["outsider"]).get(f"/api/v1/opportunities/{pk}/").status_code == 404
    assert api_for(people["peer"]).post(f"/api/v1/opportunities/{pk}/move/",
                                        {"stage": "lost", "lost_reason": "price"},
                                        format="json").status_code == 404


def test_funnel_api(people, make_opportunity, api_for, org):
    consultant = people["consultant"]
    for step in (S.NEEDS_CONFIRMED, S.NEGOTIATION, S.RESERVED, S.RESERVED):
        services.opportunity_move(actor=consultant, opportunity=make_opportunity(),
                                  to_stage=step)
    client = api_for(people["manager"])
    queries, body = _queries(client, "/api/v1/opportunities/funnel/")
    reached = {row["stage"]: row["reached"] for row in body["stages"]}
    assert reached["first_visit"] == 4 and reached["negotiation"] == 3
    assert reached["reserved"] == 2 and reached["contracted"] == 0
    conversion = {row["stage"]: row["conversion"] for row in body["stages"]}
    assert conversion["negotiation"] == pytest.approx(66.7)
    again, body = _queries(client, f"/api/v1/opportunities/funnel/?project={org['a'].pk}"
                                   f"&team={people['team'].pk}&date_from=2020-01&"
                                   "date_to=2099-12-31")
    assert again == queries and body["opened"] == 4
    _n, theirs = _queries(api_for(people["peer"]), "/api/v1/opportunities/funnel/")
    assert theirs["opened"] == 0
    bad = client.get("/api/v1/opportunities/funnel/?date_from=yesterday")
    assert bad.status_code == 400 and "date_from" in bad.json()["fields"]


def test_matches_api(people, make_opportunity, make_customer, api_for, unit):
    consultant = people["consultant"]
    customer = make_customer(owner=consultant)
    CustomerNeed.objects.create(customer=customer, budget_min_wan=150, budget_max_wan=160,
                                area_min=80, area_max=95, rooms=["2"])
    client = api_for(consultant)
    _n, body = _queries(client, f"/api/v1/unit-matches/?customer={customer.pk}")
    assert body[0]["label"] == "8-301" and body[0]["score"] == 100
    assert {reason["kind"] for reason in body[0]["reasons"]} == {"budget", "area", "rooms"}
    opportunity = make_opportunity(customer=customer)
    _n, same = _queries(client, f"/api/v1/opportunities/{opportunity.pk}/matches/")
    assert same == body
    assert api_for(people["peer"]).get(
        f"/api/v1/unit-matches/?customer={customer.pk}").status_code == 404


def test_quote_api_with_approval(people, make_opportunity, api_for, unit):
    consultant, manager = people["consultant"], people["manager"]
    DiscountPolicy.objects.create(role=consultant.role, max_discount_percent=Decimal("1"))
    opportunity = make_opportunity()
    client = api_for(consultant)
    created = client.post("/api/v1/quotes/", {
        "opportunity": opportunity.pk, "unit": unit.pk, "payment_method": "provident_fund",
        "discounts": [{"label": "公积金优惠", "percent": "1.5"}]}, format="json",
        HTTP_IDEMPOTENCY_KEY="q-1")
    assert created.status_code == 201, created.content
    quote = created.json()
    assert quote["status"] == "pending" and quote["final_price"] == "1556300.00"
    assert quote["final_price_in_words"] == "壹佰伍拾伍万陆仟叁佰元整"
    assert client.post(f"/api/v1/quotes/{quote['id']}/approve/", {},
                       format="json").status_code == 403
    boss = api_for(manager)
    _n, pending = _queries(boss, "/api/v1/quotes/?status=pending")
    assert [row["id"] for row in pending["results"]] == [quote["id"]]
    no_comment = boss.post(f"/api/v1/quotes/{quote['id']}/reject/", {}, format="json")
    assert no_comment.status_code == 400 and "comment" in no_comment.json()["fields"]
    approved = boss.post(f"/api/v1/quotes/{quote['id']}/approve/", {"comment": "ok"},
                         format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "issued"
    bad = client.post("/api/v1/quotes/", {"opportunity": opportunity.pk, "unit": unit.pk,
                                          "payment_method": "barter"}, format="json")
    assert bad.status_code == 400 and "payment_method" in bad.json()["fields"]
    assert Quote.objects.count() == 1
    assert api_for(people["outsider"]).get(f"/api/v1/quotes/{quote['id']}/").status_code == 404


def test_policies_and_probabilities_api(people, api_for, org):
    admin, manager = api_for(people["admin"]), api_for(people["manager"])
    assert manager.post("/api/v1/discount-policies/", {
        "role": "sales_consultant", "max_discount_percent": "3"},
        format="json").status_code == 403
    made = admin.post("/api/v1/discount-policies/", {
        "role": "sales_consultant", "payment_method": "full", "max_discount_percent": "3"},
        format="json")
    assert made.status_code == 201, made.content
    again = admin.post("/api/v1/discount-policies/", {
        "role": "sales_consultant", "payment_method": "full", "max_discount_percent": "4"},
        format="json")
    assert again.status_code == 201 and DiscountPolicy.objects.get().max_discount_percent == 4
    assert len(manager.get("/api/v1/discount-policies/").json()) == 1
    admin.post("/api/v1/stage-probabilities/", {"company": org["first"].pk,
                                                "stage": "negotiation", "probability": 65},
               format="json")
    table = {row["stage"]: row["probability"] for row in manager.get(
        f"/api/v1/stage-probabilities/?company={org['first'].pk}").json()}
    assert table["negotiation"] == 65 and table["reserved"] == 80
    assert manager.get(f"/api/v1/stage-probabilities/?company={org['second'].pk}"
                       ).status_code == 404
