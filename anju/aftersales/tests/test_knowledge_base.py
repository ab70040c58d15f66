"""Knowledge base: articles tied to problem categories, search, and the suggestions the
reception form shows while a ticket is typed (articles + how similar tickets were closed)."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from anju.aftersales.care import selectors, services
from anju.aftersales.care.testing import *  # noqa: F403
from anju.aftersales.care.testing import image_file
from anju.aftersales.tickets import services as tickets

pytestmark = pytest.mark.django_db


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def articles(org, care_staff, lib):
    make = services.knowledge_article_create
    return {
        "leak": make(actor=care_staff["manager"], company=org["first"],
                     title="卫生间天花渗漏的处理", body="先关闭楼上卫生间用水，拍照报修。",
                     keywords="漏水 渗水 天花", category_id=lib["渗漏"].pk),
        "crack": make(actor=care_staff["manager"], company=org["first"],
                      title="墙面裂缝是否在保修期", body="墙面裂缝属装饰装修，保修两年。",
                      keywords="开裂 裂缝", category_id=lib["开裂"].pk),
        "other": make(actor=care_staff["manager"], company=org["second"],
                      title="别家公司的渗漏文章", body="不应被看到", keywords="漏水"),
    }


def test_an_article_needs_a_title_and_answer_and_a_category_of_its_company(org, care_staff,
                                                                          lib):
    with pytest.raises(ValidationError) as caught:
        services.knowledge_article_create(actor=care_staff["manager"], company=org["first"],
                                          title=" ", body="x")
    assert "title" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.knowledge_article_create(actor=care_staff["manager"], company=org["second"],
                                          title="t", body="b", category_id=lib["渗漏"].pk)
    assert "category" in caught.value.message_dict


def test_search_finds_chinese_fragments_of_typed_text_within_the_users_companies(
        articles, care_staff):
    found = selectors.knowledge_search(user=care_staff["agent"], query="卫生间漏水了")
    assert found[0].title == "卫生间天花渗漏的处理"
    assert articles["other"] not in found
    assert selectors.knowledge_search(user=care_staff["outsider"], query="漏水") == [
        articles["other"]]


def test_suggestions_give_the_categorys_articles_and_how_similar_tickets_were_closed(
        articles, care_staff, estate, lib, django_capture_on_commit_callbacks):
    agent = care_staff["agent"]
    unit = estate["units"]["7-101"]
    done = tickets.ticket_create(actor=agent, customer_id=estate["owners"]["7-101"].pk,
                                 unit_id=unit.pk, location_id=lib["卫生间"].pk,
                                 component_id=lib["天花"].pk, category_id=lib["渗漏"].pk,
                                 description="天花渗水")
    tickets.ticket_dispatch(actor=agent, ticket_id=done.pk, user_id=agent.pk)
    tickets.ticket_accept(actor=agent, ticket_id=done.pk)
    tickets.ticket_complete(actor=agent, ticket_id=done.pk, note="更换楼上地漏密封圈，闭水试验合格",
                            photos=[image_file()])
    tickets.ticket_confirm(actor=agent, ticket_id=done.pk, on_behalf=True)
    tickets.ticket_close(actor=agent, ticket_id=done.pk)

    response = client(agent).get(reverse("aftersales:knowledge_suggest"),
                                 {"category": lib["渗漏"].pk, "text": "卫生间天花漏水"},
                                 HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "卫生间天花渗漏的处理" in body
    assert "更换楼上地漏密封圈" in body
    assert "墙面裂缝" not in body and "别家公司" not in body


def test_suggest_costs_few_queries_and_refuses_non_service_staff(articles, care_staff, lib,
                                                                  django_assert_max_num_queries):
    c = client(care_staff["agent"])
    url = reverse("aftersales:knowledge_suggest")
    c.get(url)  # warm the session
    with django_assert_max_num_queries(8):
        assert c.get(url, {"category": lib["渗漏"].pk, "text": "漏水"}).status_code == 200
    assert client(care_staff["consultant"]).get(url).status_code == 403


def test_pages_list_show_and_edit_articles_with_errors_named(articles, care_staff, org,
                                                             django_assert_max_num_queries):
    manager = client(care_staff["manager"])
    manager.get(reverse("aftersales:knowledge_list"))
    with django_assert_max_num_queries(14):
        page = manager.get(reverse("aftersales:knowledge_list"), {"q": "裂缝"})
    assert "墙面裂缝是否在保修期" in page.content.decode()
    assert "卫生间天花" not in page.content.decode()
    detail = manager.get(reverse("aftersales:knowledge_detail", args=[articles["leak"].pk]))
    assert "先关闭楼上卫生间用水" in detail.content.decode()
    # another company's article is not there at all
    assert manager.get(reverse("aftersales:knowledge_detail",
                               args=[articles["other"].pk])).status_code == 404
    bad = manager.post(reverse("aftersales:knowledge_create"),
                       {"company": org["first"].pk, "title": "", "body": "内容"})
    assert bad.status_code == 400 and "内容" in bad.content.decode()
    good = manager.post(reverse("aftersales:knowledge_create"),
                        {"company": org["first"].pk, "title": "门窗渗水", "body": "检查密封胶",
                         "is_published": "on"})
    assert good.status_code == 302
    # agents read, managers write
    assert client(care_staff["agent"]).get(
        reverse("aftersales:knowledge_create")).status_code == 403


def test_the_reception_form_asks_for_suggestions_while_a_ticket_is_typed(care_staff):
    page = client(care_staff["agent"]).get(reverse("aftersales:ticket_new"))
    body = page.content.decode()
    assert page.status_code == 200
    assert f'hx-get="{reverse("aftersales:knowledge_suggest")}"' in body
    assert 'hx-include="[name=category], [name=description]"' in body
