"""Duplicate candidates (疑似重复客户) for data stewards: pairs of live customers in the
viewer's scope that look like one person, each with the reasons why.

The rules (`Kind`), all in one SQL statement that groups the ledger by each rule's keys (a
hash join on PostgreSQL, the name index on SQLite), never comparing customers in Python:

- the same ID number hash (the unique constraint forbids it; the rule stays as a guard);
- the same name and a phone with the same last four digits;
- the same name and phones one digit apart (same number but one of the last four digits:
  a typing slip; one different digit elsewhere leaves the last four equal, the rule above);
- the same name and the same birthday;
- the same name in the same project, neither with a phone.

A pair is shown once, lower id first, with every rule it meets; pairs a steward dismissed as
"not the same person" (`DuplicateDismissal`) are left out.

Grouping a ledger of 1M takes seconds, so `duplicate_scan` runs the rules over the whole
ledger every 30 minutes and stores the pairs (`DuplicateCandidate`); a page reads them by
keyset, both customers live and in the viewer's scope, the pair not dismissed. Before the
first scan a page runs the rules over the viewer's scope itself."""

import datetime
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import (
    Customer,
    CustomerPhone,
    DuplicateCandidate,
    DuplicateDismissal,
    DuplicateScan,
)


class Kind:
    ID_NUMBER = "id_number"
    NAME_LAST4 = "name_last4"
    NAME_PHONE_TYPO = "name_phone_typo"
    NAME_BIRTHDAY = "name_birthday"
    NAME_PROJECT_NO_PHONE = "name_project_no_phone"


REASONS = {
    Kind.ID_NUMBER: _("Same ID card number"),
    Kind.NAME_LAST4: _("Same name and same last four digits of a phone"),
    Kind.NAME_PHONE_TYPO: _("Same name and phone numbers one digit apart"),
    Kind.NAME_BIRTHDAY: _("Same name and same birthday"),
    Kind.NAME_PROJECT_NO_PHONE: _("Same name in the same project, neither has a phone"),
}
KINDS = tuple(REASONS)
PAGE_SIZE = 50
SCAN_LOCK = 7_310_001  # the PostgreSQL advisory lock of `duplicate_scan`
NOT_DISMISSED = "NOT EXISTS (SELECT 1 FROM {d} d WHERE d.first_id = x.id AND d.second_id = y.id)"


@dataclass
class DuplicatePair:
    first: Customer
    second: Customer
    kinds: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return [str(REASONS[kind]) for kind in self.kinds]

    @property
    def key(self) -> str:
        return f"{self.first.pk}-{self.second.pk}"


@dataclass
class DuplicatePage:
    pairs: list[DuplicatePair]
    next_cursor: str | None
    # when the stored pairs were found; None: found for this page
    found_at: datetime.datetime | None = None


def _parse_cursor(cursor: str | None) -> tuple[int, int]:
    try:
        first, second = (int(part) for part in str(cursor or "").split("-", 1))
    except ValueError:
        return 0, 0
    return first, second


# Per rule: the key columns each live customer in scope contributes (one row per phone for
# the phone rules), and the extra condition on a pair. Pairs are found by joining the keys on
# equality (a hash join on PostgreSQL, the name index on SQLite): linear in the customers, never
# a comparison of every customer with every other.
RULE_KEYS = {
    Kind.ID_NUMBER: ("c.id_number_hash", "''", "''", "{c} c", "c.id_number_hash <> ''"),
    Kind.NAME_LAST4: ("c.name", "p.last4", "''", "{c} c JOIN {p} p ON p.customer_id = c.id",
                      "1 = 1"),
    Kind.NAME_PHONE_TYPO: ("c.name", "SUBSTR(p.e164, 1, LENGTH(p.e164) - 4)", "p.last4",
                           "{c} c JOIN {p} p ON p.customer_id = c.id", "1 = 1"),
    Kind.NAME_BIRTHDAY: ("c.name", "c.birthday", "''", "{c} c", "c.birthday IS NOT NULL"),
    Kind.NAME_PROJECT_NO_PHONE: (
        "c.name", "c.project_id", "''", "{c} c",
        "c.project_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {p} p WHERE p.customer_id = c.id)"),
}
ONE_DIGIT_APART = "(" + " + ".join(
    f"CASE WHEN SUBSTR(x.extra, {i}, 1) <> SUBSTR(y.extra, {i}, 1) THEN 1 ELSE 0 END"
    for i in range(1, 5)) + ") = 1"
