"""The search page, its htmx partial, its JSON form and the box in the top bar."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db

URL = "/customers/search/"


@pytest.fixture
def zhang(people, make_customer):
    return make_customer("张三", phones=["13800138000"], owner=people["consultant"])


def test_url_name():
    assert reverse("customers:search") == URL


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL, {"q": "zs"})
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_page_shows_hits_masked_and_linked(client_for, people, zhang):
    response = client_for(people["consultant"]).get(URL, {"q": "zs"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "张三" in html and "138****8000" in html
    assert "13800138000" not in html and "138 0013 8000" not in html
    assert reverse("customers:detail", args=[zhang.pk]) in html


def test_htmx_gets_only_the_results(client_for, people, zhang):
    response = client_for(people["consultant"]).get(URL, {"q": "8000"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and "张三" in html and "138****8000" in html


def test_typeahead_partial(client_for, people, zhang):
    response = client_for(people["consultant"]).get(
        URL, {"q": "张", "typeahead": "1"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "typeahead-list" in html and "张三" in html and "138****8000" in html


def test_json_is_masked(client_for, people, zhang):
    data = client_for(people["admin"]).get(URL, {"q": "138 0013 8000", "format": "json"}).json()
    assert data["results"] == [{
        "id": zhang.pk, "name": "张三", "phone": "138****8000", "stage": "potential",
        "tier": "potential", "matched_on": "phone", "rank": 1,
        "url": reverse("customers:detail", args=[zhang.pk])}]


def test_out_of_scope_customers_are_not_shown(client_for, people, zhang):
    html = client_for(people["consultant_b"]).get(URL, {"q": "张三"}).content.decode()
    assert "data-customer=" not in html
    assert 'class="empty"' in html


def test_empty_query_and_bad_input_are_not_errors(client_for, people, zhang):
    client = client_for(people["consultant"])
    for query in ("", " ", "*" * 500, "'; drop table x; --", "%", "_", "\\", "1" * 30):
        assert client.get(URL, {"q": query}).status_code == 200, query
        assert client.get(URL, {"q": query, "format": "json"}).status_code == 200, query


def test_shell_has_the_search_box(client_for, people):
    html = client_for(people["consultant"]).get(URL).content.decode()
    assert 'class="topbar-search"' in html
    assert f'action="{URL}"' in html


def test_queries_per_page_are_constant(client_for, people, make_customer, zhang):
    client = client_for(people["consultant"])
    client.get(URL, {"q": "张"})
    with CaptureQueriesContext(connection) as few:
        client.get(URL, {"q": "张"})
    few = len(few)  # (the next request clears the connection's query log)
    for index in range(12):
        make_customer("张" + "三" * (index + 1), owner=people["consultant"])
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL, {"q": "张"})
    assert response.content.decode().count("data-customer=") == 13
    many = len(many)
    assert few == many <= 11
    for fmt in ({"format": "json"}, {"typeahead": "1"}):
        client.get(URL, {"q": "zs", **fmt})
        with CaptureQueriesContext(connection) as json_queries:
            client.get(URL, {"q": "zs", **fmt})
        # "zs": the fragment probe, then a term page and its customers for pinyin and initials
        assert len(json_queries) <= many + 3

