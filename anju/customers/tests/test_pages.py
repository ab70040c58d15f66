import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anju.customers import services
from anju.customers.models import Customer, Interaction, SavedFilter, Tag


@pytest.fixture
def consultant_client(people, client_for):
    return client_for(people["consultant"])


def test_list_shows_own_customers_masked(people, make_customer, consultant_client):
    make_customer("张三", phones=["13800138000"], owner=people["consultant"])
    make_customer("李四", owner=people["peer"])
    response = consultant_client.get(reverse("customers:list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "张三" in body and "李四" not in body
    assert "138****8000" in body and "13800138000" not in body


def test_list_filters_and_keyset_pages(people, make_customer, client_for):
    for index in range(60):
        make_customer(f"客户{index:02d}", owner=people["consultant"],
                      stage="buyer" if index % 2 else "potential")
    client = client_for(people["manager"])
    first = client.get(reverse("customers:list"), {"stage": "buyer"})
    page = first.context["page"]
    assert len(page.rows) == 30 and page.next_cursor is None
    assert all(row.stage == "buyer" for row in page.rows)
    everyone = client.get(reverse("customers:list"))
    page = everyone.context["page"]
    assert len(page.rows) == 50 and page.next_cursor
    second = client.get(reverse("customers:list"), {"cursor": page.next_cursor},
                        HTTP_HX_REQUEST="true")
    assert len(second.context["page"].rows) == 10
    assert not {r.pk for r in page.rows} & {r.pk for r in second.context["page"].rows}
    by_name = client.get(reverse("customers:list"), {"sort": "name"}).context["page"]
    assert [r.name for r in by_name.rows] == sorted(r.name for r in by_name.rows)


def test_list_count_comes_after_the_rows_for_the_same_filters_and_scope(
        people, make_customer, client_for):
    for index in range(7):
        make_customer(f"客户{index}", owner=people["consultant"],
                      stage="buyer" if index % 2 else "potential")
    make_customer("别人的", owner=people["peer"], stage="buyer")
    client = client_for(people["consultant"])
    body = client.get(reverse("customers:list"), {"stage": "buyer"}).content.decode()
    count_url = reverse("customers:count") + "?stage=buyer"
    assert f'hx-get="{count_url}"' in body and 'hx-trigger="load"' in body
    fragment = client.get(count_url).content.decode()
    assert 'id="customer-count"' in fragment and ">3<" in fragment  # the peer's is not counted
    assert ">8<" in client_for(people["manager"]).get(reverse("customers:count")).content.decode()
    assert client.get(reverse("customers:count"), {"stage": "no-such"}).status_code == 200


def _queries(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured)


def test_list_query_count_is_constant(people, make_customer, client_for, org):
    client = client_for(people["manager"])
    tag = Tag.objects.first()
    make_customer("甲", owner=people["consultant"]).tag_links.create(tag=tag)
    _queries(client, reverse("customers:list"))  # the filter options are kept a minute
    few = _queries(client, reverse("customers:list"), {"tier": "potential"})
    for index in range(40):
        customer = make_customer(f"客户{index}", owner=people["peer"], project=org["b"])
        customer.tag_links.create(tag=tag)
    many = _queries(client, reverse("customers:list"), {"tier": "potential"})
    assert many == few


def test_filter_options_are_kept_per_viewer_and_follow_a_changed_scope(
        people, make_customer, client_for, org):
    manager = people["manager"]
    client = client_for(manager)
    first = _queries(client, reverse("customers:list"))
    again = _queries(client, reverse("customers:list"))
    assert again <= first - 3  # tags, owners and projects come from the cache
    other_company = f'<option value="{org["c"].pk}">翡翠湾</option>'
    assert other_company not in client.get(reverse("customers:list")).content.decode()
    manager.projects.add(org["c"])  # a wider scope is a new key: its options show at once
    page = client_for(manager).get(reverse("customers:list")).content.decode()
    assert other_company in page


def test_create_page_creates_and_offers_existing(people, org, make_customer,
                                                 consultant_client):
    url = reverse("customers:create")
    assert consultant_client.get(url).status_code == 200
    response = consultant_client.post(url, {"name": "张三", "phones": "138 0013 8000",
                                            "project": org["a"].pk, "stage": "potential"})
    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    # again: the existing record is offered, nothing created
    response = consultant_client.post(url, {"name": "张叁", "phones": "+86 13800138000",
                                            "project": org["a"].pk, "stage": "potential"})
    assert response.status_code == 400
    assert reverse("customers:detail", args=[customer.pk]) in response.content.decode()
    assert Customer.objects.count() == 1


def test_create_page_duplicate_out_of_scope_names_owner_masked(people, org, make_customer,
                                                               consultant_client):
    other = make_customer("李四", phones=["13800138000"], owner=people["peer"])
    response = consultant_client.post(reverse("customers:create"), {
        "name": "李四", "phones": "13800138000", "project": org["a"].pk, "stage": "potential"})
    body = response.content.decode()
    assert response.status_code == 400
    assert reverse("customers:detail", args=[other.pk]) not in body
    start = body.index("duplicate-offer")
    offer = body[start:body.index("</section>", start)]
    assert "赵顾问" in offer and "138****8000" in offer


@pytest.mark.parametrize(("data", "field"), [
    ({"phones": "1380013"}, "phones"),
    ({"phones": "138abcd8000"}, "phones"),
    ({"id_number": "110105194912310021"}, "id_number"),
    ({"name": ""}, "name"),
    ({"birthday": "2023-02-30"}, "birthday"),
    ({"birthday": "2999-01-01"}, "birthday"),
])
def test_create_page_bad_input(org, consultant_client, data, field):
    values = {"name": "张三", "phones": "13800138000", "project": org["a"].pk,
              "stage": "potential", **data}
    response = consultant_client.post(reverse("customers:create"), values)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert Customer.objects.count() == 0


def test_edit_page_and_version_conflict(people, org, make_customer, consultant_client):
    customer = make_customer("张三", owner=people["consultant"])
    url = reverse("customers:edit", args=[customer.pk])
    form = consultant_client.get(url).context["form"]
    data = {**{k: v for k, v in form.initial.items() if v is not None}, "name": "张三丰",
            "project": org["a"].pk}
    assert consultant_client.post(url, data).status_code == 302
    customer.refresh_from_db()
    assert customer.name == "张三丰" and customer.version == 2
    stale = {**data, "name": "张无忌", "version": 1}
    response = consultant_client.post(url, stale)
    assert response.status_code == 409
    assert "张无忌" in response.content.decode()
    customer.refresh_from_db()
    assert customer.name == "张三丰"


def test_detail_page_360(people, make_customer, consultant_client):
    customer = make_customer("张三", phones=["13800138000"], owner=people["consultant"],
                             id_number="11010519491231002X")
    services.interaction_log(actor=people["consultant"], customer=customer, kind="visit",
                             outcome="看了样板间")
    response = consultant_client.get(reverse("customers:detail", args=[customer.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "看了样板间" in body
    assert "138****8000" in body and "13800138000" not in body
    assert "1****************X" in body and "11010519491231002X" not in body
    assert 'id="history"' in body


def test_detail_out_of_scope_is_404(people, make_customer, client_for):
    customer = make_customer("张三", owner=people["consultant"])
    for name in ("peer", "outsider", "consultant_b"):
        response = client_for(people[name]).get(reverse("customers:detail", args=[customer.pk]))
        assert response.status_code == 404


def test_detail_query_count_constant_with_200_interactions(people, make_customer, client_for):
    customer = make_customer("张三", owner=people["consultant"])
    client = client_for(people["consultant"])
    url = reverse("customers:detail", args=[customer.pk])
    services.interaction_log(actor=people["consultant"], customer=customer, kind="call")
    client.get(url)  # warm caches (content types)
    few = _queries(client, url)
    now = timezone.now()
    Interaction.objects.bulk_create([
        Interaction(customer=customer, user=people["consultant"], kind="call",
                    occurred_at=now - datetime.timedelta(hours=index), outcome=f"第{index}次")
        for index in range(200)])
    assert _queries(client, url) == few


def test_timeline_shows_the_latest_and_pages_back_to_the_first(people, make_customer,
                                                                client_for):
    customer = make_customer("张三", owner=people["consultant"])
    now = timezone.now()
    # 45 interactions, two of them at the very same moment as others (ties are kept apart)
    Interaction.objects.bulk_create([
        Interaction(customer=customer, user=people["consultant"], kind="call",
                    occurred_at=now - datetime.timedelta(hours=index // 2 * 2),
                    outcome=f"第{index:02d}次")
        for index in range(45)])
    client = client_for(people["consultant"])
    body = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    seen = re.findall(r"<div>(第\d\d次)</div>", body)
    assert len(seen) == 20 and 'id="timeline-more"' in body and "更早的跟进记录" in body
    for _page in range(5):
        cursor = re.search(r'hx-get="[^"]*timeline/\?cursor=([^"]+)"', body)
        if cursor is None:
            break
        body = client.get(reverse("customers:timeline", args=[customer.pk]),
                          {"cursor": cursor.group(1)}, HTTP_HX_REQUEST="true").content.decode()
        seen += re.findall(r"<div>(第\d\d次)</div>", body)
    # most recent first; at the same moment, the one logged last first
    assert seen == [f"第{index:02d}次" for index in sorted(range(45),
                                                          key=lambda i: (i // 2, -i))]
    assert 'id="timeline-more"' not in body
    # someone who does not see the customer does not see their timeline either
    other = client_for(people["consultant_b"]).get(
        reverse("customers:timeline", args=[customer.pk]))
    assert other.status_code == 404
    assert client.get(reverse("customers:timeline", args=[customer.pk]),
                      {"cursor": "not-a-cursor"}).status_code == 200


def test_interaction_form_htmx(people, make_customer, consultant_client):
    customer = make_customer("张三", owner=people["consultant"])
    url = reverse("customers:interaction-create", args=[customer.pk])
    response = consultant_client.post(url, {"kind": "call", "outcome": "约了周末来访",
                                            "next_follow_up_at": "2099-01-01T10:00"},
                                      HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "约了周末来访" in response.content.decode()
    assert Interaction.objects.get().next_follow_up_at is not None
    bad = consultant_client.post(url, {"kind": "fax"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    assert Interaction.objects.count() == 1


def test_tags_need_consent_tier_pages(people, make_customer, client_for):
    customer = make_customer("张三", owner=people["consultant"])
    consultant = client_for(people["consultant"])
    tag = Tag.objects.get(dimension__code="need", name="学区")
    response = consultant.post(reverse("customers:tags", args=[customer.pk]),
                               {"tags": [tag.pk]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "学区" in response.content.decode()
    response = consultant.post(reverse("customers:need", args=[customer.pk]), {
        "budget_min_wan": "300", "budget_max_wan": "200"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    response = consultant.post(reverse("customers:need", args=[customer.pk]), {
        "budget_min_wan": "200", "budget_max_wan": "300", "unit_types": "三室，四室",
        "purpose": "upgrade"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "三室、四室" in response.content.decode()
    consultant.post(reverse("customers:consent", args=[customer.pk]), {"granted": "1"})
    customer.refresh_from_db()
    assert customer.marketing_consent
    assert consultant.post(reverse("customers:tier", args=[customer.pk]),
                           {"tier": "vip", "reason": "x"}).status_code == 403
    manager = client_for(people["manager"])
    response = manager.post(reverse("customers:tier", args=[customer.pk]),
                            {"tier": "vip", "reason": "集团高管"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "集团高管" in response.content.decode()


def test_phone_add_on_360(people, make_customer, consultant_client):
    customer = make_customer("张三", owner=people["consultant"])
    url = reverse("customers:phone-add", args=[customer.pk])
    response = consultant_client.post(url, {"phone": "12"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    response = consultant_client.post(url, {"phone": "13700001111"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "137****1111" in response.content.decode()


def test_saved_filters_pages(people, consultant_client):
    response = consultant_client.post(reverse("customers:filter-save"),
                                      {"name": "我的VIP", "query": "tier=vip"},
                                      HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "我的VIP" in response.content.decode()
    saved = SavedFilter.objects.get()
    assert saved.user == people["consultant"]
    consultant_client.post(reverse("customers:filter-delete", args=[saved.pk]))
    assert not SavedFilter.objects.exists()


def test_today_page(people, make_customer, consultant_client, client_for):
    customer = make_customer("张三", owner=people["consultant"])
    now = timezone.now()
    Interaction.objects.create(customer=customer, user=people["consultant"], kind="call",
                               occurred_at=now - datetime.timedelta(days=3),
                               next_follow_up_at=now - datetime.timedelta(days=2),
                               outcome="说要考虑")
    response = consultant_client.get(reverse("customers:today"))
    assert response.status_code == 200
    assert len(response.context["overdue"]) == 1
    assert "说要考虑" in response.content.decode()
    manager = client_for(people["manager"]).get(reverse("customers:today"))
    assert len(manager.context["overdue_team"]) == 1


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("customers:list"))
    assert response.status_code == 302
