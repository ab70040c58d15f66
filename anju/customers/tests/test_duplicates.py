"""Duplicate candidates for data stewards: the rules, their reasons, scope, dismissal, pages."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from anju.customers.duplicates import KINDS, REASONS, Kind, duplicate_candidates, duplicate_scan
from anju.customers.merging import customer_merge, duplicate_dismiss
from anju.customers.models import DuplicateCandidate, DuplicateDismissal, DuplicateScan


def _pairs(viewer, **kwargs):
    page = duplicate_candidates(viewer=viewer, **kwargs)
    return {(pair.first.pk, pair.second.pk): pair.kinds for pair in page.pairs}


def test_each_rule_finds_its_pairs_with_a_reason(people, make_customer, org):
    owner = people["consultant"]
    a1 = make_customer("张三", phones=["13800138000"], owner=owner)
    a2 = make_customer("张三", phones=["13911118000"], owner=owner)  # same last 4
    b1 = make_customer("李四", phones=["13700001234"], owner=owner)
    b2 = make_customer("李四", phones=["13700001235"], owner=owner)  # one digit apart
    c1 = make_customer("王五", phones=["13511112222"], owner=owner,
                       birthday=datetime.date(1980, 1, 2))
    c2 = make_customer("王五", phones=["13633334444"], owner=owner,
                       birthday=datetime.date(1980, 1, 2))
    d1 = make_customer("赵六", phones=[], owner=owner)
    d2 = make_customer("赵六", phones=[], owner=owner)
    # look-alikes that are not candidates
    make_customer("钱七", phones=["13600001111"], owner=owner)
    make_customer("钱七", phones=["13600002222"], owner=owner)  # two digits apart
    make_customer("孙八", phones=[], owner=owner)
    make_customer("孙八", phones=[], owner=owner, project=org["b"])  # other project
    make_customer("周九", phones=["13500005678"], owner=owner)
    make_customer("吴十", phones=["13400005678"], owner=owner)  # same last 4, other name

    pairs = _pairs(people["manager"])
    assert pairs == {
        (a1.pk, a2.pk): [Kind.NAME_LAST4],
        (b1.pk, b2.pk): [Kind.NAME_PHONE_TYPO],
        (c1.pk, c2.pk): [Kind.NAME_BIRTHDAY],
        (d1.pk, d2.pk): [Kind.NAME_PROJECT_NO_PHONE],
    }
    page = duplicate_candidates(viewer=people["manager"], kind=Kind.NAME_LAST4)
    assert [pair.key for pair in page.pairs] == [f"{a1.pk}-{a2.pk}"]
    assert page.pairs[0].reasons == [str(REASONS[Kind.NAME_LAST4])]


def test_a_pair_meeting_several_rules_is_shown_once(people, make_customer):
    birthday = datetime.date(1990, 3, 3)
    first = make_customer("张三", phones=["13800138000"], owner=people["consultant"],
                          birthday=birthday)
    second = make_customer("张三", phones=["13800138001", "13911118000"],
                           owner=people["consultant"], birthday=birthday)
    assert _pairs(people["admin"]) == {
        (first.pk, second.pk): [Kind.NAME_LAST4, Kind.NAME_PHONE_TYPO, Kind.NAME_BIRTHDAY]}


def test_id_rule_runs_and_finds_nothing_the_constraint_forbids(people, make_customer):
    make_customer("张三", owner=people["consultant"], id_number="11010519491231002X")
    make_customer("张三", owner=people["consultant"], id_number="440304199001010038")
    assert _pairs(people["admin"], kind=Kind.ID_NUMBER) == {}


def test_candidates_stay_in_the_viewers_scope(people, org, make_customer):
    zs1 = make_customer("张三", phones=["13800138000"], project=org["c"],
                        owner=people["outsider"])
    zs2 = make_customer("张三", phones=["13911118000"], project=org["c"],
                        owner=people["outsider"])
    mine = make_customer("李四", phones=["13700001234"], owner=people["consultant"])
    other_project = make_customer("李四", phones=["13600001234"], project=org["c"],
                                  owner=people["outsider"])
    assert _pairs(people["manager"]) == {}  # one 李四 and both 张三 are outside project A/B
    assert set(_pairs(people["admin"])) == {(zs1.pk, zs2.pk), (mine.pk, other_project.pk)}
    assert set(_pairs(people["outsider"])) == {(zs1.pk, zs2.pk)}


def test_dismissed_and_merged_pairs_leave_the_list(people, make_customer):
    owner = people["consultant"]
    a1 = make_customer("张三", phones=["13800138000"], owner=owner)
    a2 = make_customer("张三", phones=["13911118000"], owner=owner)
    b1 = make_customer("李四", phones=["13700001234"], owner=owner)
    b2 = make_customer("李四", phones=["13600001234"], owner=owner)
    manager = people["manager"]
    assert len(_pairs(manager)) == 2

    duplicate_dismiss(actor=manager, first=a2, second=a1, note="父子同名")
    dismissal = DuplicateDismissal.objects.get()
    assert (dismissal.first_id, dismissal.second_id) == (a1.pk, a2.pk)
    duplicate_dismiss(actor=manager, first=a1, second=a2)  # twice is once
    assert DuplicateDismissal.objects.count() == 1
    assert set(_pairs(manager)) == {(b1.pk, b2.pk)}

    customer_merge(actor=manager, survivor=b1, merged=b2, reason="同一人")
    assert _pairs(manager) == {}

    with pytest.raises(PermissionDenied):
        duplicate_dismiss(actor=people["consultant"], first=b1, second=a1)


def test_keyset_pages_cover_every_pair_once(people, make_customer):
    owner = people["consultant"]
    expected = set()
    for index in range(7):
        first = make_customer(f"客户{index}", phones=[f"1380000{index:04d}"], owner=owner)
        second = make_customer(f"客户{index}", phones=[f"1390000{index:04d}"], owner=owner)
        expected.add((first.pk, second.pk))
    seen, cursor, pages = [], None, 0
    while True:
        page = duplicate_candidates(viewer=people["manager"], cursor=cursor, limit=3)
        seen += [(pair.first.pk, pair.second.pk) for pair in page.pairs]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break
    assert pages == 3 and len(seen) == 7 and set(seen) == expected
    assert seen == sorted(seen)


# --- the stored candidates of the last scan -------------------------------------------------


@pytest.fixture
def ledger(people, org, make_customer):
    """Pairs of every rule, in and out of the manager's projects, some meeting two rules."""
    owner, outsider = people["consultant"], people["outsider"]
    birthday = datetime.date(1980, 1, 2)
    made = []
    for index in range(4):
        made += [make_customer(f"张{index}", phones=[f"1380013{index:04d}"], owner=owner),
                 make_customer(f"张{index}", phones=[f"1391111{index:04d}"], owner=owner,
                               birthday=birthday if index % 2 else None)]
        made += [make_customer(f"李{index}", phones=[f"1370000123{index}"], owner=owner,
                               birthday=birthday),
                 make_customer(f"李{index}", phones=[f"1370000124{index}"], owner=owner,
                               birthday=birthday)]
    made += [make_customer("赵六", phones=[], owner=owner),
             make_customer("赵六", phones=[], owner=owner),
             make_customer("钱七", phones=["13600005678"], owner=outsider, project=org["c"]),
             make_customer("钱七", phones=["13500005678"], owner=outsider, project=org["c"])]
    return made


