"""Merge: two records become one, nothing hung on them is lost, and it can be explained."""

import datetime

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from anju.core.crypto import lookup_hash
from anju.core.locking import VersionConflict
from anju.customers.merging import (
    customer_merge,
    customer_resolve_merged,
    merge_handlers,
    related_links,
)
from anju.customers.models import (
    ConsentRecord,
    Customer,
    CustomerNeed,
    CustomerPhone,
    CustomerSearchTerm,
    CustomerTag,
    DuplicateDismissal,
    HouseholdMember,
    Interaction,
    MergeRecord,
    Tag,
    TagDimension,
)

ID_A = "11010519491231002X"


@pytest.fixture
def tags(db):
    dimension = TagDimension.objects.create(code="merge_test", name="测试维度")
    return [Tag.objects.create(dimension=dimension, name=f"标签{i}") for i in range(3)]


def _rows_on(customer):
    """Rows pointing at a customer, per related column (search terms and history aside)."""
    skip = {CustomerSearchTerm, MergeRecord, DuplicateDismissal}
    return {f"{link.label}.{link.field_name}":
            link.model._base_manager.filter(**{link.field_name: customer.pk}).count()
            for link in related_links() if link.model not in skip}


@pytest.fixture
def pair(people, org, make_customer, tags):
    """Two records of 张三 in project A with rows of every ledger table on them."""
    consultant, manager = people["consultant"], people["manager"]
    now = timezone.now()
    survivor = make_customer("张三", phones=["13800138000"], owner=consultant,
                             occupation="教师", last_contact_at=now - datetime.timedelta(days=5))
    merged = make_customer("张三", phones=["13800138001", "13612345678"], owner=people["peer"],
                           birthday=datetime.date(1990, 5, 1), id_number=ID_A,
                           address="杭州市西湖区", last_contact_at=now)
    CustomerTag.objects.create(customer=survivor, tag=tags[0])
    CustomerTag.objects.create(customer=merged, tag=tags[0])  # the same tag twice
    CustomerTag.objects.create(customer=merged, tag=tags[1])
    CustomerNeed.objects.create(customer=survivor, budget_min_wan=200, purpose="upgrade")
    CustomerNeed.objects.create(customer=merged, budget_min_wan=150, area_min=90,
                                purpose="first_home")
    for day in range(3):
        Interaction.objects.create(customer=merged, user=manager, kind="call",
                                   occurred_at=now - datetime.timedelta(days=day))
    Interaction.objects.create(customer=survivor, user=manager, kind="visit", occurred_at=now)
    HouseholdMember.objects.create(customer=merged, relation="spouse", name="李四")
    other = make_customer("王五", owner=consultant)
    HouseholdMember.objects.create(customer=other, relation="other", related_customer=merged)
    ConsentRecord.objects.create(customer=merged, granted=True, wording_version="v1")
    survivor.interested_projects.set([org["a"]])
    merged.interested_projects.set([org["a"], org["b"]])
    earlier = make_customer("张三", phones=[], owner=consultant)
    Customer.objects.filter(pk=earlier.pk).update(merged_into=merged)
    return {"survivor": survivor, "merged": merged, "other": other, "earlier": earlier}


