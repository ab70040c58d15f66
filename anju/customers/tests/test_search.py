"""The one search box: every way a consultant remembers a person finds the same record,
ranked, scoped and never a merged-away copy."""

import datetime
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from anju.core.normalise import name_search_keys
from anju.customers.indexing import normalise_query_text, prefix_successor, search_terms_for
from anju.customers.models import Customer
from anju.customers.search import (
    MatchedOn,
    Rank,
    customer_search,
)
from anju.customers.services import customer_update

pytestmark = pytest.mark.django_db

PHONE_FORMATS = [
    "13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "+8613800138000",
    "0086 138 0013 8000", "008613800138000", "+86-138-0013-8000", "１３８ ００１３ ８０００",
    " 138 0013 8000 ", "138.0013.8000", "(+86) 13800138000",
]


def names(hits):
    return [hit.customer.name for hit in hits]


@pytest.fixture
def zhang(people, make_customer):
    return make_customer("张三", phones=["13800138000"], owner=people["consultant"],
                         id_number="11010519491231002X")


@pytest.mark.parametrize("raw", PHONE_FORMATS)
def test_every_phone_format_finds_the_same_customer(people, zhang, make_customer, raw):
    make_customer("李四", phones=["13800138001"], owner=people["consultant"])
    hits = customer_search(viewer=people["admin"], query=raw)
    assert [hit.customer.pk for hit in hits] == [zhang.pk]
    assert hits[0].matched_on == MatchedOn.PHONE


@pytest.mark.parametrize("query", ["zs", "zhangs", "zhang san", "zhangsan", "张", "张三",
                                   "8000", "ZS", "Zhang San", "138****8000", "138 **** 8000",
                                   "****8000"])
def test_zhang_san_is_found_by_what_people_remember(people, zhang, make_customer, query):
    make_customer("王五", phones=["13900001111"], owner=people["consultant"])
    assert zhang.pk in [hit.customer.pk for hit in
                        customer_search(viewer=people["consultant"], query=query)]


def test_masked_phone_checks_the_prefix(people, zhang):
    assert customer_search(viewer=people["admin"], query="139****8000") == []
    assert names(customer_search(viewer=people["admin"], query="+86 138****8000")) == ["张三"]


def test_id_number_any_case_and_spacing(people, zhang):
    for query in ("11010519491231002X", "11010519491231002x", "110105 19491231 002X"):
        hits = customer_search(viewer=people["admin"], query=query)
        assert names(hits) == ["张三"], query
        assert hits[0].matched_on == MatchedOn.ID_NUMBER
    assert customer_search(viewer=people["admin"], query="110105194912310021") == []


def test_no_number_no_name_no_hit(people, zhang):
    for query in ("", "   ", "1234", "138 0013 9999", "赵", "qq", "12345"):
        assert customer_search(viewer=people["admin"], query=query) == [], query


@pytest.mark.parametrize(("name", "queries"), [
    ("曾国藩", ["zengguofan", "cengguofan", "zgf", "cgf", "zeng", "ceng", "曾", "国藩"]),
    ("单田芳", ["shantianfang", "dantianfang", "stf", "dtf", "shan", "dan", "单田"]),
])
def test_polyphonic_surnames_by_both_readings(people, make_customer, name, queries):
    customer = make_customer(name, owner=people["consultant"])
    make_customer("李四", owner=people["consultant"])
    for query in queries:
        assert [hit.customer.pk for hit in
                customer_search(viewer=people["consultant"], query=query)] == [customer.pk], query


def test_two_and_three_character_fragments(people, make_customer):
    owner = people["consultant"]
    target = make_customer("欧阳明月", owner=owner)
    make_customer("明亮", owner=owner)
    for query in ("欧阳", "阳明", "明月", "欧阳明", "阳明月", "欧阳明月"):
        assert target.pk in [hit.customer.pk for hit in customer_search(viewer=owner,
                                                                         query=query)], query
    assert names(customer_search(viewer=owner, query="阳明月")) == ["欧阳明月"]


def test_names_longer_than_the_stored_fragments(people, make_customer):
    owner = people["consultant"]
    long_name = make_customer("阿卜杜拉·买买提江", owner=owner)
    make_customer("阿卜杜拉·买买提", owner=owner)
    assert names(customer_search(viewer=owner, query="卜杜拉·买买提江")) == ["阿卜杜拉·买买提江"]
    assert [hit.customer.pk for hit in customer_search(viewer=owner, query="阿卜杜拉·买买提江")
            ] == [long_name.pk]


