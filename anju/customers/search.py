"""The one search box of the ledger: a name or part of it, full pinyin, pinyin initials, the
last four digits of a phone (also typed masked, `138****8000`), a whole phone in any format,
or an ID number.

Every kind of query is one index probe (phone: unique E.164; last 4: `last4` B-tree; ID:
keyed hash; name fragment, pinyin and initials: a prefix *range* on `CustomerSearchTerm`,
which a B-tree serves on both databases, unlike LIKE; names are indexed by their suffixes,
see `indexing`), joined to the customers the viewer may see
(`Customer.objects.visible_to`). Merged-away records are never found. Hits are ranked:
exact name, then phone/ID exact, last 4, name prefix, name fragment, pinyin, initials;
within one rank, the most recently contacted first,
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
from anju.core.scoping import Level, Principal

from .indexing import FRAGMENT_MAX, normalise_query_text, prefix_successor
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


def _term_range(kind: str, prefix: str, *, start: str | None = None, via: str = "") -> Q:
    """Terms of `kind` that start with `prefix`, from `start` (default: the prefix itself) on;
    `via` is the path to the term row from the queried model ("search_terms__")."""
    condition = Q(**{f"{via}kind": kind, f"{via}term__gte": prefix if start is None else start})
    upper = prefix_successor(prefix)
    return condition & Q(**{f"{via}term__lt": upper}) if upper is not None else condition


def _name_search(viewer: Principal, raw: str, compact: str, limit: int,
                 exclude: set[int]) -> list[SearchHit]:
    probe = compact[:FRAGMENT_MAX]
    ids = CustomerSearchTerm.objects.filter(_term_range(Kind.NAME_FRAGMENT, probe))
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


# Term rows read per round of a prefix probe grow from the page size to this; after
# MAX_TERM_ROWS rows in all, the rest is asked of the database in one join, which then
# starts from the viewer's (few) customers.
TERM_BATCH_MAX = 4000
MAX_TERM_ROWS = 20_000


def _prefix_search(viewer: Principal, kind: str, prefix: str, limit: int,
                   exclude: set[int]) -> list[SearchHit]:
    """Readings or initials from `prefix` up to its successor, in the term index's order: the
    term equal to the query first (it is the smallest in the range), then longer ones
    alphabetically; by id within one term (newest first would sort every holder of the term:
    thousands for "zs" at 1M customers).

    Viewers who see by owner (own, team) read their owners' terms straight off the
    (kind, owner, term) index. For wider scopes (project, company) the term index is read in
    rounds, keyset by (term, customer), and each round's customers are checked against the
    scope by primary key, whatever plan a join of terms and scoped customers would get (for a
    consultant it was a bitmap scan of every "zs" term, 200 ms at 1M); an unscoped viewer's
    first round is the page."""
    matched_on, rank = ((MatchedOn.PINYIN, Rank.PINYIN) if kind == Kind.PINYIN
                        else (MatchedOn.INITIALS, Rank.INITIALS))
    visible = _visible(viewer)
    owners = _owners_in_scope(viewer)
    if owners is not None:
        return _owned_prefix_search(visible, kind, prefix, owners, limit, exclude, matched_on,
                                    rank)
    hits: list[SearchHit] = []
    seen = set(exclude)
    batch, read, after = limit + 8, 0, None
    while len(hits) < limit:
        if read >= MAX_TERM_ROWS:
            return hits + _prefix_join(visible, kind, prefix, after, limit - len(hits), seen,
                                       matched_on, rank)
        page = list(_term_page(kind, prefix, after, batch))
        read += len(page)
        wanted = list(dict.fromkeys(pk for _term, pk in page if pk not in seen))
        if wanted:
            found = {customer.pk: customer for customer in visible.filter(pk__in=wanted)}
            for pk in wanted:
                customer = found.get(pk)
                if customer is not None and len(hits) < limit:
                    seen.add(pk)
                    hits.append(SearchHit(customer=customer, matched_on=matched_on, rank=rank))
        if len(page) < batch:
            break
        after = page[-1]
        batch = min(batch * 4, TERM_BATCH_MAX)
    return hits


def _owners_in_scope(viewer: Principal) -> set[int] | None:
    """The owners whose customers are all this viewer sees, for viewers who see by owner
    (their own, their team's); None for wider scopes."""
    scope = viewer.data_scope()
    if scope.level == Level.OWN:
        return {scope.user_id} if scope.user_id else set()
    if scope.level == Level.TEAM:
        return set(scope.team_member_ids) | ({scope.user_id} if scope.user_id else set())
    return None


def _owned_prefix_search(visible: QuerySet[Customer], kind: str, prefix: str,
                         owners: set[int], limit: int, exclude: set[int], matched_on: str,
                         rank: int) -> list[SearchHit]:
    """The prefix range of these owners' terms only (the (kind, owner, term) index): a
    consultant's page is read straight off the index, however many others share the
    initials. The customers are still checked against the scope."""
    if not owners:
        return []
    terms = (CustomerSearchTerm.objects.filter(_term_range(kind, prefix), owner_id__in=owners)
             .exclude(customer_id__in=list(exclude))
             .order_by("term", "customer_id").values_list("customer_id", flat=True))
    wanted: dict[int, None] = {}
    batch, offset = limit + 8, 0
    while len(wanted) < limit:  # a customer may hold several terms of the range (曾: z…, c…)
        page = list(terms[offset:offset + batch])
        wanted.update(dict.fromkeys(page))
        if len(page) < batch:
            break
        offset += batch
    chosen = list(wanted)[:limit]
    found = {customer.pk: customer for customer in visible.filter(pk__in=chosen)}
    return [SearchHit(customer=found[pk], matched_on=matched_on, rank=rank)
            for pk in chosen if pk in found]


def _term_page(kind: str, prefix: str, after: tuple[str, int] | None, size: int
               ) -> QuerySet:
    """(term, customer id) of the next `size` term rows in the range after `after`. The range
    restarts at `after`'s term, so each round reads on from where the last one stopped."""
    if after is None:
        condition = _term_range(kind, prefix)
    else:
        term, pk = after
        condition = _term_range(kind, prefix, start=term) & (
            Q(term__gt=term) | Q(customer_id__gt=pk))
    return (CustomerSearchTerm.objects.filter(condition)
            .order_by("term", "customer_id").values_list("term", "customer_id")[:size])


def _prefix_join(visible: QuerySet[Customer], kind: str, prefix: str,
                 after: tuple[str, int] | None, limit: int, seen: set[int], matched_on: str,
                 rank: int) -> list[SearchHit]:
    """The rest of a prefix probe past `after` as one join of scoped customers and terms: for
    a viewer who sees few customers, the database starts from them."""
    condition = _term_range(kind, prefix, via="search_terms__")
    if after is not None:
        condition &= (Q(search_terms__term__gt=after[0])
                      | Q(search_terms__term=after[0], pk__gt=after[1]))
    rows = (visible.filter(condition).exclude(pk__in=list(seen))
            .annotate(search_term=F("search_terms__term")).order_by("search_term", "id"))
    hits: list[SearchHit] = []
    # a customer appears once per term of the range (one or two readings, rarely more)
    for customer in rows[:limit * 4]:
        if customer.pk not in seen and len(hits) < limit:
            seen.add(customer.pk)
            hits.append(SearchHit(customer=customer, matched_on=matched_on, rank=rank))
    return hits


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
