import datetime
from decimal import Decimal

from django.utils import timezone

from anju.customers import services
from anju.customers.models import Customer, Interaction, Tier, TierRule


def test_default_rules_exist(db):
    assert list(TierRule.objects.order_by("order").values_list("tier", flat=True)) == [
        "vip", "key", "ordinary", "potential"]


def _interactions(customer, user, count, days_ago=1):
    now = timezone.now()
    Interaction.objects.bulk_create([
        Interaction(customer=customer, user=user, kind="call",
                    occurred_at=now - datetime.timedelta(days=days_ago)) for _ in range(count)])


def test_rules_pick_the_first_match_with_reason(people, make_customer):
    customer = make_customer("张三", owner=people["consultant"])
    assert services.customer_tier_recompute(customer=customer).tier == Tier.POTENTIAL
    _interactions(customer, people["consultant"], 1)
    assert services.customer_tier_recompute(customer=customer).tier == Tier.ORDINARY
    Customer.objects.filter(pk=customer.pk).update(lifetime_value_wan=Decimal("120"))
    _interactions(customer, people["consultant"], 2)
    assert services.customer_tier_recompute(customer=customer).tier == Tier.KEY
    Customer.objects.filter(pk=customer.pk).update(lifetime_value_wan=Decimal("300"))
    _interactions(customer, people["consultant"], 2)
    updated = services.customer_tier_recompute(customer=customer)
    assert updated.tier == Tier.VIP
    stored = Customer.objects.get(pk=customer.pk)
    assert stored.tier == Tier.VIP
    assert "300" in stored.tier_reason and "5" in stored.tier_reason and "90" in stored.tier_reason


def test_old_interactions_do_not_count(people, make_customer):
    customer = make_customer("张三", owner=people["consultant"], lifetime_value_wan=Decimal(500))
    _interactions(customer, people["consultant"], 10, days_ago=120)
    assert services.customer_tier_recompute(customer=customer).tier == Tier.ORDINARY


def test_rules_are_configurable(people, make_customer):
    TierRule.objects.filter(tier="vip").update(min_value_wan=Decimal("50"), min_interactions=0)
    customer = make_customer("张三", owner=people["consultant"], lifetime_value_wan=Decimal(60))
    assert services.customer_tier_recompute(customer=customer).tier == Tier.VIP
    TierRule.objects.filter(tier="vip").update(is_active=False)
    assert services.customer_tier_recompute(customer=customer).tier == Tier.POTENTIAL


def test_override_wins_and_records_who_and_why(people, make_customer):
    customer = make_customer("张三", owner=people["consultant"])
    services.customer_tier_override(actor=people["manager"], customer=customer, tier="key",
                                    reason="老业主推荐")
    customer.refresh_from_db()
    assert customer.tier_in_force == "key" and customer.tier == Tier.POTENTIAL
    assert customer.tier_override_by == people["manager"]
    assert customer.tier_override_reason == "老业主推荐"
    services.customer_tier_recompute(customer=customer)
    customer.refresh_from_db()
    assert customer.tier_in_force == "key"
