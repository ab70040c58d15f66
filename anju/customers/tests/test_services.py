import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from anju.core.locking import VersionConflict
from anju.customers import services
from anju.customers.models import (
    ConsentRecord,
    Customer,
    CustomerPhone,
    CustomerSearchTerm,
    HouseholdMember,
    Interaction,
    Tag,
    Tier,
)
from anju.customers.services import DuplicateCustomer

VALID_ID = "11010519491231002X"


def create(people, org, **kwargs):
    values = {"actor": people["consultant"], "name": "张三", "phones": ["13800138000"],
              "project": org["a"]}
    values.update(kwargs)
    return services.customer_create(**values)


def test_create_normalises_phones_and_id(people, org):
    customer = create(people, org, phones=["+86 138-0013-8000", "0571 8888 6666"],
                      id_number="11010519491231002x")
    assert customer.primary_phone == "+8613800138000"
    assert list(customer.phones.order_by("id").values_list("e164", "is_primary")) == [
        ("+8613800138000", True), ("+8657188886666", False)]
    assert customer.id_number == VALID_ID
    assert customer.birthday == datetime.date(1949, 12, 31)
    assert customer.gender == "female"
    assert customer.owner == people["consultant"]
    assert customer.company == org["first"]
    assert CustomerSearchTerm.objects.filter(customer=customer, term="zs").exists()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"phones": ["1380013"]}, "phones"),
    ({"phones": ["138abc38000"]}, "phones"),
    ({"phones": []}, "phones"),
    ({"id_number": "110105194912310021"}, "id_number"),
    ({"name": "  "}, "name"),
    ({"name": "张" * 51}, "name"),
    ({"birthday": datetime.date(1850, 1, 1)}, "birthday"),
    ({"birthday": timezone.localdate() + datetime.timedelta(days=1)}, "birthday"),
    ({"gender": "x"}, "gender"),
])
def test_create_bad_input_names_the_field(people, org, kwargs, field):
    with pytest.raises(ValidationError) as error:
        create(people, org, **kwargs)
    assert field in error.value.message_dict
    assert Customer.objects.count() == 0


def test_create_reports_every_bad_field_at_once(people, org):
    with pytest.raises(ValidationError) as error:
        create(people, org, name="", phones=["12"], id_number="123")
    assert {"name", "phones", "id_number"} <= set(error.value.message_dict)


def test_errors_are_in_chinese_by_default(people, org):
    with pytest.raises(ValidationError) as error:
        create(people, org, name="")
    assert "姓名" in error.value.message_dict["name"][0]


def test_dedup_at_the_door_by_phone_and_id(people, org, make_customer):
    other = make_customer("李四", phones=["13800138000"], owner=people["peer"])
    with pytest.raises(DuplicateCustomer) as error:
        create(people, org, phones=["138 0013 8000"])
    assert error.value.existing == other
    assert "phones" in error.value.message_dict
    holder = make_customer("王五", owner=people["peer"], id_number=VALID_ID)
    with pytest.raises(DuplicateCustomer) as error:
        create(people, org, phones=["13900000001"], id_number=VALID_ID)
    assert error.value.existing == holder
    assert "id_number" in error.value.message_dict
    assert Customer.objects.count() == 2


def test_dedup_returns_the_survivor_of_a_merge(people, org, make_customer):
    survivor = make_customer("张三", phones=["13700000000"], owner=people["consultant"])
    merged = make_customer("张三", phones=["13800138000"], owner=people["consultant"])
    Customer.objects.filter(pk=merged.pk).update(merged_into=survivor)
    with pytest.raises(DuplicateCustomer) as error:
        create(people, org)
    assert error.value.existing == survivor


def test_consultant_cannot_create_out_of_scope(people, org):
    with pytest.raises(ValidationError) as error:
        create(people, org, project=org["c"])
    assert "project" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        create(people, org, owner=people["peer"])
    assert "owner" in error.value.message_dict
    assert Customer.objects.count() == 0


def test_update_is_versioned_and_rebuilds_search_terms(people, org):
    customer = create(people, org)
    updated = services.customer_update(actor=people["consultant"], customer=customer,
                                       expected_version=customer.version, name="李四")
    assert updated.version == customer.version + 1
    terms = set(CustomerSearchTerm.objects.filter(customer=customer).values_list("term", flat=True))
    assert "ls" in terms and "zs" not in terms
    with pytest.raises(VersionConflict):
        services.customer_update(actor=people["consultant"], customer=customer,
                                 expected_version=customer.version, name="王五")


