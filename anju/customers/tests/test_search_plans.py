"""On PostgreSQL, every kind of search is served by an index: no sequential scan of the
customers, their phones or their search terms, even for a viewer who sees everyone."""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anju.core.normalise import phone_last4
from anju.customers.indexing import search_term_rows
from anju.customers.models import Customer, CustomerPhone, CustomerSearchTerm
from anju.customers.search import customer_search

pytestmark = [pytest.mark.django_db, pytest.mark.only_postgresql]

SURNAMES = "张王李赵刘陈杨黄周吴徐孙朱马胡郭林何高梁郑罗宋谢唐韩曹许邓萧冯曾程蔡彭潘袁于董余"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌飞宇浩然子涵"
TABLES = ("customers_customer", "customers_customersearchterm", "customers_customerphone")


@pytest.fixture
def ledger(org, people):
    rng = random.Random(7)
    owners = [people["consultant"], people["peer"], people["consultant_b"], None]
    customers = Customer.objects.bulk_create([
        Customer(company=org["first"], project=org[rng.choice("ab")], owner=rng.choice(owners),
                 name=rng.choice(SURNAMES) + "".join(rng.choice(GIVEN)
                                                     for _ in range(rng.choice((1, 2)))),
                 primary_phone=f"+86139{index:08d}")
        for index in range(4000)])
    CustomerPhone.objects.bulk_create([
        CustomerPhone(customer=customer, e164=customer.primary_phone,
                      last4=phone_last4(customer.primary_phone), is_primary=True)
        for customer in customers])
    CustomerSearchTerm.objects.bulk_create(
        [row for customer in customers for row in search_term_rows(customer.pk, customer.name,
                                                              customer.owner_id)],
        batch_size=5000)
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
    return customers


QUERIES = {
    "phone": "+86 139 0000 1234",
    "last4": "1234",
    "masked": "139****1234",
    "id_number": "11010519491231002X",
    "fragment_2": "张伟",
    "fragment_3": "张伟明",
    "long_name": "张伟明张伟明张伟明",
    "pinyin": "zhangw",
    "initials": "zw",
}


@pytest.mark.parametrize("viewer_role", ["admin", "consultant", "manager"])
@pytest.mark.parametrize("kind", sorted(QUERIES))
def test_every_search_kind_uses_an_index(ledger, people, kind, viewer_role):
    viewer = people[viewer_role]
    customer_search(viewer=viewer, query="warm")
    with CaptureQueriesContext(connection) as captured:
        customer_search(viewer=viewer, query=QUERIES[kind])
    assert captured.captured_queries
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        for table in TABLES:
            assert f"Seq Scan on {table}" not in plan, plan


def test_one_character_in_a_consultant_s_own_book_uses_an_index(ledger, people):
    """A single character matches a large share of a big ledger: for a consultant, the probe
    stays on indexes (for viewers who see everyone, the planner may rightly prefer a scan)."""
    viewer = people["consultant"]
    customer_search(viewer=viewer, query="warm")
    with CaptureQueriesContext(connection) as captured:
        customer_search(viewer=viewer, query="张")
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        for table in TABLES:
            assert f"Seq Scan on {table}" not in plan, plan
