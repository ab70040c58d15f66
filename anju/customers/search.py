"""The one search box of the ledger: a name or part of it, full pinyin, pinyin initials, the
last four digits of a phone (also typed masked, `138****8000`), a whole phone in any format,
or an ID number.

Every kind of query is one index probe (phone: unique E.164; last 4: `last4` B-tree; ID:
keyed hash; name fragment: exact `CustomerSearchTerm` row; pinyin and initials: a prefix
*range* on the term, which a B-tree serves on both databases and under any collation, unlike
LIKE), joined to the customers the viewer may see (`Customer.objects.visible_to`). Merged-away
records are never found. Hits are ranked: exact name, then phone/ID exact, last 4, name
prefix, name fragment, pinyin, initials; within one rank, the most recently contacted first,
except for pinyin and initials: there a short query ("zs") is shared by thousands of people
at 1M customers, so the order is the term index's own (whole readings/initials equal to the
query first, then longer ones alphabetically; by id within a term) and the probe stops
after `limit` rows instead of sorting every candidate.

The customers returned are plain model rows: pages mask them with the `sensitive` tag and the
API with its masked fields; this module never decides what is shown."""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When

from anju.core.crypto import lookup_hash
from anju.core.normalise import normalise_id_number, normalise_phone
from anju.core.scoping import Principal

from .indexing import FRAGMENT_MAX, normalise_query_text
from .models import Customer, CustomerPhone, CustomerSearchTerm

Kind = CustomerSearchTerm.Kind

MAX_QUERY_LENGTH = 100
MAX_LIMIT = 200
# A query longer than FRAGMENT_MAX is probed by its first FRAGMENT_MAX characters and the
# candidates are checked against the whole name in Python: at most this many are read.
LONG_QUERY_CANDIDATES = 1000


class Rank:
    EXACT_NAME = 0
    EXACT_NUMBER = 1  # a whole phone or ID number
    LAST4 = 2
    NAME_PREFIX = 3
    NAME_FRAGMENT = 4
    PINYIN = 5
    INITIALS = 6


class MatchedOn:
    PHONE = "phone"
    LAST4 = "last4"
    ID_NUMBER = "id_number"
    NAME = "name"
    PINYIN = "pinyin"
    INITIALS = "initials"


@dataclass(frozen=True)
class SearchHit:
    customer: Customer
    matched_on: str
    rank: int


# Columns a result list shows; the encrypted ID number is not read (nor decrypted).
DISPLAY_FIELDS = (
    "id", "name", "gender", "primary_phone", "stage", "tier", "tier_override",
    "last_contact_at", "company_id", "project_id", "owner_id", "merged_into_id",
    "project__id", "project__name", "owner__id", "owner__username", "owner__display_name",
)

