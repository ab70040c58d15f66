"""The search keys of one customer, written to `CustomerSearchTerm` by the services.

A name yields every fragment up to FRAGMENT_MAX characters (a 2-character fragment of a
Chinese name is then one index probe on both databases, which trigram indexes cannot do),
each full pinyin reading ("zhangsan", "zengguofan" and "cengguofan") and the initials ("zs"),
found by prefix range. Longer fragments are probed by their first FRAGMENT_MAX characters and
checked against the name."""

import unicodedata
from collections.abc import Iterable

from anju.core.normalise import name_search_keys

from .models import Customer, CustomerSearchTerm

FRAGMENT_MAX = 6
TERM_MAX = 64
Kind = CustomerSearchTerm.Kind


def normalise_query_text(text: str) -> str:
    """The form both the stored terms and the queries take: NFKC, lower case, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text or "").lower().split())


def name_fragments(name: str) -> list[str]:
    compact = normalise_query_text(name)
    fragments: dict[str, None] = {}
    for start in range(len(compact)):
        for end in range(start + 1, min(len(compact), start + FRAGMENT_MAX) + 1):
            fragments.setdefault(compact[start:end], None)
    return list(fragments)


def search_terms_for(name: str) -> list[tuple[str, str]]:
    """(kind, term) pairs for a name, without repeats."""
    keys = name_search_keys(name)
    terms: dict[tuple[str, str], None] = {}
    for fragment in name_fragments(name):
        terms.setdefault((Kind.NAME_FRAGMENT, fragment[:TERM_MAX]), None)
    for reading in keys.pinyin_full:
        terms.setdefault((Kind.PINYIN, reading[:TERM_MAX]), None)
    for initials in keys.initials:
        terms.setdefault((Kind.INITIALS, initials[:TERM_MAX]), None)
    return list(terms)


def search_term_rows(customer_id: int, name: str) -> list[CustomerSearchTerm]:
    """Unsaved rows for bulk_create (the import writes many customers at once)."""
    return [CustomerSearchTerm(customer_id=customer_id, kind=kind, term=term)
            for kind, term in search_terms_for(name)]


def customer_terms_rebuild(*, customers: Iterable[Customer]) -> None:
    """Replaces the search terms of these customers (call inside the writing transaction)."""
    customers = list(customers)
    if not customers:
        return
    CustomerSearchTerm.objects.filter(customer__in=customers).delete()
    rows = [row for customer in customers for row in search_term_rows(customer.pk, customer.name)]
    CustomerSearchTerm.objects.bulk_create(rows, batch_size=2000)