def test_merge_keeps_every_related_row(pair, people, tags):
    survivor, merged = pair["survivor"], pair["merged"]
    before_survivor, before_merged = _rows_on(survivor), _rows_on(merged)
    assert sum(before_merged.values()) >= 12

    record = customer_merge(actor=people["manager"], survivor=survivor, merged=merged,
                            reason="同一人，两个顾问各录了一次")

    after_survivor, after_merged = _rows_on(survivor), _rows_on(merged)
    assert sum(after_merged.values()) == 0, after_merged  # nothing left on the merged record
    dropped = {"customers.CustomerTag.customer": 1,  # tag 0 was on both
               "customers.CustomerNeed.customer": 1,  # one need per customer
               "customers.Customer_interested_projects.customer": 1}  # project A on both
    gained = {"customers.Customer.merged_into": 1}  # the merged record itself now points here
    for key, count in before_merged.items():
        assert after_survivor[key] == (before_survivor[key] + count - dropped.get(key, 0)
                                       + gained.get(key, 0)), key

    assert set(CustomerPhone.objects.filter(customer=survivor).values_list("e164", flat=True)) \
        == {"+8613800138000", "+8613800138001", "+8613612345678"}
    primary = CustomerPhone.objects.get(customer=survivor, is_primary=True)
    assert primary.e164 == "+8613800138000"  # the survivor keeps its primary phone
    assert set(CustomerTag.objects.filter(customer=survivor).values_list("tag", flat=True)) \
        == {tags[0].pk, tags[1].pk}
    assert Interaction.objects.filter(customer=survivor).count() == 4
    assert HouseholdMember.objects.get(name="李四").customer_id == survivor.pk
    assert HouseholdMember.objects.get(customer=pair["other"]).related_customer_id == survivor.pk
    assert set(survivor.interested_projects.values_list("code", flat=True)) == {"a", "b"}
    assert Customer.objects.get(pk=pair["earlier"].pk).merged_into_id == survivor.pk

    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert merged.merged_into_id == survivor.pk
    assert survivor.primary_phone == "+8613800138000"
    assert survivor.occupation == "教师"  # kept
    assert survivor.birthday == datetime.date(1990, 5, 1)  # blank filled from the merged
    assert survivor.address == "杭州市西湖区"
    assert survivor.id_number == ID_A and survivor.id_number_hash == lookup_hash(ID_A)
    assert merged.id_number == "" and merged.id_number_hash == ""
    assert survivor.marketing_consent is True  # from the consent history that moved
    assert survivor.last_contact_at == merged.last_contact_at
    need = CustomerNeed.objects.get(customer=survivor)
    assert (need.budget_min_wan, need.area_min, need.purpose) == (200, 90, "upgrade")

    assert record.moved["customers.Interaction"] == 3
    assert record.moved["customers.CustomerPhone"] == 2
    assert record.moved["customers.CustomerTag"] == 1
    assert record.merged_by == people["manager"]
    snapshot = record.merged_snapshot
    assert snapshot["customer"]["name"] == "张三"
    assert snapshot["customer"]["id_number"] == "1****************X"  # never in clear
    assert len(snapshot["related"]["customers.CustomerPhone"]["rows"]) == 2
    assert snapshot["related"]["customers.CustomerTag"]["count"] == 2
    assert snapshot["related"]["customers.ConsentRecord"]["rows"][0]["granted"] is True
    assert snapshot["related"]["customers.CustomerNeed"]["rows"][0]["purpose"] == "first_home"


def test_merge_rebuilds_search_terms_and_takes_chosen_fields(people, make_customer):
    survivor = make_customer("张叁", owner=people["consultant"], occupation="教师")
    merged = make_customer("张三", owner=people["consultant"], occupation="医生",
                           phones=["13700137000"])
    customer_merge(actor=people["manager"], survivor=survivor, merged=merged, reason="错别字",
                   field_choices={"name": "merged", "occupation": "merged",
                                  "primary_phone": "merged", "need": "merged"})
    survivor.refresh_from_db()
    assert (survivor.name, survivor.occupation) == ("张三", "医生")
    assert survivor.primary_phone == "+8613700137000"
    assert CustomerPhone.objects.get(customer=survivor, is_primary=True).e164 == "+8613700137000"
    terms = set(CustomerSearchTerm.objects.filter(customer=survivor).values_list("term", flat=True))
    assert {"张三", "zhangsan", "zs"} <= terms and "张叁" not in terms
    assert not CustomerSearchTerm.objects.filter(customer=merged).exists()


def test_one_per_customer_row_taken_from_the_merged_when_chosen(people, make_customer):
    survivor = make_customer("张三", owner=people["consultant"])
    merged = make_customer("张三", owner=people["consultant"])
    CustomerNeed.objects.create(customer=survivor, purpose="upgrade")
    CustomerNeed.objects.create(customer=merged, purpose="investment", area_min=120)
    customer_merge(actor=people["manager"], survivor=survivor, merged=merged, reason="同一人",
                   field_choices={"need": "merged"})
    need = CustomerNeed.objects.get(customer=survivor)
    assert (need.purpose, need.area_min) == ("investment", 120)
    assert CustomerNeed.objects.count() == 1