def _all_pages(viewer, **kwargs):
    seen, cursor = [], None
    while True:
        page = duplicate_candidates(viewer=viewer, cursor=cursor, **kwargs)
        seen += [(pair.first.pk, pair.second.pk, tuple(pair.kinds)) for pair in page.pairs]
        cursor = page.next_cursor
        if not cursor:
            return seen


def test_the_stored_pairs_give_the_same_pages_as_the_rules_run_live(people, ledger):
    scan = duplicate_scan()
    assert scan.pairs >= 12 and DuplicateCandidate.objects.count() == scan.pairs
    for viewer in (people["manager"], people["admin"], people["outsider"],
                   people["consultant"]):
        for kind in (None, *KINDS):
            for limit in (1, 3, 50):
                stored = _all_pages(viewer, kind=kind, limit=limit)
                assert stored == _all_pages(viewer, kind=kind, limit=limit, live=True), (
                    viewer.username, kind, limit)
    assert any(len(kinds) == 2 for _a, _b, kinds in _all_pages(people["admin"]))
    page = duplicate_candidates(viewer=people["manager"])
    assert page.found_at == scan.finished_at


def test_merges_and_dismissals_leave_at_once_new_pairs_come_with_the_next_scan(
        people, make_customer):
    owner, manager = people["consultant"], people["manager"]
    a1 = make_customer("张三", phones=["13800138000"], owner=owner)
    a2 = make_customer("张三", phones=["13911118000"], owner=owner)
    b1 = make_customer("李四", phones=["13700001234"], owner=owner)
    b2 = make_customer("李四", phones=["13600001234"], owner=owner)
    duplicate_scan()
    assert set(_pairs(manager)) == {(a1.pk, a2.pk), (b1.pk, b2.pk)}
    duplicate_dismiss(actor=manager, first=a1, second=a2)
    customer_merge(actor=manager, survivor=b1, merged=b2, reason="同一人")
    assert _pairs(manager) == {}
    c1 = make_customer("王五", phones=["13511115678"], owner=owner)
    c2 = make_customer("王五", phones=["13622225678"], owner=owner)
    assert _pairs(manager) == {}  # found at the next scan, not on every page
    duplicate_scan()
    assert set(_pairs(manager)) == {(c1.pk, c2.pk)}


