"""The list's tier filter: the tier in force (set by hand, else computed), served by the index
on that expression (`customer_tier_in_force_idx`) on both databases."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from anju.customers import selectors
from anju.customers.models import Customer, Tier

TIERS = Tier.values


@pytest.fixture
def tiered(people, make_customer):
    return {
        "vip": make_customer("计算贵宾", tier="vip", owner=people["consultant"]),
        "vip_by_hand": make_customer("手设贵宾", tier="ordinary", tier_override="vip",
                                     owner=people["consultant"]),
        "demoted": make_customer("降为普通", tier="vip", tier_override="ordinary",
                                 owner=people["consultant"]),
        "key": make_customer("重点", tier="key", owner=people["peer"]),
    }


def test_the_tier_in_force_decides(tiered, people, client_for):
    response = client_for(people["manager"]).get(reverse("customers:list"), {"tier": "vip"})
    page = response.context["page"]
    assert {row.pk for row in page.rows} == {tiered["vip"].pk, tiered["vip_by_hand"].pk}
    count = client_for(people["manager"]).get(reverse("customers:count"), {"tier": "vip"})
    assert ">2</small>" in count.content.decode()
    body = response.content.decode()
    assert "计算贵宾" in body and "手设贵宾" in body and "降为普通" not in body
    ordinary = selectors.customer_list(viewer=people["manager"], filters={"tier": "ordinary"},
                                       with_count=True)
    assert [row.pk for row in ordinary.rows] == [tiered["demoted"].pk]


def test_the_tier_filter_is_served_by_its_index(org, people):
    # VIPs are few, as in a real ledger (1 in 100 computed, 1 in 250 set by hand): with a
    # quarter of the rows matching, walking the primary key is as cheap and PostgreSQL may
    # rightly take it
    others = [tier for tier in TIERS if tier != "vip"]
    Customer.objects.bulk_create([
        Customer(company=org["first"], project=org["a"], owner=people["consultant"],
                 name=f"客户{index}", tier="vip" if index % 100 == 0 else others[index % 3],
                 tier_override="vip" if index % 250 == 7 else "")
        for index in range(4000)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer" if connection.vendor == "postgresql"
                       else "ANALYZE")
    with CaptureQueriesContext(connection) as captured:
        selectors.customer_list(viewer=people["admin"], filters={"tier": "vip"},
                                with_count=True)
    customer_queries = [query["sql"] for query in captured.captured_queries
                        if 'FROM "customers_customer"' in query["sql"]
                        and "customer_id" not in query["sql"]]
    assert len(customer_queries) == 2  # the page and its capped count
    for sql in customer_queries:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN " + sql)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = "\n".join(str(row[-1] if connection.vendor != "postgresql" else row[0])
                             for row in cursor.fetchall())
        assert "customer_tier_in_force_idx" in plan, plan
