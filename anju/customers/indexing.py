"""The search keys of one customer, written to `CustomerSearchTerm` by the services.

A name yields its suffixes, each cut to FRAGMENT_MAX characters ("欧阳娜娜" → 欧阳娜娜,
阳娜娜, 娜娜, 娜): every fragment of the name is the start of one of them, so a fragment is one
prefix-range probe of the term index on both databases (a 2-character fragment of a Chinese
name, which trigram indexes cannot serve, included). Storing suffixes rather than every
fragment keeps n rows a name instead of n(n+1)/2, which is most of what an import writes.
Also each full pinyin reading ("zhangsan", "zengguofan" and "cengguofan") and the initials
("zs"), found by prefix range too. Longer fragments are probed by their first FRAGMENT_MAX
characters and checked against the name.

Terms are compared by code point (PostgreSQL: the column's collation is "C", migration 0005;
SQLite: BINARY), so a range from a prefix up to `prefix_successor` holds exactly the terms
that start with it, whatever the database's locale."""

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


def name_suffixes(name: str) -> list[str]:
    """The name's suffixes cut to FRAGMENT_MAX characters, without repeats."""
    compact = normalise_query_text(name)
    return list(dict.fromkeys(compact[start:start + FRAGMENT_MAX]
                              for start in range(len(compact))))


def prefix_successor(prefix: str) -> str | None:
    """The smallest string greater, by code point, than every string that starts with
    `prefix` (None when there is none): the exclusive upper end of a prefix range."""
    chars = list(prefix)
    while chars:
        point = ord(chars.pop()) + 1
        if 0xD800 <= point <= 0xDFFF:  # surrogates are not characters: skip past them
            point = 0xE000
        if point <= 0x10FFFF:
            return "".join(chars) + chr(point)
    return None


def search_terms_for(name: str) -> list[tuple[str, str]]:
    """(kind, term) pairs for a name, without repeats."""
    keys = name_search_keys(name)
    terms: dict[tuple[str, str], None] = {}
    for suffix in name_suffixes(name):
        terms.setdefault((Kind.NAME_FRAGMENT, suffix[:TERM_MAX]), None)
    for reading in keys.pinyin_full:
        terms.setdefault((Kind.PINYIN, reading[:TERM_MAX]), None)
    for initials in keys.initials:
        terms.setdefault((Kind.INITIALS, initials[:TERM_MAX]), None)
    return list(terms)


def search_term_rows(customer_id: int, name: str, owner_id: int | None
                     ) -> list[CustomerSearchTerm]:
    """Unsaved rows for bulk_create (the import writes many customers at once)."""
    return [CustomerSearchTerm(customer_id=customer_id, kind=kind, term=term, owner_id=owner_id)
            for kind, term in search_terms_for(name)]


def customer_terms_rebuild(*, customers: Iterable[Customer]) -> None:
    """Replaces the search terms of these customers (call inside the writing transaction,
    after a change of name or owner)."""
    customers = list(customers)
    if not customers:
        return
    CustomerSearchTerm.objects.filter(customer__in=customers).delete()
    rows = [row for customer in customers
            for row in search_term_rows(customer.pk, customer.name, customer.owner_id)]
    CustomerSearchTerm.objects.bulk_create(rows, batch_size=2000)