def test_merge_needs_a_steward_in_scope(people, org, make_customer):
    mine = make_customer("张三", owner=people["consultant"])
    also = make_customer("张三", owner=people["consultant"])
    elsewhere = make_customer("张三", project=org["c"], owner=people["outsider"])
    with pytest.raises(PermissionDenied):
        customer_merge(actor=people["consultant"], survivor=mine, merged=also, reason="x")
    with pytest.raises(Customer.DoesNotExist):  # the manager does not see project C
        customer_merge(actor=people["manager"], survivor=mine, merged=elsewhere, reason="x")
    assert not MergeRecord.objects.exists()
    assert Customer.objects.get(pk=elsewhere.pk).merged_into_id is None


def test_bad_merges_are_refused_with_field_errors(people, make_customer):
    first = make_customer("张三", owner=people["consultant"])
    second = make_customer("张三", owner=people["consultant"])
    third = make_customer("张三", owner=people["consultant"])
    manager = people["manager"]
    with pytest.raises(ValidationError) as error:
        customer_merge(actor=manager, survivor=first, merged=first, reason="")
    assert set(error.value.message_dict) == {"merged", "reason"}
    with pytest.raises(ValidationError) as error:
        customer_merge(actor=manager, survivor=first, merged=second, reason="x",
                       field_choices={"password": "merged"})
    assert "field_choices" in error.value.message_dict
    customer_merge(actor=manager, survivor=first, merged=second, reason="同一人")
    with pytest.raises(ValidationError) as error:
        customer_merge(actor=manager, survivor=third, merged=second, reason="again")
    assert "merged" in error.value.message_dict
    with pytest.raises(VersionConflict):
        customer_merge(actor=manager, survivor=first, merged=third, reason="x",
                       expected_versions={third.pk: third.version + 5})
    assert MergeRecord.objects.count() == 1


def test_merge_is_audited_on_both_records(pair, people):
    survivor, merged = pair["survivor"], pair["merged"]
    record = customer_merge(actor=people["admin"], survivor=survivor, merged=merged,
                            reason="同一人")
    content_type = ContentType.objects.get_for_model(Customer)
    for customer in (survivor, merged):
        entry = (LogEntry.objects.filter(content_type=content_type, object_pk=str(customer.pk),
                                         additional_data__merge_record=record.pk).get())
        assert entry.actor == people["admin"]
        assert entry.additional_data["reason"] == "同一人"
    merged_entry = LogEntry.objects.filter(object_pk=str(merged.pk),
                                           content_type=content_type).order_by("-id").first()
    changes = merged_entry.changes if isinstance(merged_entry.changes, dict) else {}
    assert "merged_into" in (changes or merged_entry.changes_dict)
    text = str(LogEntry.objects.filter(content_type=content_type).values_list("changes"))
    assert ID_A not in text and "13800138001" not in text  # masked in the trail


def test_resolve_merged_follows_the_chain(people, make_customer):
    first = make_customer("张三", owner=people["consultant"])
    second = make_customer("张三", owner=people["consultant"])
    third = make_customer("张三", owner=people["consultant"])
    customer_merge(actor=people["manager"], survivor=second, merged=first, reason="a")
    customer_merge(actor=people["manager"], survivor=third, merged=second, reason="b")
    assert customer_resolve_merged(first.pk) == third.pk
    assert customer_resolve_merged(third.pk) == third.pk
    assert customer_resolve_merged(999_999) is None
    assert Customer.objects.get(pk=first.pk).merged_into_id == third.pk  # chain collapsed