_DIGITS_4 = re.compile(r"^\d{4}$")
# `138****8000`, `+86 138 **** 8000`, `****8000`: a masked phone as the pages show it.
_MASKED_PHONE = re.compile(r"^(\+?[\d\s-]*?)[\s-]*[*＊•xX]{2,}[\s-]*(\d{4})$")
_ID_SHAPE = re.compile(r"^(\d{15}|\d{17}[\dXx])$")
_PHONE_SHAPE = re.compile(r"^[\d\s()+\-.\u2010-\u2015\u2212\uff0d]+$")
_ALNUM_ASCII = re.compile(r"^[a-z0-9]+$")
_TERM_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string over [0-9a-z] greater than every string starting with `prefix`
    ("zs" → "zt", "az" → "b", "zz" → None: no upper bound). Search terms of pinyin and
    initials use only these characters, whose order is the same in every collation."""
    chars = list(prefix)
    while chars:
        last = chars.pop()
        position = _TERM_ALPHABET.find(last)
        if 0 <= position < len(_TERM_ALPHABET) - 1:
            return "".join(chars) + _TERM_ALPHABET[position + 1]
    return None


def _visible(viewer: Principal) -> QuerySet[Customer]:
    return (Customer.objects.visible_to(viewer)
            .filter(merged_into__isnull=True)
            .select_related("owner", "project")
            .only(*DISPLAY_FIELDS))


def _recent_first(queryset: QuerySet[Customer], *first: object) -> QuerySet[Customer]:
    return queryset.order_by(*first, F("last_contact_at").desc(nulls_last=True), "-id")


def _hits(queryset: QuerySet[Customer], matched_on: str, rank: int) -> list[SearchHit]:
    return [SearchHit(customer=customer, matched_on=matched_on, rank=rank)
            for customer in queryset]


def _by_phones(viewer: Principal, phones: QuerySet, matched_on: str, rank: int,
               limit: int) -> list[SearchHit]:
    ids = phones.values("customer_id")
    return _hits(_recent_first(_visible(viewer).filter(pk__in=ids))[:limit], matched_on, rank)


def _number_search(viewer: Principal, text: str, limit: int) -> list[SearchHit] | None:
    """Hits for a query that is a number (phone, last 4, masked phone, ID), else None."""
    compact = re.sub(r"\s", "", text)
    if _DIGITS_4.match(compact):
        return _by_phones(viewer, CustomerPhone.objects.filter(last4=compact),
                          MatchedOn.LAST4, Rank.LAST4, limit)
    masked = _MASKED_PHONE.match(text)
    if masked:
        phones = CustomerPhone.objects.filter(last4=masked.group(2))
        prefix = re.sub(r"\D", "", masked.group(1))
        if prefix:
            if masked.group(1).lstrip().startswith("+") or prefix.startswith("00"):
                e164_prefix = "+" + prefix.removeprefix("00")
            elif prefix.startswith("86") and len(prefix) > 3:
                e164_prefix = "+" + prefix
            else:
                e164_prefix = "+86" + prefix.removeprefix("0")
            phones = phones.filter(e164__startswith=e164_prefix)
        return _by_phones(viewer, phones, MatchedOn.LAST4, Rank.LAST4, limit)
    if _ID_SHAPE.match(compact):
        try:
            number = normalise_id_number(compact)
        except ValidationError:
            number = ""
        if number:
            found = (_visible(viewer).exclude(id_number_hash="")
                     .filter(id_number_hash=lookup_hash(number)))
            return _hits(found[:limit], MatchedOn.ID_NUMBER, Rank.EXACT_NUMBER)
    if _PHONE_SHAPE.match(text) and sum(char.isdigit() for char in text) >= 7:
        try:
            e164 = normalise_phone(text)
        except ValidationError:
            return []
        return _by_phones(viewer, CustomerPhone.objects.filter(e164=e164),
                          MatchedOn.PHONE, Rank.EXACT_NUMBER, limit)
    return None


def _name_search(viewer: Principal, raw: str, compact: str, limit: int,
                 exclude: set[int]) -> list[SearchHit]:
    probe = compact[:FRAGMENT_MAX]
    ids = CustomerSearchTerm.objects.filter(kind=Kind.NAME_FRAGMENT, term=probe)
    rank = Case(When(name__iexact=raw, then=Value(Rank.EXACT_NAME)),
                When(name__istartswith=raw, then=Value(Rank.NAME_PREFIX)),
                default=Value(Rank.NAME_FRAGMENT), output_field=IntegerField())
    found = (_visible(viewer).filter(pk__in=ids.values("customer_id"))
             .exclude(pk__in=exclude).annotate(search_rank=rank))
    found = _recent_first(found, "search_rank")
    if len(compact) <= FRAGMENT_MAX:
        rows = list(found[:limit])
    else:
        rows = [customer for customer in found[:LONG_QUERY_CANDIDATES]
                if compact in normalise_query_text(customer.name)][:limit]
    return [SearchHit(customer=customer, matched_on=MatchedOn.NAME, rank=customer.search_rank)
            for customer in rows]


def _term_hits(viewer: Principal, condition: Q, order: tuple, matched_on: str, rank: int,
               limit: int, exclude: set[int]) -> list[SearchHit]:
    """Customers joined to their search-term rows and read in the order of the term index, so
    a LIMIT stops the scan early however many people share the initials (no sort of
    thousands). The join keeps the scope on the customer row itself: an `IN (visible ids)`
    subquery would make SQLite list every visible customer first."""
    rows = (_visible(viewer).filter(condition).exclude(pk__in=list(exclude))
            .annotate(search_term=F("search_terms__term"))
            .order_by(*order))
    hits: list[SearchHit] = []
    seen = set(exclude)
    # A customer can hold several terms in one prefix range (曾 → zeng…, ceng…): each is
    # kept once, and another batch is read only when repeats left the page short.
    batch = limit + 8
    offset = 0
    while len(hits) < limit:
        page = list(rows[offset:offset + batch])
        for customer in page:
            if customer.pk not in seen:
                seen.add(customer.pk)
                hits.append(SearchHit(customer=customer, matched_on=matched_on, rank=rank))
        if len(page) < batch:
            break
        offset += batch
    return hits[:limit]


def _prefix_search(viewer: Principal, kind: str, prefix: str, limit: int,
                   exclude: set[int]) -> list[SearchHit]:
    """Readings or initials from `prefix` up to its upper bound, in index order: the term equal
    to the query comes first (it is the smallest in the range), then longer ones
    alphabetically; by id within one term (the index's own order: newest first would sort
    every holder of the term, thousands for "zs" at 1M customers)."""
    matched_on, rank = ((MatchedOn.PINYIN, Rank.PINYIN) if kind == Kind.PINYIN
                        else (MatchedOn.INITIALS, Rank.INITIALS))
    condition = Q(search_terms__kind=kind, search_terms__term__gte=prefix)
    upper = prefix_upper_bound(prefix)
    if upper is not None:
        condition &= Q(search_terms__term__lt=upper)
    return _term_hits(viewer, condition, ("search_term", "id"), matched_on, rank, limit,
                      exclude)


def customer_search(*, viewer: Principal, query: str, limit: int = 20) -> list[SearchHit]:
    """The customers this viewer may see that match `query`, best first, at most `limit`.

    A number is one probe (one query); a name is one fragment probe, and for a query of latin
    letters also a pinyin and an initials probe (at most three queries), each skipping the
    customers already found."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    text = " ".join((query or "").split())[:MAX_QUERY_LENGTH]
    if not text:
        return []
    numbers = _number_search(viewer, text, limit)
    if numbers is not None:
        return numbers
    compact = normalise_query_text(text)
    if not compact:
        return []
    hits = _name_search(viewer, text, compact, limit, set())
    if _ALNUM_ASCII.match(compact) and not compact.isdigit():
        for kind in (Kind.PINYIN, Kind.INITIALS):
            if len(hits) >= limit:
                break
            seen = {hit.customer.pk for hit in hits}
            hits += _prefix_search(viewer, kind, compact, limit - len(hits), seen)
    return hits