def test_the_scan_runs_every_half_hour_and_a_steward_can_ask_for_one(
        people, make_customer, client_for, api_for):
    from crontask import scheduler

    from anju.customers import tasks

    assert any("duplicate_candidates_scan" in str(job.func) or
               "duplicate_candidates_scan" in job.name for job in scheduler.get_jobs())
    make_customer("张三", phones=["13800138000"], owner=people["consultant"])
    make_customer("张三", phones=["13911118000"], owner=people["consultant"])
    duplicate_scan()
    page = client_for(people["manager"]).get(reverse("customers:duplicates"))
    assert "data-found-at" in page.content.decode()
    asked = client_for(people["manager"]).post(reverse("customers:duplicates_scan"))
    assert asked.status_code == 302
    assert DuplicateScan.objects.count() == 2  # the immediate backend ran it at once
    assert client_for(people["consultant"]).post(
        reverse("customers:duplicates_scan")).status_code == 403
    assert tasks.duplicate_candidates_scan.call()["pairs"] == 1
    answer = api_for(people["manager"]).get("/api/v1/duplicates/").json()
    assert answer["found_at"] and len(answer["results"]) == 1


# --- pages --------------------------------------------------------------------------------


def test_duplicates_page_for_stewards_only(people, make_customer, client_for):
    make_customer("张三", phones=["13800138000"], owner=people["consultant"])
    make_customer("张三", phones=["13911118000"], owner=people["consultant"])
    url = reverse("customers:duplicates")
    assert client_for(people["consultant"]).get(url).status_code == 403
    assert client_for(people["marketing"]).get(url).status_code == 403
    response = client_for(people["manager"]).get(url)
    text = response.content.decode()
    assert response.status_code == 200
    assert "张三" in text and "138****8000" in text and "13800138000" not in text
    assert str(REASONS[Kind.NAME_LAST4]) in text


def test_duplicates_page_query_count_is_constant(people, make_customer, client_for,
                                                 django_assert_max_num_queries):
    client = client_for(people["manager"])
    url = reverse("customers:duplicates")
    client.get(url)
    for index in range(2):
        make_customer(f"客户{index}", phones=[f"1380000{index:04d}"], owner=people["consultant"])
        make_customer(f"客户{index}", phones=[f"1390000{index:04d}"], owner=people["consultant"])
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    for index in range(2, 12):
        make_customer(f"客户{index}", phones=[f"1380000{index:04d}"], owner=people["consultant"])
        make_customer(f"客户{index}", phones=[f"1390000{index:04d}"], owner=people["consultant"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("data-pair=") == 12


def test_dismiss_from_the_page(people, make_customer, client_for):
    first = make_customer("张三", phones=["13800138000"], owner=people["consultant"])
    second = make_customer("张三", phones=["13911118000"], owner=people["consultant"])
    client = client_for(people["manager"])
    response = client.post(reverse("customers:duplicate_dismiss"),
                           {"first": first.pk, "second": second.pk},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.content == b""
    assert DuplicateDismissal.objects.filter(first=first, second=second).exists()
    assert "data-pair=" not in client.get(reverse("customers:duplicates")).content.decode()
    assert client.post(reverse("customers:duplicate_dismiss"),
                       {"first": first.pk, "second": "x"}).status_code == 404
    assert client_for(people["consultant"]).post(
        reverse("customers:duplicate_dismiss"),
        {"first": first.pk, "second": second.pk}).status_code == 403
