"""Quotes: the money sums (to the fen), discount limits per role and payment method, approval
by users holding approve_deals (approve / reject with comment, inbox notices to both sides)."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from anju.accounts.models import Role
from anju.core.models import Notification
from anju.property.models import Building, Unit
from anju.sales.models.opportunities import DiscountPolicy, Quote
from anju.sales.opportunities import services

from .opportunity_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit(org):
    building = Building.objects.create(project=org["a"], name="3号楼", code="3", floor_count=20,
                                       units_per_floor=2)
    return Unit.objects.create(building=building, floor=12, position=1, number="1201",
                               label="3-1201", built_area=Decimal("98.50"),
                               list_price=Decimal("1234567.89"),
                               floor_price=Decimal("1100000.00"))


@pytest.fixture
def policies():
    consultant = Role.objects.get(code="sales_consultant")
    manager = Role.objects.get(code="sales_manager")
    return [
        DiscountPolicy.objects.create(role=consultant, payment_method="",
                                      max_discount_percent=Decimal("2")),
        DiscountPolicy.objects.create(role=consultant, payment_method="full",
                                      max_discount_percent=Decimal("3")),
        DiscountPolicy.objects.create(role=manager, payment_method="",
                                      max_discount_percent=Decimal("8")),
    ]


def test_prices_round_to_the_fen():
    price = services.quote_price(list_price="1234567.89", discounts=[
        {"label": "一次性付款", "percent": "2"}, {"label": "开盘优惠", "percent": "1"},
        {"label": "老带新", "amount": "5000.005"}])
    # 1234567.89 − 24691.36 (2 %, 24691.3578) = 1209876.53; − 12098.77 (1 %) = 1197777.76;
    # − 5000.01 = 1192777.75
    assert [line["cut"] for line in price.lines] == [Decimal("24691.36"), Decimal("12098.77"),
                                                     Decimal("5000.01")]
    assert price.final_price == Decimal("1192777.75")
    assert price.discount_amount == Decimal("41790.14")
    assert price.list_price - price.discount_amount == price.final_price
    assert price.discount_percent == Decimal("3.3850")


@pytest.mark.parametrize("line", [
    {"label": "", "percent": "2"}, {"label": "x"}, {"label": "x", "percent": "1", "amount": "1"},
    {"label": "x", "percent": "100"}, {"label": "x", "percent": "abc"},
    {"label": "x", "amount": "-1"}, {"label": "x", "amount": "2000000"},
])
def test_bad_discount_lines_are_refused(line):
    with pytest.raises(ValidationError) as error:
        services.quote_price(list_price="1000000", discounts=[line])
    assert "discounts" in error.value.message_dict


def test_within_the_role_limit_is_issued_at_once(people, make_opportunity, unit, policies):
    consultant = people["consultant"]
    opportunity = make_opportunity()
    quote = services.quote_create(actor=consultant, opportunity=opportunity, unit=unit,
                                  payment_method="full",
                                  discounts=[{"label": "一次性付款", "percent": "3"}])
    assert quote.status == Quote.Status.ISSUED
    assert quote.allowed_percent == Decimal("3.00")
    assert not Notification.objects.exists()


def test_beyond_the_limit_waits_for_a_manager(people, make_opportunity, unit, policies):
    consultant, manager = people["consultant"], people["manager"]
    opportunity = make_opportunity()
    # 3 % is within the limit for full payment, not for a mortgage (2 %, the role's default)
    quote = services.quote_create(actor=consultant, opportunity=opportunity, unit=unit,
                                  payment_method="mortgage",
                                  discounts=[{"label": "按揭优惠", "percent": "3"}])
    assert quote.status == Quote.Status.PENDING
    notices = Notification.objects.filter(kind="sales.quote_approval")
    # the manager of the project and the admin may approve; never the consultant
    assert {n.recipient for n in notices} == {manager, people["admin"]}
    assert "3-1201" in notices.first().title
    with pytest.raises(PermissionDenied):
        services.quote_approve(actor=consultant, quote=quote)
    with pytest.raises(PermissionDenied):
        services.quote_approve(actor=people["outsider"], quote=quote)
    approved = services.quote_approve(actor=manager, quote=quote, comment="同意")
    assert approved.status == Quote.Status.ISSUED and approved.decided_by == manager
    decision = Notification.objects.get(kind="sales.quote_decision")
    assert decision.recipient == consultant and "同意" in decision.body
    with pytest.raises(ValidationError) as error:
        services.quote_reject(actor=manager, quote=quote, comment="晚了")
    assert "status" in error.value.message_dict


def test_rejecting_needs_a_comment(people, make_opportunity, unit, policies):
    consultant, manager = people["consultant"], people["manager"]
    quote = services.quote_create(actor=consultant, opportunity=make_opportunity(), unit=unit,
                                  payment_method="instalments",
                                  discounts=[{"label": "特批", "amount": "50000"}])
    assert quote.status == Quote.Status.PENDING
    with pytest.raises(ValidationError) as error:
        services.quote_reject(actor=manager, quote=quote, comment=" ")
    assert "comment" in error.value.message_dict
    rejected = services.quote_reject(actor=manager, quote=quote, comment="折扣过大")
    assert rejected.status == Quote.Status.REJECTED
    assert Notification.objects.get(kind="sales.quote_decision").recipient == consultant


def test_a_manager_cannot_approve_their_own_quote(people, make_opportunity, unit, policies):
    manager = people["manager"]
    opportunity = make_opportunity(owner=manager)
    quote = services.quote_create(actor=manager, opportunity=opportunity, unit=unit,
                                  payment_method="full",
                                  discounts=[{"label": "特批", "percent": "8.5"}])
    assert quote.status == Quote.Status.PENDING
    with pytest.raises(PermissionDenied):
        services.quote_approve(actor=manager, quote=quote)
    assert services.quote_approve(actor=people["admin"], quote=quote).status == "issued"


def test_below_the_floor_price_always_needs_approval(people, make_opportunity, unit, policies):
    manager = people["manager"]
    quote = services.quote_create(actor=manager, opportunity=make_opportunity(owner=manager),
                                  unit=unit, payment_method="full",
                                  discounts=[{"label": "特价", "amount": "140000"}])
    assert quote.discount_percent < Decimal("12") and quote.below_floor_price
    assert quote.status == Quote.Status.PENDING


def test_without_a_policy_every_discount_needs_approval(people, make_opportunity, unit):
    quote = services.quote_create(actor=people["consultant"], opportunity=make_opportunity(),
                                  unit=unit, payment_method="full",
                                  discounts=[{"label": "x", "amount": "1"}])
    assert quote.status == Quote.Status.PENDING
    plain = services.quote_create(actor=people["consultant"], opportunity=make_opportunity(),
                                  unit=unit, payment_method="full")
    assert plain.status == Quote.Status.ISSUED and plain.final_price == unit.list_price


@pytest.mark.parametrize(("field", "kwargs"), [
    ("payment_method", {"payment_method": "cash"}),
    ("unit", {"unit": 999999}),
])
def test_bad_quote_input_names_the_field(people, make_opportunity, unit, field, kwargs):
    values = {"payment_method": "full", "unit": unit, **kwargs}
    with pytest.raises(ValidationError) as error:
        services.quote_create(actor=people["consultant"], opportunity=make_opportunity(),
                              **values)
    assert field in error.value.message_dict
    assert not Quote.objects.exists()


def test_units_of_other_projects_or_sold_are_refused(people, make_opportunity, unit, org):
    opportunity = make_opportunity()
    Unit.objects.filter(pk=unit.pk).update(status=Unit.Status.CONTRACTED)
    with pytest.raises(ValidationError) as error:
        services.quote_create(actor=people["consultant"], opportunity=opportunity, unit=unit,
                              payment_method="full")
    assert "unit" in error.value.message_dict


def test_discount_policies_are_set_by_admins(people):
    role = Role.objects.get(code="sales_consultant")
    with pytest.raises(PermissionDenied):
        services.discount_policy_set(actor=people["manager"], role=role, payment_method="",
                                     max_discount_percent="5")
    row = services.discount_policy_set(actor=people["admin"], role=role,
                                       payment_method="mortgage", max_discount_percent="1.5")
    assert row.max_discount_percent == Decimal("1.50")
    with pytest.raises(ValidationError) as error:
        services.discount_policy_set(actor=people["admin"], role=role, payment_method="",
                                     max_discount_percent="120")
    assert "max_discount_percent" in error.value.message_dict
    consultant = people["consultant"]
    assert services.discount_allowed(actor=consultant, payment_method="mortgage") == Decimal(
        "1.50")
    assert services.discount_allowed(actor=consultant, payment_method="full") == Decimal(0)