def test_update_id_number_rehashes_and_checks(people, org, make_customer):
    customer = create(people, org)
    with pytest.raises(ValidationError) as error:
        services.customer_update(actor=people["consultant"], customer=customer,
                                 expected_version=1, id_number="110105194912310021")
    assert "id_number" in error.value.message_dict
    updated = services.customer_update(actor=people["consultant"], customer=customer,
                                       expected_version=1, id_number=VALID_ID)
    assert Customer.objects.filter(id_number_hash=updated.id_number_hash).get() == customer
    assert updated.id_number_hash


def test_others_cannot_touch_a_customer_out_of_scope(people, org):
    customer = create(people, org)
    for name in ("peer", "outsider", "consultant_b"):
        with pytest.raises(PermissionDenied):
            services.customer_update(actor=people[name], customer=customer,
                                     expected_version=1, name="x")
        with pytest.raises(PermissionDenied):
            services.interaction_log(actor=people[name], customer=customer, kind="call")
    # the team leader can
    services.customer_stage_set(actor=people["manager"], customer=customer, stage="prospect")


def test_phones_add_remove_set_primary_keep_primary_in_sync(people, org, make_customer):
    customer = create(people, org)
    actor = people["consultant"]
    second = services.customer_phone_add(actor=actor, customer=customer, phone="13900001111")
    assert not second.is_primary
    services.customer_phone_set_primary(actor=actor, customer=customer, phone_id=second.pk)
    customer.refresh_from_db()
    assert customer.primary_phone == "+8613900001111"
    assert customer.phones.filter(is_primary=True).count() == 1
    services.customer_phone_remove(actor=actor, customer=customer, phone_id=second.pk)
    customer.refresh_from_db()
    assert customer.primary_phone == "+8613800138000"
    assert customer.phones.get().is_primary
    with pytest.raises(ValidationError):
        services.customer_phone_remove(actor=actor, customer=customer,
                                       phone_id=customer.phones.get().pk)
    other = make_customer("李四", phones=["13700001111"], owner=people["peer"])
    with pytest.raises(DuplicateCustomer) as error:
        services.customer_phone_add(actor=actor, customer=customer, phone="137 0000 1111")
    assert error.value.existing == other
    with pytest.raises(ValidationError) as error:
        services.customer_phone_add(actor=actor, customer=customer, phone="12")
    assert "phones" in error.value.message_dict


def test_tags_set_respects_dimensions(people, org):
    customer = create(people, org)
    actor = people["consultant"]
    first_home = Tag.objects.get(dimension__code="customer_type", name="首置")
    investor = Tag.objects.get(dimension__code="customer_type", name="投资")
    school, metro = Tag.objects.filter(dimension__code="need", name__in=["学区", "地铁"])
    services.customer_tags_set(actor=actor, customer=customer, tags=[first_home, school, metro])
    assert set(customer.tag_links.values_list("tag__name", flat=True)) == {"首置", "学区", "地铁"}
    with pytest.raises(ValidationError) as error:
        services.customer_tags_set(actor=actor, customer=customer, tags=[first_home, investor])
    assert "tags" in error.value.message_dict
    services.customer_tags_set(actor=actor, customer=customer, tags=[investor.pk])
    assert list(customer.tag_links.values_list("tag__name", flat=True)) == ["投资"]


def test_need_set_validates_ranges(people, org):
    customer = create(people, org)
    need = services.customer_need_set(
        actor=people["consultant"], customer=customer, budget_min_wan=Decimal("200"),
        budget_max_wan=Decimal("300"), unit_types=["三室两厅", " "], districts=["西湖区"],
        purpose="upgrade")
    assert need.unit_types == ["三室两厅"]
    with pytest.raises(ValidationError) as error:
        services.customer_need_set(actor=people["consultant"], customer=customer,
                                   budget_min_wan=Decimal("300"), budget_max_wan=Decimal("200"))
    assert "budget_max_wan" in error.value.message_dict


