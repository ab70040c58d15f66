"""Sections other apps register on the 360° page load after it, one request each."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from anju.core.registry import Section, customer_sections

pytestmark = pytest.mark.django_db


def _points_context(customer, viewer):
    return {"balance": len(customer.name) * 100, "viewer_name": viewer.username}


@pytest.fixture
def points_section():
    section = customer_sections.register(Section(
        key="test-points", title="积分", order=900,
        template_name="customers/tests/points_section.html", context=_points_context))
    yield section
    customer_sections.unregister(section.key)


@pytest.fixture
def managers_only_section():
    section = customer_sections.register(Section(
        key="test-managers", title="Managers only", order=901,
        template_name="customers/tests/points_section.html", context=_points_context,
        visible=lambda user: user.may("approve_exports")))
    yield section
    customer_sections.unregister(section.key)


def test_the_page_shows_the_section_title_and_loads_its_body_afterwards(
        people, make_customer, client_for, points_section):
    customer = make_customer("张三", owner=people["consultant"])
    client = client_for(people["consultant"])
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    section_url = reverse("customers:section", args=[customer.pk, "test-points"])
    assert "积分" in page
    assert f'hx-get="{section_url}"' in page
    assert "balance 200" not in page  # the body is not computed with the page

    body = client.get(section_url)
    assert body.status_code == 200
    assert "balance 200 for consultant1" in body.content.decode()


def test_a_section_is_out_of_reach_for_a_customer_out_of_scope(
        people, make_customer, client_for, points_section):
    customer = make_customer("张三", owner=people["consultant"])
    url = reverse("customers:section", args=[customer.pk, "test-points"])
    assert client_for(people["outsider"]).get(url).status_code == 404
    assert client_for(people["consultant"]).get(
        reverse("customers:section", args=[customer.pk, "no-such-section"])).status_code == 404


def test_a_hidden_section_is_neither_listed_nor_served(
        people, make_customer, client_for, managers_only_section):
    customer = make_customer("张三", owner=people["consultant"])
    url = reverse("customers:section", args=[customer.pk, "test-managers"])
    consultant = client_for(people["consultant"])
    assert "Managers only" not in consultant.get(
        reverse("customers:detail", args=[customer.pk])).content.decode()
    assert consultant.get(url).status_code == 404
    assert client_for(people["manager"]).get(url).status_code == 200


def test_the_page_costs_the_same_queries_with_more_sections_registered(
        people, make_customer, client_for):
    customer = make_customer("张三", owner=people["consultant"])
    client = client_for(people["consultant"])
    url = reverse("customers:detail", args=[customer.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as without:
        client.get(url)
    registered = [customer_sections.register(Section(
        key=f"test-extra-{index}", title=f"extra {index}", template_name="x.html",
        context=lambda customer, viewer: {"rows": list(type(customer).objects.all())}))
        for index in range(3)]
    try:
        with CaptureQueriesContext(connection) as with_sections:
            client.get(url)
    finally:
        for section in registered:
            customer_sections.unregister(section.key)
    assert len(with_sections) == len(without)


def test_a_section_key_must_be_a_url_slug():
    with pytest.raises(ValueError, match="slug"):
        Section(key="sales.deals", title="Deals")
