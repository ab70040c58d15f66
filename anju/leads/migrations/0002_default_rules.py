"""The default policy row and grading rules (an installation edits them on the rules page)."""

from django.db import migrations

DEFAULT_RULES = [
    # order, field, op, value, points, disqualifies
    (10, "budget_wan", "gte", "200", 40, False),
    (20, "timing", "in", "1m,3m", 30, False),
    (30, "visits", "gte", "1", 20, False),
    (40, "unit_type", "set", "", 10, False),
]


def seed(apps, schema_editor):
    LeadPolicy = apps.get_model("leads", "LeadPolicy")
    GradingRule = apps.get_model("leads", "GradingRule")
    if not LeadPolicy.objects.filter(project__isnull=True).exists():
        LeadPolicy.objects.create(project=None)
    if not GradingRule.objects.exists():
        GradingRule.objects.bulk_create([
            GradingRule(order=order, field=field, op=op, value=value, points=points,
                        disqualifies=disqualifies)
            for order, field, op, value, points, disqualifies in DEFAULT_RULES])


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
