"""The ledger's demo step: realistic customers in every stage, visible to their consultants."""

import io

import pytest
from django.db.models import Count
from stdnum.cn import ric

from anju.accounts import demo as accounts_demo
from anju.accounts.models import User
from anju.core.demo import DemoContext
from anju.core.normalise import normalise_id_number, normalise_phone
from anju.customers import demo
from anju.customers.models import (
    ConsentRecord,
    Customer,
    CustomerPhone,
    CustomerSearchTerm,
    CustomerTag,
    Interaction,
    Stage,
    Tier,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def built():
    ctx = DemoContext(stdout=io.StringIO())
    accounts_demo.build(ctx)
    demo.build(ctx)
    return ctx


def test_every_stage_and_tier_has_customers(built):
    stages = dict(Customer.objects.values_list("stage").annotate(n=Count("id")))
    assert set(stages) == set(Stage.values)
    tiers = set(Customer.objects.values_list("tier", flat=True))
    assert set(Tier.values) == tiers
    total = Customer.objects.count()
    assert total >= demo.CUSTOMERS_PER_SIZE
    assert set(Customer.objects.values_list("project__code", flat=True)) == {
        code for code, *_rest in accounts_demo.PROJECTS}


def test_a_consultants_list_is_not_empty_and_only_theirs(built):
    consultant = User.objects.get(username="consultant1")
    visible = Customer.objects.visible_to(consultant)
    assert visible.exists()
    assert set(visible.values_list("owner_id", flat=True)) == {consultant.pk}


def test_phones_and_id_numbers_are_valid_and_searchable(built):
    for customer in Customer.objects.all():
        assert customer.primary_phone == normalise_phone(customer.primary_phone)
        assert CustomerPhone.objects.get(customer=customer, is_primary=True).e164 == (
            customer.primary_phone)
        if customer.id_number:
            assert normalise_id_number(customer.id_number) == customer.id_number
    assert Customer.objects.exclude(id_number_hash="").exists()
    someone = Customer.objects.order_by("id").first()
    assert CustomerSearchTerm.objects.filter(customer=someone, term=someone.name).exists()


def test_interactions_tags_consent_and_follow_ups(built):
    assert CustomerTag.objects.exists()
    with_consent = Customer.objects.filter(marketing_consent=True).count()
    assert 0.4 < with_consent / Customer.objects.count() < 0.8
    assert ConsentRecord.objects.filter(granted=True).count() == with_consent
    assert Interaction.objects.filter(next_follow_up_at__isnull=False).exists()
    latest = Interaction.objects.order_by("-occurred_at").first()
    assert latest.customer.last_contact_at == latest.occurred_at
    assert Customer.objects.filter(tier_override=Tier.VIP).exclude(
        tier_override_reason="").exists()


def test_near_duplicates_for_the_stewards(built):
    names = Customer.objects.values("name").annotate(n=Count("id")).filter(n__gt=1)
    assert names.exists()


def test_a_second_run_adds_nothing(built):
    before = Customer.objects.count()
    demo.build(built)
    assert Customer.objects.count() == before


def test_id_number_helper_gives_valid_checksums():
    import datetime

    number = demo.id_number_for("330110", datetime.date(1985, 3, 7), 12, True)
    assert len(number) == 18 and number[-1] == ric.calc_check_digit(number)
    assert int(number[16]) % 2 == 1
    assert normalise_id_number(number) == number