def test_ranking_exact_then_prefix_then_fragment_then_recent_contact(people, make_customer):
    owner = people["consultant"]
    now = timezone.now()
    fragment_old = make_customer("小张三", owner=owner,
                                 last_contact_at=now - datetime.timedelta(days=9))
    fragment_new = make_customer("老张三", owner=owner, last_contact_at=now)
    prefix = make_customer("张三丰", owner=owner)
    exact = make_customer("张三", owner=owner)
    hits = customer_search(viewer=owner, query="张三")
    assert [hit.customer.pk for hit in hits] == [exact.pk, prefix.pk, fragment_new.pk,
                                                 fragment_old.pk]
    assert [hit.rank for hit in hits] == [Rank.EXACT_NAME, Rank.NAME_PREFIX,
                                          Rank.NAME_FRAGMENT, Rank.NAME_FRAGMENT]


def test_pinyin_before_initials_and_no_repeats(people, make_customer):
    owner = people["consultant"]
    zhang = make_customer("张三", owner=owner)         # pinyin zhangsan, initials zs
    zhu = make_customer("朱顺", owner=owner)           # initials zs only ("zhushun")
    hits = customer_search(viewer=owner, query="zs")
    assert [hit.customer.pk for hit in hits] == [zhang.pk, zhu.pk]  # term order, then id
    assert {hit.matched_on for hit in hits} == {MatchedOn.INITIALS}
    hits = customer_search(viewer=owner, query="zhu")
    assert [hit.customer.pk for hit in hits] == [zhu.pk]
    assert hits[0].matched_on == MatchedOn.PINYIN


def test_limit_is_respected(people, make_customer):
    owner = people["consultant"]
    for _ in range(7):
        make_customer("张三", owner=owner)
    assert len(customer_search(viewer=owner, query="张三", limit=5)) == 5
    assert len(customer_search(viewer=owner, query="zs", limit=3)) == 3


def test_scoped_to_the_viewer_and_merged_records_excluded(people, make_customer, org):
    mine = make_customer("张三", phones=["13800138000"], owner=people["consultant"])
    peers = make_customer("张三", phones=["13800138001"], owner=people["peer"])
    other_company = make_customer("张三", phones=["13800138002"], owner=people["outsider"],
                                  project=org["c"])
    merged = make_customer("张三", phones=["13800138003"], owner=people["consultant"])
    Customer.objects.filter(pk=merged.pk).update(merged_into=mine)

    def found(user, query="张三"):
        return {hit.customer.pk for hit in customer_search(viewer=user, query=query)}

    assert found(people["consultant"]) == {mine.pk}
    assert found(people["manager"]) == {mine.pk, peers.pk}
    assert found(people["outsider"]) == {other_company.pk}
    assert found(people["admin"]) == {mine.pk, peers.pk, other_company.pk}
    assert found(people["consultant"], "13800138001") == set()
    assert found(people["consultant"], "13800138003") == set()
    assert found(people["consultant"], "8001") == set()


def test_prefix_successor_bounds_exactly_the_strings_with_the_prefix():
    assert prefix_successor("zs") == "zt"
    assert prefix_successor("张") == chr(ord("张") + 1)
    assert prefix_successor("a\U0010ffff") == "b"
    assert prefix_successor("\U0010ffff") is None
    assert prefix_successor("a\ud7ff") == "a\ue000"
    for inside in ("zs", "zsan", "zs9", "zszzzz"):
        assert "zs" <= inside < prefix_successor("zs")
    assert prefix_successor("zs") <= "zt"


def test_a_name_is_indexed_by_its_suffixes_pinyin_and_initials():
    # 明 has two readings in pypinyin's dictionary: both are kept
    assert search_terms_for("欧阳明伟") == [
        ("n", "欧阳明伟"), ("n", "阳明伟"), ("n", "明伟"), ("n", "伟"),
        ("p", "ouyangmingwei"), ("p", "ouyangmengwei"), ("i", "oymw")]


# --- property: the index gives what a plain scan gives -------------------------------------

SURNAMES = ("张王李赵刘陈杨黄周吴徐孙朱马胡郭林何高梁郑罗宋谢唐韩曹许邓萧冯曾程蔡彭潘袁于董"
            "余苏叶吕魏蒋田杜丁沈姜范江傅钟卢汪戴崔任陆廖姚方金邱夏谭韦贾邹石熊孟秦"
            "阎薛侯雷白龙段郝孔邵史毛常万顾赖武康贺严尹钱施牛洪龚单")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌飞宇浩然"
         "子涵梓轩一诺欣怡思远佳琪单曾乐长重行")


def scan(customers, query):
    """What a user means: the name contains the text, or a reading/initials starts with it."""
    compact = normalise_query_text(query)
    found = set()
    for customer in customers:
        keys = name_search_keys(customer.name)
        in_name = compact in normalise_query_text(customer.name)
        by_reading = compact.isascii() and compact.isalnum() and any(
            key.startswith(compact) for key in (*keys.pinyin_full, *keys.initials))
        if in_name or by_reading:
            found.add(customer.pk)
    return found


