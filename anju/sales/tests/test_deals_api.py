"""The deals API: the same rules as the pages, scoped, idempotent, 409 when a unit is taken,
and pinned query counts for its lists."""

import datetime

import pytest
from django.utils import timezone

from anju.sales.deals import services
from anju.sales.models import Deal, DealStatus

from .deals_fixtures import *  # noqa: F403
from .deals_fixtures import plan_for

pytestmark = pytest.mark.django_db


def test_reserve_hold_and_taken_answers(people, units, customer, api_for):
    buyer = customer("张三")
    api = api_for(people["consultant"])
    held = api.post("/api/v1/deals/hold/", {"unit": units["1-101"].pk, "customer": buyer.pk})
    assert held.status_code == 201 and held.json()["status"] == "held"
    other = api_for(people["other"]).post("/api/v1/deals/reserve/", {
        "unit": units["1-101"].pk, "customer": customer("李四", owner=people["other"]).pk,
        "deposit": "20000"})
    assert other.status_code == 409
    assert other.json()["code"] == "unit_taken" and "1-101" in other.json()["message"]
    reserved = api.post(f"/api/v1/deals/{held.json()['id']}/reserve/", {"deposit": "30000"})
    assert reserved.status_code == 200 and reserved.json()["status"] == "reserved"
    assert reserved.json()["payments"][0]["amount"] == "30000.00"


def test_bad_input_names_the_field(people, units, customer, api_for):
    response = api_for(people["consultant"]).post("/api/v1/deals/reserve/", {
        "unit": units["1-101"].pk, "customer": customer().pk, "deposit": "-5"})
    assert response.status_code == 400 and "deposit" in response.json()["fields"]
    response = api_for(people["consultant"]).post("/api/v1/deals/reserve/", {
        "unit": units["1-101"].pk, "customer": customer("乙").pk, "deposit": "5000",
        "discount_amount": "900000"})
    assert response.status_code == 400 and "discount_amount" in response.json()["fields"]
    assert not Deal.objects.exists()


