"""The list filtered by tier in force (`tier_override`, else `tier`): an index on that very
expression, in the list's order, so the page and its capped count read
the matching rows instead of scanning the ledger (24–30 ms at 1M customers before)."""

from django.db import migrations, models


def analyse(apps, schema_editor):
    # PostgreSQL keeps statistics of an indexed expression, gathered by ANALYZE only: until
    # then it guesses 0.5% of the rows per tier and picks the wrong plan for the count.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ANALYZE "customers_customer"')


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0005_search_term_suffixes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                models.Case(models.When(then=models.F("tier"), tier_override=""),
                            default=models.F("tier_override")),
                models.OrderBy(models.F("id"), descending=True),
                name="customer_tier_in_force_idx"),
        ),
        migrations.RunPython(analyse, migrations.RunPython.noop, elidable=True),
    ]