def test_registered_handler_replaces_the_generic_move(people, make_customer):
    survivor = make_customer("张三", owner=people["consultant"])
    merged = make_customer("张三", owner=people["consultant"])
    Interaction.objects.create(customer=merged, kind="call", occurred_at=timezone.now())
    calls = []

    def handler(*, survivor, merged, actor, field_choices):
        calls.append((survivor.pk, merged.pk))
        return Interaction.objects.filter(customer=merged).update(customer=survivor,
                                                                  outcome="moved by handler")

    merge_handlers.register(Interaction, handler)
    try:
        record = customer_merge(actor=people["manager"], survivor=survivor, merged=merged,
                                reason="x")
    finally:
        merge_handlers.unregister(Interaction)
    assert calls == [(survivor.pk, merged.pk)]
    assert record.moved["customers.Interaction"] == 1
    assert Interaction.objects.get().outcome == "moved by handler"


def test_merge_notifies_the_merged_records_owner(people, make_customer,
                                                 django_capture_on_commit_callbacks):
    survivor = make_customer("张三", owner=people["consultant"])
    merged = make_customer("张三", owner=people["peer"])
    from anju.core.models import Notification

    with django_capture_on_commit_callbacks(execute=True):
        customer_merge(actor=people["manager"], survivor=survivor, merged=merged,
                       reason="同一人")
    assert Notification.objects.filter(recipient=people["peer"],
                                       kind="customers.merged").exists()


# --- pages --------------------------------------------------------------------------------


def test_compare_page_then_merge_then_record_page(pair, people, client_for,
                                                  django_assert_max_num_queries):
    client = client_for(people["manager"])
    survivor, merged = pair["survivor"], pair["merged"]
    url = reverse("customers:merge") + f"?survivor={survivor.pk}&merged={merged.pk}"
    with django_assert_max_num_queries(25):
        page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "138****8000" in text and "13800138000" not in text
    assert ID_A not in text

    bad = client.post(reverse("customers:merge"), {"survivor": survivor.pk,
                                                   "merged": merged.pk, "reason": ""})
    assert bad.status_code == 400
    assert not MergeRecord.objects.exists()

    done = client.post(reverse("customers:merge"), {
        "survivor": survivor.pk, "merged": merged.pk, "reason": "电话确认是同一人",
        "choice_occupation": "survivor", "survivor_version": survivor.version,
        "merged_version": merged.version})
    record = MergeRecord.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("customers:merge_record",
                                                                   args=[record.pk])
    with django_assert_max_num_queries(15):
        shown = client.get(done["Location"])
    text = shown.content.decode()
    assert shown.status_code == 200
    assert "电话确认是同一人" in text and "王经理" in text
    assert "13800138001" not in text and ID_A not in text


def test_stale_compare_page_gets_a_conflict(pair, people, client_for):
    client = client_for(people["manager"])
    survivor, merged = pair["survivor"], pair["merged"]
    response = client.post(reverse("customers:merge"), {
        "survivor": survivor.pk, "merged": merged.pk, "reason": "同一人",
        "survivor_version": survivor.version + 1, "merged_version": merged.version})
    assert response.status_code == 409
    assert not MergeRecord.objects.exists()


def test_merge_pages_for_non_stewards_and_out_of_scope(people, org, make_customer, client_for):
    mine = make_customer("张三", owner=people["consultant"])
    also = make_customer("张三", owner=people["consultant"])
    elsewhere = make_customer("张三", project=org["c"], owner=people["outsider"])
    url = reverse("customers:merge")
    assert client_for(people["consultant"]).get(
        f"{url}?survivor={mine.pk}&merged={also.pk}").status_code == 403
    manager = client_for(people["manager"])
    assert manager.get(f"{url}?survivor={mine.pk}&merged={elsewhere.pk}").status_code == 404
    assert manager.post(url, {"survivor": mine.pk, "merged": elsewhere.pk,
                              "reason": "x"}).status_code == 404
    assert manager.get(f"{url}?survivor=abc&merged=1").status_code == 404
    assert Customer.objects.get(pk=elsewhere.pk).merged_into_id is None
    record = customer_merge(actor=people["admin"], survivor=elsewhere,
                            merged=make_customer("张三", project=org["c"]), reason="x")
    assert manager.get(reverse("customers:merge_record", args=[record.pk])).status_code == 404