def test_idempotent_reserve_is_replayed_not_repeated(people, units, customer, api_for):
    api = api_for(people["consultant"])
    body = {"unit": units["1-101"].pk, "customer": customer().pk, "deposit": "20000"}
    first = api.post("/api/v1/deals/reserve/", body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/deals/reserve/", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Deal.objects.count() == 1


def test_contract_payments_loan_deliver_through_the_api(people, units, customer, api_for):
    buyer, partner = customer("张三"), customer("张太太")
    api = api_for(people["consultant"])
    deal_id = api.post("/api/v1/deals/reserve/", {"unit": units["1-101"].pk,
                                                  "customer": buyer.pk,
                                                  "deposit": "50000"}).json()["id"]
    deal = Deal.objects.get(pk=deal_id)
    rows = [{"kind": r.kind, "due_date": r.due_date.isoformat(), "amount": str(r.amount),
             "bank": r.bank} for r in plan_for(deal, method="mortgage")]
    short = [dict(row) for row in rows]
    short[0]["amount"] = "1.00"
    refused = api.post(f"/api/v1/deals/{deal_id}/contract/", {
        "buyers": [{"customer": buyer.pk, "share": "50"}, {"customer": partner.pk,
                                                          "share": "50"}],
        "payment_method": "mortgage", "instalments": short}, format="json")
    assert refused.status_code == 400 and "instalments" in refused.json()["fields"]
    signed = api.post(f"/api/v1/deals/{deal_id}/contract/", {
        "buyers": [{"customer": buyer.pk, "share": "50"}, {"customer": partner.pk,
                                                          "share": "50"}],
        "payment_method": "mortgage", "instalments": rows}, format="json")
    assert signed.status_code == 200, signed.json()
    data = signed.json()
    assert data["status"] == "contracted" and data["contract_number"]
    lines = {line["kind"]: line for line in data["instalments"]}
    paid = api.post(f"/api/v1/deals/{deal_id}/payments/", {
        "instalment": lines["down_payment"]["id"], "amount": lines["down_payment"]["amount"]})
    assert paid.status_code == 201 and paid.json()["receipt_number"]
    over = api.post(f"/api/v1/deals/{deal_id}/payments/", {
        "instalment": lines["down_payment"]["id"], "amount": "1"})
    assert over.status_code == 400 and "amount" in over.json()["fields"]
    early = api.post(f"/api/v1/deals/{deal_id}/deliver/")
    assert early.status_code == 400
    for status in ("approved", "disbursed"):
        moved = api.post(f"/api/v1/deals/{deal_id}/loan/", {"instalment": lines["loan"]["id"],
                                                            "status": status})
        assert moved.status_code == 200 and moved.json()["loan_status"] == status
    wrong = api.post(f"/api/v1/deals/{deal_id}/loan/", {"instalment": lines["loan"]["id"],
                                                        "status": "applied"})
    assert wrong.status_code == 409 and wrong.json()["code"] == "illegal_move"
    delivered = api.post(f"/api/v1/deals/{deal_id}/deliver/")
    assert delivered.status_code == 200 and delivered.json()["status"] == "delivered"
    assert delivered.json()["outstanding_amount"] == "0.00"


def test_change_request_and_decision_through_the_api(people, contracted, api_for):
    deal = contracted()
    asked = api_for(people["consultant"]).post(
        f"/api/v1/deals/{deal.pk}/change-requests/",
        {"kind": "cancellation", "reason": "家庭原因", "refund_amount": "50000"})
    assert asked.status_code == 201
    change_id = asked.json()["id"]
    denied = api_for(people["consultant"]).post(f"/api/v1/deal-change-requests/{change_id}/decide/",
                                           {"approve": True})
    assert denied.status_code == 403
    listed = api_for(people["manager"]).get("/api/v1/deal-change-requests/?state=pending")
    assert [row["id"] for row in listed.json()["results"]] == [change_id]
    decided = api_for(people["manager"]).post(
        f"/api/v1/deal-change-requests/{change_id}/decide/", {"approve": True, "comment": "ok"})
    assert decided.status_code == 200 and decided.json()["state"] == "approved"
    deal.refresh_from_db()
    assert deal.status == DealStatus.CANCELLED


def test_scope_out_of_reach_is_404(people, contracted, api_for):
    deal = contracted()
    assert api_for(people["outsider"]).get(f"/api/v1/deals/{deal.pk}/").status_code == 404
    assert api_for(people["outsider"]).post(f"/api/v1/deals/{deal.pk}/deliver/").status_code \
        == 404
    assert api_for(people["outsider"]).get("/api/v1/deals/").json()["results"] == []
    assert len(api_for(people["manager"]).get("/api/v1/deals/").json()["results"]) == 1


def test_collection_follow_up_through_the_api(people, contracted, api_for):
    deal = contracted()
    later = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    response = api_for(people["consultant"]).post(f"/api/v1/deals/{deal.pk}/collection/", {
        "outcome": "客户说下周付", "next_follow_up_at": later})
    assert response.status_code == 201
    assert deal.customer.interactions.get().next_follow_up_at is not None


@pytest.mark.parametrize("path, expected", [
    ("/api/v1/deals/", 1), ("detail", 5), ("/api/v1/deal-change-requests/", 1)])
def test_api_query_counts_are_pinned(people, contracted, customer, api_for,
                                     django_assert_num_queries, path, expected):
    deals = [contracted(unit=label, buyer=customer(f"客户{label}"))
             for label in ("1-101", "1-102", "1-201")]
    for deal in deals:
        services.change_request_create(actor=people["consultant"], deal=deal,
                                       kind="cancellation", reason="x")
    if path == "detail":
        path = f"/api/v1/deals/{deals[0].pk}/"
    api = api_for(people["manager"])
    api.get(path)
    with django_assert_num_queries(expected):
        assert api.get(path).status_code == 200


def test_release_a_hold_through_the_api(people, units, customer, api_for):
    api = api_for(people["consultant"])
    held = api.post("/api/v1/deals/hold/", {"unit": units["1-101"].pk,
                                            "customer": customer().pk}).json()
    released = api.post(f"/api/v1/deals/{held['id']}/release/", {"reason": "不要了"})
    assert released.status_code == 200 and released.json()["status"] == "cancelled"
    again = api.post(f"/api/v1/deals/{held['id']}/release/")
    assert again.status_code == 409 and again.json()["code"] == "illegal_move"
