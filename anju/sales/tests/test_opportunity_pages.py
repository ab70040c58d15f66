"""Opportunity pages: list, detail, kanban (moves by fetch), funnel, 360° sections, quotes with
approval; each pins its number of queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from anju.customers.models import CustomerNeed
from anju.property.models import Building, Unit, UnitType
from anju.sales.models.opportunities import DiscountPolicy, Opportunity, Quote
from anju.sales.opportunities import services

from .opportunity_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db
S = services.Stage


@pytest.fixture
def units(org):
    org["a"].district = "余杭区"
    org["a"].save()
    three = UnitType.objects.create(project=org["a"], name="C3", rooms=3, halls=2, bathrooms=2,
                                    built_area=Decimal("110"))
    building = Building.objects.create(project=org["a"], name="5号楼", code="5", floor_count=30,
                                       units_per_floor=2)
    return [Unit.objects.create(building=building, floor=floor, position=1,
                                number=f"{floor}01", label=f"5-{floor}01", unit_type=three,
                                built_area=Decimal("110"),
                                list_price=Decimal("2000000") + floor * 10000,
                                floor_price=Decimal("1900000"))
            for floor in range(1, 6)]


def _count(client, url, **kwargs):
    client.get(url, **kwargs)  # warm the shell's per-user caches (menu, inbox badge)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, response.content[:500]
    return len(queries), response.content.decode()


def test_list_filters_and_pins_its_queries(people, make_opportunity, client_for, org):
    consultant = people["consultant"]
    for _index in range(3):
        make_opportunity()
    make_opportunity(owner=people["peer"])
    client = client_for(people["manager"])
    few, page = _count(client, reverse("sales:opportunity_list"))
    assert page.count('href="/sales/opportunities/') >= 4
    for _index in range(5):
        make_opportunity()
    many, _page = _count(client, reverse("sales:opportunity_list"))
    assert many == few
    _n, mine = _count(client, reverse("sales:opportunity_list") + f"?owner={consultant.pk}")
    assert mine.count("李顾问") >= 8
    assert "赵顾问</td>" not in mine
    _n, own = _count(client_for(consultant), reverse("sales:opportunity_list"))
    assert "赵顾问</td>" not in own


def test_detail_shows_history_matches_and_quotes(people, make_opportunity, client_for, units):
    consultant = people["consultant"]
    opportunity = make_opportunity(expected_value="2100000")
    CustomerNeed.objects.create(customer=opportunity.customer, budget_min_wan=200,
                                budget_max_wan=210, rooms=["3"], districts=["余杭区"])
    services.opportunity_move(actor=consultant, opportunity=opportunity,
                              to_stage=S.NEEDS_CONFIRMED)
    client = client_for(consultant)
    url = reverse("sales:opportunity_detail", args=[opportunity.pk])
    queries, page = _count(client, url)
    assert "5-501" in page and "余杭区" in page
    assert "210.00万元" in page  # expected value in 万元
    services.quote_create(actor=consultant, opportunity=opportunity, unit=units[0],
                          payment_method="full")
    for _index in range(3):
        services.opportunity_move(actor=consultant, opportunity=opportunity,
                                  to_stage=S.UNITS_RECOMMENDED)
        services.opportunity_move(actor=consultant, opportunity=opportunity,
                                  to_stage=S.NEEDS_CONFIRMED)
    more, page = _count(client, url)
    assert more == queries
    assert "Q0" in page
    assert client_for(people["outsider"]).get(url).status_code == 404
    assert client_for(people["peer"]).get(url).status_code == 404


def test_move_from_the_board_answers_json(people, make_opportunity, client_for):
    opportunity = make_opportunity()
    client = client_for(people["consultant"])
    url = reverse("sales:opportunity_move", args=[opportunity.pk])
    refused = client.post(url, {"stage": "won"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400
    assert refused.json()["ok"] is False and refused.json()["error"]
    opportunity.refresh_from_db()
    assert opportunity.stage == S.FIRST_VISIT
    lost = client.post(url, {"stage": "lost"}, HTTP_ACCEPT="application/json")
    assert lost.status_code == 400 and lost.json()["error"]
    moved = client.post(url, {"stage": "negotiation"}, HTTP_ACCEPT="application/json")
    assert moved.json() == {"ok": True, "stage": "negotiation", "label": str(
        S.NEGOTIATION.label)}
    gone = client_for(people["outsider"]).post(url, {"stage": "needs_confirmed"},
                                               HTTP_ACCEPT="application/json")
    assert gone.status_code == 404
    form = client.post(url, {"stage": "lost", "lost_reason": "price"})
    assert form.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.stage == S.LOST


def test_kanban_columns_and_query_count(people, make_opportunity, client_for):
    consultant = people["consultant"]
    make_opportunity()
    services.opportunity_move(actor=consultant, opportunity=make_opportunity(),
                              to_stage=S.NEGOTIATION)
    client = client_for(people["manager"])
    few, page = _count(client, reverse("sales:opportunity_kanban"))
    assert 'data-stage="negotiation"' in page and "kanban.js" in page
    for _index in range(6):
        services.opportunity_move(actor=consultant, opportunity=make_opportunity(),
                                  to_stage=S.RESERVED)
    many, page = _count(client, reverse("sales:opportunity_kanban"))
    assert many <= few + 1  # one more column with cards
    assert page.count('class="kanban-card"') == 8


def test_funnel_page_and_query_count(people, make_opportunity, client_for, org):
    consultant = people["consultant"]
    for step in (S.NEEDS_CONFIRMED, S.NEGOTIATION, S.RESERVED):
        services.opportunity_move(actor=consultant, opportunity=make_opportunity(),
                                  to_stage=step)
    client = client_for(people["manager"])
    queries, page = _count(client, reverse("sales:opportunity_funnel"))
    assert 'id="funnel-data"' in page and "echarts.min.js" in page
    assert "<script>" not in page  # no inline script (CSP)
    for _index in range(5):
        make_opportunity()
    again, page = _count(client, reverse("sales:opportunity_funnel")
                         + f"?project={org['a'].pk}&team={people['team'].pk}&date_from=2020-01")
    assert again <= queries + 1  # the team's members


def test_customer_sections(people, make_opportunity, client_for, units, make_customer):
    consultant = people["consultant"]
    customer = make_customer(owner=consultant)
    CustomerNeed.objects.create(customer=customer, budget_max_wan=183, rooms=[3])
    make_opportunity(customer=customer)
    client = client_for(consultant)
    _n, section = _count(client, reverse("customers:section",
                                         args=[customer.pk, "sales-opportunities"]))
    assert "四季花城" in section and 'name="project"' in section
    _queries, matches = _count(client, reverse("customers:section",
                                              args=[customer.pk, "sales-matching-units"]))
    # 183万 + 10 % → up to 2,013,000: only 5-101 (2,010,000), shown as over the budget
    assert "5-101" in matches and "5-201" not in matches
    assert "fit-near" in matches
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "sales-opportunities" in page and "sales-matching-units" in page


def test_create_from_the_360_page(people, client_for, make_customer, org):
    consultant = people["consultant"]
    customer = make_customer(owner=consultant)
    client = client_for(consultant)
    response = client.post(reverse("sales:opportunity_create"), {
        "customer": customer.pk, "project": org["a"].pk, "stage": "needs_confirmed",
        "expected_value": "1500000"})
    opportunity = Opportunity.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(
        f"/opportunities/{opportunity.pk}/")
    again = client.post(reverse("sales:opportunity_create"), {
        "customer": customer.pk, "project": org["a"].pk, "stage": "first_visit"}, follow=True)
    assert Opportunity.objects.count() == 1
    assert "商机" in again.content.decode() or "opportunity" in again.content.decode()


def test_quote_pages_and_approval(people, make_opportunity, client_for, units):
    consultant, manager = people["consultant"], people["manager"]
    opportunity = make_opportunity()
    client = client_for(consultant)
    response = client.post(reverse("sales:quote_create", args=[opportunity.pk]), {
        "unit": units[0].pk, "payment_method": "mortgage", "discount_0_label": "特批",
        "discount_0_percent": "3"})
    quote = Quote.objects.get()
    assert response.status_code == 302 and quote.status == Quote.Status.PENDING
    detail = reverse("sales:quote_detail", args=[quote.pk])
    _n, page = _count(client, detail)
    assert 'id="decision-form"' not in page
    assert client.get(reverse("sales:quote_pdf", args=[quote.pk])).status_code == 404
    boss = client_for(manager)
    _n, page = _count(boss, detail)
    assert 'id="decision-form"' in page
    boss.post(reverse("sales:quote_decide", args=[quote.pk]), {"decision": "reject"})
    quote.refresh_from_db()
    assert quote.status == Quote.Status.PENDING  # a rejection needs a comment
    boss.post(reverse("sales:quote_decide", args=[quote.pk]),
              {"decision": "approve", "comment": "可以"})
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ISSUED
    queries, page = _count(boss, reverse("sales:quote_list") + "?status=issued")
    assert quote.number in page
    for _index in range(3):
        services.quote_create(actor=consultant, opportunity=opportunity, unit=units[1],
                              payment_method="full")
    again, _page = _count(boss, reverse("sales:quote_list"))
    assert again == queries


def test_quote_form_errors_are_shown_not_500(people, make_opportunity, client_for, units):
    opportunity = make_opportunity()
    client = client_for(people["consultant"])
    response = client.post(reverse("sales:quote_create", args=[opportunity.pk]), {
        "unit": units[0].pk, "payment_method": "full", "discount_0_label": "x",
        "discount_0_percent": "150"}, follow=True)
    assert response.status_code == 200
    assert not Quote.objects.exists()


@pytest.mark.pdf
def test_quote_pdf_has_buyer_unit_and_amount_in_capitals(people, make_opportunity,
                                                         client_for, units, tmp_path):
    import shutil
    import subprocess

    consultant = people["consultant"]
    DiscountPolicy.objects.create(role=consultant.role, max_discount_percent=Decimal("2"))
    opportunity = make_opportunity()
    quote = services.quote_create(actor=consultant, opportunity=opportunity, unit=units[2],
                                  payment_method="full",
                                  discounts=[{"label": "开盘优惠", "amount": "30000.00"}])
    response = client_for(consultant).get(reverse("sales:quote_pdf", args=[quote.pk]))
    assert response["Content-Type"] == "application/pdf"
    path = tmp_path / "quote.pdf"
    path.write_bytes(response.content)
    text = subprocess.run([shutil.which("pdftotext"), "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout
    # 2,030,000 − 30,000 = 2,000,000.00
    assert opportunity.customer.name in text
    assert "5-301" in text
    assert "¥2,000,000.00" in text
    assert "贰佰万元整" in text


def test_edit_saves_and_shows_conflicts(people, make_opportunity, client_for):
    consultant = people["consultant"]
    opportunity = make_opportunity()
    client = client_for(people["manager"])
    url = reverse("sales:opportunity_edit", args=[opportunity.pk])
    saved = client.post(url, {"version": opportunity.version, "expected_value": "3000000",
                              "expected_close_date": "2027-05-01",
                              "owner": people["peer"].pk})
    assert saved.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.owner == people["peer"]
    assert opportunity.expected_value == Decimal("3000000.00")
    stale = client.post(url, {"version": opportunity.version - 1, "expected_value": "1"})
    assert stale.status_code == 409 and "conflict" in stale.content.decode()
    bad = client.post(url, {"version": opportunity.version, "expected_value": "-3"})
    assert bad.status_code == 400
    opportunity.refresh_from_db()
    assert opportunity.expected_value == Decimal("3000000.00")
    assert client_for(consultant).post(url, {"version": opportunity.version}).status_code == 404


def test_settings_page_admins_save_others_read(people, client_for, org):
    from anju.sales.models.opportunities import StageProbability

    url = reverse("sales:settings")
    admin = client_for(people["admin"])
    _queries, page = _count(admin, url)
    assert 'name="limit_sales_consultant_full"' in page
    saved = admin.post(url, {"part": "policies", "limit_sales_consultant_any": "2",
                             "limit_sales_consultant_full": "3.5"})
    assert saved.status_code == 302
    assert {(p.payment_method, p.max_discount_percent) for p in DiscountPolicy.objects.all()} \
        == {("", Decimal("2.00")), ("full", Decimal("3.50"))}
    bad = admin.post(url, {"part": "policies", "limit_sales_consultant_any": "1",
                           "limit_sales_manager_any": "150"})
    assert bad.status_code == 400
    assert 'value="150"' in bad.content.decode()  # what was typed stays
    assert DiscountPolicy.objects.get(payment_method="").max_discount_percent == Decimal("2")
    cleared = admin.post(url, {"part": "policies", "limit_sales_consultant_any": "2"})
    assert cleared.status_code == 302 and DiscountPolicy.objects.count() == 1
    admin.post(url, {"part": "probabilities", "company": org["first"].pk,
                     "probability_negotiation": "60"})
    assert StageProbability.objects.get().company == org["first"]
    _n, page = _count(admin, url + f"?company={org['first'].pk}")
    assert "60%" in page
    reader = client_for(people["consultant"])
    _n, page = _count(reader, url)
    assert 'name="limit_sales_consultant_full"' not in page
    assert reader.post(url, {"part": "policies"}).status_code == 403


def test_funnel_tile_on_the_home_page(people, make_opportunity, client_for):
    make_opportunity()
    client = client_for(people["consultant"])
    home = client.get("/").content.decode()
    chart_url = reverse("sales:opportunity_funnel_chart")
    assert f'data-chart-url="{chart_url}"' in home
    option = client.get(chart_url).json()
    assert option["series"][0]["type"] == "funnel"
    assert option["series"][0]["data"][0]["value"] == 1


def test_bad_input_names_the_field(people, client_for, make_customer, org):
    customer = make_customer(owner=people["consultant"])
    client = client_for(people["consultant"])
    page = client.post(reverse("sales:opportunity_create"), {
        "customer": customer.pk, "project": org["a"].pk, "stage": "first_visit",
        "expected_value": "很多"}, follow=True).content.decode()
    assert "预计成交额（元）：" in page
    assert not Opportunity.objects.exists()
    page = client.post(reverse("sales:opportunity_create"), {
        "customer": customer.pk, "project": org["c"].pk, "stage": "first_visit"},
        follow=True).content.decode()
    assert "项目：请选择您可见的项目。" in page