def test_household(people, org, make_customer):
    customer = create(people, org)
    spouse = make_customer("李梅", owner=people["consultant"])
    member = services.household_member_add(actor=people["consultant"], customer=customer,
                                           relation="spouse", related_customer=spouse)
    assert member.name == "李梅"
    services.household_member_add(actor=people["consultant"], customer=customer,
                                  relation="child", name="张小明")
    with pytest.raises(ValidationError):
        services.household_member_add(actor=people["consultant"], customer=customer,
                                      relation="child")
    services.household_member_remove(actor=people["consultant"], customer=customer,
                                     member_id=member.pk)
    assert list(HouseholdMember.objects.values_list("name", flat=True)) == ["张小明"]


def test_consent_grant_and_withdraw_keep_history(people, org):
    customer = create(people, org)
    services.customer_consent_grant(actor=people["consultant"], customer=customer,
                                    wording_version="v3", source="到访登记")
    customer.refresh_from_db()
    assert customer.marketing_consent
    services.customer_consent_withdraw(actor=people["consultant"], customer=customer)
    customer.refresh_from_db()
    assert not customer.marketing_consent
    assert list(ConsentRecord.objects.order_by("id").values_list("granted", "wording_version")) \
        == [(True, "v3"), (False, services.CONSENT_WORDING_VERSION)]


def test_tier_recompute_from_rules_with_reason(people, org):
    customer = create(people, org)
    assert customer.tier == Tier.POTENTIAL
    Customer.objects.filter(pk=customer.pk).update(lifetime_value_wan=Decimal("350"))
    for _n in range(5):
        services.interaction_log(actor=people["consultant"], customer=customer, kind="call")
    customer.refresh_from_db()
    assert customer.tier == Tier.VIP
    assert "350" in customer.tier_reason and "300" in customer.tier_reason
    assert "90" in customer.tier_reason


def test_tier_override_by_managers_only(people, org):
    customer = create(people, org)
    with pytest.raises(PermissionDenied):
        services.customer_tier_override(actor=people["consultant"], customer=customer,
                                        tier="vip", reason="大客户")
    with pytest.raises(ValidationError) as error:
        services.customer_tier_override(actor=people["manager"], customer=customer,
                                        tier="vip", reason="")
    assert "reason" in error.value.message_dict
    updated = services.customer_tier_override(actor=people["manager"], customer=customer,
                                              tier="vip", reason="集团高管")
    assert updated.tier_in_force == "vip"
    assert updated.tier_override_by == people["manager"]
    assert updated.tier_override_at is not None
    cleared = services.customer_tier_override(actor=people["manager"], customer=customer,
                                              tier="", reason="")
    assert cleared.tier_in_force == cleared.tier
    assert cleared.tier_override_by is None


def test_interaction_log_updates_contact_and_closes_follow_ups(people, org):
    customer = create(people, org)
    actor = people["consultant"]
    earlier = timezone.now() - datetime.timedelta(days=2)
    first = services.interaction_log(actor=actor, customer=customer, kind="visit",
                                     occurred_at=earlier, outcome="看了样板间",
                                     next_follow_up_at=earlier + datetime.timedelta(days=1))
    customer.refresh_from_db()
    assert customer.last_contact_at == earlier
    second = services.interaction_log(actor=actor, customer=customer, kind="call",
                                      next_follow_up_at=timezone.now()
                                      + datetime.timedelta(days=3))
    first.refresh_from_db()
    assert first.follow_up_done_at is not None
    assert second.follow_up_done_at is None
    customer.refresh_from_db()
    assert customer.last_contact_at == second.occurred_at
    services.follow_up_done(actor=actor, interaction=second)
    second.refresh_from_db()
    assert second.follow_up_done_at is not None


def test_interaction_bad_input(people, org):
    customer = create(people, org)
    with pytest.raises(ValidationError) as error:
        services.interaction_log(actor=people["consultant"], customer=customer, kind="fax",
                                 occurred_at=timezone.now() + datetime.timedelta(days=1))
    assert {"kind", "occurred_at"} <= set(error.value.message_dict)
    assert Interaction.objects.count() == 0


def test_saved_filters(people):
    actor = people["consultant"]
    saved = services.saved_filter_save(actor=actor, name="VIP", query="?tier=vip")
    assert saved.query == "tier=vip"
    services.saved_filter_save(actor=actor, name="VIP", query="tier=key")
    saved.refresh_from_db()
    assert saved.query == "tier=key"
    with pytest.raises(ValidationError):
        services.saved_filter_delete(actor=people["peer"], saved_filter_id=saved.pk)
    services.saved_filter_delete(actor=actor, saved_filter_id=saved.pk)
    assert not CustomerPhone.objects.exists()
