"""Default tag dimensions (客户类型 / 需求 / 阶段) with typical tags, and default tier rules
(VIP / key / ordinary / potential). Admins change both afterwards; re-running adds nothing."""

from decimal import Decimal

from django.db import migrations

DIMENSIONS = [
    # code, name, allows_many, order, tags
    ("customer_type", "客户类型", False, 10, ["首置", "改善", "投资", "养老", "企业客户"]),
    ("need", "需求", True, 20, ["学区", "地铁", "大平层", "别墅", "低密度", "精装修", "车位"]),
    ("stage", "阶段", False, 30, ["首访", "复访", "认筹", "认购", "签约", "交付"]),
]

TIER_RULES = [
    # tier, order, min value (万元), min interactions, within days
    ("vip", 10, Decimal("300"), 5, 90),
    ("key", 20, Decimal("100"), 3, 90),
    ("ordinary", 30, Decimal("0"), 1, 180),
    ("potential", 40, Decimal("0"), 0, 90),
]


def add_defaults(apps, schema_editor):
    TagDimension = apps.get_model("customers", "TagDimension")
    Tag = apps.get_model("customers", "Tag")
    TierRule = apps.get_model("customers", "TierRule")
    for code, name, allows_many, order, tags in DIMENSIONS:
        dimension, _created = TagDimension.objects.get_or_create(
            code=code, defaults={"name": name, "allows_many": allows_many, "order": order})
        for tag in tags:
            Tag.objects.get_or_create(dimension=dimension, name=tag)
    if not TierRule.objects.exists():
        for tier, order, value, interactions, days in TIER_RULES:
            TierRule.objects.create(tier=tier, order=order, min_value_wan=value,
                                    min_interactions=interactions, within_days=days)


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_merge_dismissals")]
    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