PAIR_CONDITION = {Kind.NAME_PHONE_TYPO: ONE_DIGIT_APART}


def _scope_sql(viewer: Any) -> tuple[str, list[Any]] | None:
    """SQL of the ids the viewer may see; None when they may see every customer."""
    spec = Customer.scope
    condition = spec.filter_for(viewer.data_scope())
    if condition is None:
        return None
    query = Customer.objects.filter(condition).values("id").query
    sql, params = query.sql_with_params()
    return sql, list(params)


def _rules_sql(kinds: list[str], scope: tuple[str, list[Any]] | None,
               page: tuple[int, int, int] | None) -> tuple[str, list[Any]]:
    """The pairs of the rules in one statement: (first_id, second_id, kind) rows. With
    `page` (after first, after second, limit): each rule's first page after the keyset,
    without dismissed pairs; without it, every pair of the ledger (the scan)."""
    quote = connection.ops.quote_name
    tables = {"c": quote(Customer._meta.db_table), "p": quote(CustomerPhone._meta.db_table),
              "d": quote(DuplicateDismissal._meta.db_table)}
    ctes, selects, params = [], [], []
    # keys are compared for equality only: bytewise, not by the locale's (slow) collation
    binary = ' COLLATE "C"' if connection.vendor == "postgresql" else ""
    for rule in kinds:
        key1, key2, extra, source, condition = RULE_KEYS[rule]
        where = [condition, "c.merged_into_id IS NULL"]
        if scope is not None:
            where.append(f"c.id IN ({scope[0]})")
            params += scope[1]
        ctes.append(
            # interpolated: quoted table names and constant SQL of RULE_KEYS; values are params
            f"k_{rule} AS (SELECT c.id AS id, {key1}{binary} AS key1, {key2} AS key2, "  # noqa: S608
            f"{extra} AS extra FROM {source} WHERE {' AND '.join(where)}), "
            # keys held by one customer only (nearly all) leave before the pairs are formed
            f"g_{rule} AS (SELECT key1, key2 FROM k_{rule} GROUP BY key1, key2 "
            f"HAVING COUNT(*) > 1), "
            f"m_{rule} AS (SELECT k.id, k.key1, k.key2, k.extra FROM k_{rule} k "
            f"JOIN g_{rule} g ON g.key1 = k.key1 AND g.key2 = k.key2)".format(**tables))
    for rule in kinds:
        pairs = (f"SELECT DISTINCT x.id AS first_id, y.id AS second_id, "  # noqa: S608
                 f"'{rule}' AS kind FROM m_{rule} x JOIN m_{rule} y ON y.key1 = x.key1 "
                 f"AND y.key2 = x.key2 AND y.id > x.id "
                 f"WHERE {PAIR_CONDITION.get(rule, '1 = 1')}")
        if page is None:
            selects.append(pairs)
            continue
        # each rule's own first page: the union's first page is among them
        selects.append(
            f"SELECT * FROM ({pairs} AND (x.id > %s OR (x.id = %s AND y.id > %s)) AND "  # noqa: S608
            + NOT_DISMISSED.format(**tables)
            + f" ORDER BY first_id, second_id LIMIT {page[2] + 1}) r_{rule}")
        params += [page[0], page[0], page[1]]
    return "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(selects), params


@transaction.atomic
def duplicate_scan() -> DuplicateScan:
    """Finds every pair of the ledger by the rules (one statement, whole ledger, no scope)
    and replaces the stored candidates with them; the stewards' page reads those. Run every
    30 minutes (`tasks.duplicate_candidates_scan`) and when a steward asks."""
    started = time.monotonic()
    table = connection.ops.quote_name(DuplicateCandidate._meta.db_table)
    sql, params = _rules_sql(list(KINDS), None, None)
    with connection.cursor() as db:
        if connection.vendor == "postgresql":
            # two scans at once (the half-hour run and a steward's) take turns, else the
            # second's DELETE would miss the first's rows and the pairs be stored twice;
            # SQLite's one writer makes them take turns anyway
            db.execute("SELECT pg_advisory_xact_lock(%s)", [SCAN_LOCK])
        db.execute(f"DELETE FROM {table}")  # noqa: S608 (a quoted table name)
        db.execute(f"INSERT INTO {table} (first_id, second_id, kind) "  # noqa: S608
                   f"SELECT first_id, second_id, kind FROM ({sql}) AS found", params)
        found = db.rowcount
    return DuplicateScan.objects.create(finished_at=timezone.now(), pairs=max(found, 0),
                                        seconds=round(time.monotonic() - started, 3))