def test_results_equal_a_plain_substring_scan(people, make_customer):
    rng = random.Random(4)
    owner = people["consultant"]
    customers = [make_customer(rng.choice(SURNAMES) + "".join(
        rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))), owner=owner)
        for _ in range(300)]
    queries = set()
    for customer in rng.sample(customers, 40):
        name = customer.name
        start = rng.randrange(len(name))
        queries.add(name[start:start + rng.choice((1, 2, 3))])
        keys = name_search_keys(name)
        reading = rng.choice(keys.pinyin_full)
        queries.add(reading[:rng.randint(2, len(reading))])
        queries.add(rng.choice(keys.initials)[:rng.randint(1, 3)])
    queries |= {"张伟", "王芳", "zh", "li", "wf", "x"}
    for query in sorted(queries):
        got = {hit.customer.pk for hit in customer_search(viewer=owner, query=query, limit=200)}
        assert got == scan(customers, query), query


# --- queries per search ---------------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ("13800138000", 1), ("8000", 1), ("138****8000", 1), ("11010519491231002X", 1),
    # latin letters: the name probe, then for pinyin and for initials one page of terms and,
    # when that page held terms, one query for those customers within the scope
    ("张三", 1), ("张三丰的大儿子李四", 1), ("zs", 4), ("zhangsan", 4),
])
def test_queries_per_search_are_constant(people, make_customer, zhang, query, expected):
    for index in range(5):
        make_customer("张三" + "丰" * index, owner=people["consultant"])
    viewer = people["consultant"]
    customer_search(viewer=viewer, query=query)  # warm the user's scope cache
    with CaptureQueriesContext(connection) as first:
        customer_search(viewer=viewer, query=query)
    for index in range(10):
        make_customer("张三" + "丰" * index, owner=viewer)
    with CaptureQueriesContext(connection) as second:
        customer_search(viewer=viewer, query=query)
    assert len(first) == len(second) == expected, [q["sql"] for q in second]


# --- a viewer who sees few of many people sharing the initials -----------------------------

def _sharing_zs(org, people, make_customer):
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
    theirs = [make_customer("张" + "三思森松"[index % 4] + given[index % len(given)],
                            owner=people["consultant_b"], project=org["b"])
              for index in range(90)]
    mine = [make_customer(name, owner=people["consultant"]) for name in ("赵四", "张三丰", "周思")]
    return theirs, mine


@pytest.mark.parametrize(("batch_max", "max_rows"), [(4000, 20_000), (8, 40), (8, 8)])
def test_a_project_viewer_finds_their_project_s_people_among_many_sharing_the_initials(
        org, people, make_customer, monkeypatch, batch_max, max_rows):
    """For scopes wider than owners, the term index is read in rounds and checked against the
    scope; past MAX_TERM_ROWS the rest comes from one join. Every way finds the project's
    people, in index order, each once, and nobody else's."""
    from anju.customers import search

    monkeypatch.setattr(search, "TERM_BATCH_MAX", batch_max)
    monkeypatch.setattr(search, "MAX_TERM_ROWS", max_rows)
    _theirs, mine = _sharing_zs(org, people, make_customer)
    hits = customer_search(viewer=people["marketing"], query="zs", limit=20)  # project a
    assert [hit.customer.pk for hit in hits] == [mine[0].pk, mine[2].pk, mine[1].pk]
    assert {hit.matched_on for hit in hits} == {MatchedOn.INITIALS}
    assert len(customer_search(viewer=people["admin"], query="zs", limit=200)) == 93


def test_a_consultant_s_initials_come_from_their_own_terms_and_follow_a_reassignment(
        org, people, make_customer):
    theirs, mine = _sharing_zs(org, people, make_customer)
    consultant, other = people["consultant"], people["consultant_b"]
    hits = customer_search(viewer=consultant, query="zs", limit=20)
    assert [hit.customer.pk for hit in hits] == [mine[0].pk, mine[2].pk, mine[1].pk]
    assert {hit.customer.pk for hit in customer_search(viewer=other, query="zs", limit=200)
            } == {customer.pk for customer in theirs}
    assert customer_search(viewer=people["peer"], query="zs") == []  # sees own people only
    customer = mine[1]
    customer_update(actor=people["admin"], customer=customer,
                    expected_version=customer.version, owner=other, project=org["b"])
    assert [hit.customer.pk for hit in customer_search(viewer=consultant, query="zs")] == [
        mine[0].pk, mine[2].pk]
    assert customer.pk in {hit.customer.pk for hit in customer_search(
        viewer=other, query="zs", limit=200)}
