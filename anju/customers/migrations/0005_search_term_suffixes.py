"""Search terms: names indexed by their suffixes (not every fragment), two indexes fewer, and
code-point order for the term column on PostgreSQL, whatever the database's locale (a prefix
range must hold exactly the terms that start with the prefix)."""

from django.db import migrations

BATCH = 5000
FRAGMENT_MAX = 6  # as in anju.customers.indexing at the time of this migration


def _suffixes(name: str) -> list[str]:
    import unicodedata

    compact = "".join(unicodedata.normalize("NFKC", name or "").lower().split())
    return list(dict.fromkeys(compact[start:start + FRAGMENT_MAX]
                              for start in range(len(compact))))


def code_point_order(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ALTER TABLE "customers_customersearchterm" '
                              'ALTER COLUMN "term" TYPE varchar(64) COLLATE "C"')


def default_order(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ALTER TABLE "customers_customersearchterm" '
                              'ALTER COLUMN "term" TYPE varchar(64) COLLATE "default"')


def name_terms_as_suffixes(apps, schema_editor):
    """Rewrites the name terms of every customer, a batch of customers at a time."""
    Customer = apps.get_model("customers", "Customer")
    Term = apps.get_model("customers", "CustomerSearchTerm")
    last = 0
    while True:
        batch = list(Customer.objects.filter(pk__gt=last).order_by("pk")
                     .values_list("pk", "name")[:BATCH])
        if not batch:
            return
        last = batch[-1][0]
        Term.objects.filter(customer_id__in=[pk for pk, _name in batch], kind="n").delete()
        Term.objects.bulk_create([Term(customer_id=pk, kind="n", term=suffix[:64])
                                  for pk, name in batch for suffix in _suffixes(name)])


def name_terms_as_fragments(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    Term = apps.get_model("customers", "CustomerSearchTerm")
    for pk, name in Customer.objects.values_list("pk", "name").iterator(chunk_size=BATCH):
        Term.objects.filter(customer_id=pk, kind="n").delete()
        fragments = {suffix[:end] for suffix in _suffixes(name)
                     for end in range(1, len(suffix) + 1)}
        Term.objects.bulk_create([Term(customer_id=pk, kind="n", term=fragment)
                                  for fragment in sorted(fragments)])


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0004_search_indexes"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="customersearchterm",
            name="customer_search_term_unique",
        ),
        migrations.RemoveIndex(
            model_name="customersearchterm",
            name="customer_search_term_idx",
        ),
        migrations.RunPython(code_point_order, default_order, elidable=False),
        migrations.RunPython(name_terms_as_suffixes, name_terms_as_fragments),
    ]