def last_scan() -> DuplicateScan | None:
    return DuplicateScan.objects.order_by("-finished_at", "-id").first()


def _prefixed(condition: Q, prefix: str) -> Q:
    """The scope's condition on a customer, moved onto a relation (`first__…`)."""
    moved = Q()
    moved.connector, moved.negated = condition.connector, condition.negated
    moved.children = [_prefixed(child, prefix) if isinstance(child, Q)
                      else (prefix + child[0], child[1]) for child in condition.children]
    return moved


def _stored_rows(viewer: Any, kinds: list[str], after: tuple[int, int],
                 limit: int) -> list[tuple[int, int, str]]:
    """The stored candidates of the page: both customers live and in scope, the pair not
    dismissed, after the keyset, in (first, second) order; enough rows for `limit` + 1 pairs
    (a pair has a row per rule it meets)."""
    rows = DuplicateCandidate.objects.filter(
        first__merged_into__isnull=True, second__merged_into__isnull=True)
    condition = Customer.scope.filter_for(viewer.data_scope())
    if condition is not None:
        rows = rows.filter(_prefixed(condition, "first__"), _prefixed(condition, "second__"))
    if len(kinds) < len(KINDS):
        rows = rows.filter(kind__in=kinds)
    first, second = after
    rows = rows.filter(Q(first_id__gt=first) | Q(first_id=first, second_id__gt=second))
    rows = rows.exclude(Exists(DuplicateDismissal.objects.filter(
        first_id=OuterRef("first_id"), second_id=OuterRef("second_id"))))
    return list(rows.order_by("first_id", "second_id", "kind")
                .values_list("first_id", "second_id", "kind")[:(limit + 1) * len(kinds)])


def duplicate_candidates(*, viewer: Any, kind: str | None = None, cursor: str | None = None,
                         limit: int = PAGE_SIZE, live: bool | None = None) -> DuplicatePage:
    """One keyset page of duplicate pairs in the viewer's scope, ordered by (first, second)
    id; `cursor` is the `next_cursor` of the page before ("12-40"). `kind` keeps one rule.

    Read from the last scan's stored pairs (`found_at` says when), checked live for scope,
    merges and dismissals; before any scan (a new installation), or with `live=True`, the
    rules run over the viewer's scope for this page."""
    if not getattr(viewer, "is_authenticated", False) or not getattr(viewer, "is_active", True):
        return DuplicatePage(pairs=[], next_cursor=None)
    limit = max(1, min(int(limit), 200))
    kinds = [kind] if kind in REASONS else list(KINDS)
    after = _parse_cursor(cursor)
    scan = None if live else last_scan()
    if scan is not None:
        rows = _stored_rows(viewer, kinds, after, limit)
    else:
        sql, params = _rules_sql(kinds, _scope_sql(viewer), (*after, limit))
        with connection.cursor() as db:
            db.execute(sql + " ORDER BY first_id, second_id", params)
            rows = db.fetchall()

    pairs: dict[tuple[int, int], list[str]] = {}
    for first_id, second_id, rule in rows:
        pairs.setdefault((first_id, second_id), []).append(rule)
    keys = list(pairs)[: limit + 1]
    more = len(keys) > limit
    keys = keys[:limit]
    ids = {pk for key in keys for pk in key}
    customers = Customer.objects.select_related("owner", "project").in_bulk(ids)
    page = [DuplicatePair(first=customers[a], second=customers[b],
                          kinds=sorted(pairs[(a, b)], key=KINDS.index))
            for a, b in keys if a in customers and b in customers]
    next_cursor = f"{keys[-1][0]}-{keys[-1][1]}" if more and keys else None
    return DuplicatePage(pairs=page, next_cursor=next_cursor,
                         found_at=scan.finished_at if scan else None)


def duplicate_pair_get(*, viewer: Any, first: int, second: int) -> tuple[Customer, Customer]:
    """Both customers of a pair, live and in the viewer's scope (else Customer.DoesNotExist)."""
    found = (Customer.objects.visible_to(viewer).filter(merged_into__isnull=True)
             .select_related("owner", "project").in_bulk([first, second]))
    if first == second or first not in found or second not in found:
        raise Customer.DoesNotExist("No such customer.")
    return found[first], found[second]
