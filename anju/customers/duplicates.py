"""Duplicate candidates (疑似重复客户) for data stewards: pairs of live customers in the
viewer's scope that look like one person, each with the reasons why.

The rules (`Kind`), each one SQL statement joined on indexed columns (a customer's name,
`customer_name_idx`; its phones by customer), walked in id order and cut by keyset, so a page
never compares customers in Python nor scans pairs it does not show:

- the same ID number hash (the unique constraint forbids it; the rule stays as a guard);
- the same name and a phone with the same last four digits;
- the same name and phones one digit apart (same number but one of the last four digits:
  a typing slip; one different digit elsewhere leaves the last four equal, the rule above);
- the same name and the same birthday;
- the same name in the same project, neither with a phone.

A pair is shown once, lower id first, with every rule it meets; pairs a steward dismissed as
"not the same person" (`DuplicateDismissal`) are left out."""

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _

from .models import Customer, CustomerPhone, DuplicateDismissal


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
NOT_DISMISSED = "NOT EXISTS (SELECT 1 FROM {d} d WHERE d.first_id = a.id AND d.second_id = b.id)"


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


def _parse_cursor(cursor: str | None) -> tuple[int, int]:
    try:
        first, second = (int(part) for part in str(cursor or "").split("-", 1))
    except ValueError:
        return 0, 0
    return first, second


def _rule_sql(kind: str, t: dict[str, str]) -> str:
    """The join and condition of one rule over customers `a` and `b` (a.id < b.id)."""
    same_name = "JOIN {c} b ON b.name = a.name AND b.id > a.id"
    phone_pair = ("EXISTS (SELECT 1 FROM {p} pa JOIN {p} pb ON {cond} "
                  "WHERE pa.customer_id = a.id AND pb.customer_id = b.id)")
    if kind == Kind.ID_NUMBER:
        sql = ("JOIN {c} b ON b.id_number_hash = a.id_number_hash AND b.id > a.id "
               "WHERE a.id_number_hash <> ''")
    elif kind == Kind.NAME_LAST4:
        sql = same_name + " WHERE " + phone_pair.replace("{cond}", "pb.last4 = pa.last4")
    elif kind == Kind.NAME_PHONE_TYPO:
        digits = " + ".join(
            f"CASE WHEN SUBSTR(pa.last4, {i}, 1) <> SUBSTR(pb.last4, {i}, 1) THEN 1 ELSE 0 END"
            for i in range(1, 5))
        cond = ("LENGTH(pb.e164) = LENGTH(pa.e164) AND pb.last4 <> pa.last4 AND "
                "SUBSTR(pb.e164, 1, LENGTH(pb.e164) - 4) = SUBSTR(pa.e164, 1, LENGTH(pa.e164) - 4)"
                f" AND ({digits}) = 1")
        sql = same_name + " WHERE " + phone_pair.replace("{cond}", cond)
    elif kind == Kind.NAME_BIRTHDAY:
        sql = same_name + " WHERE a.birthday IS NOT NULL AND b.birthday = a.birthday"
    elif kind == Kind.NAME_PROJECT_NO_PHONE:
        sql = same_name + (  # noqa: S608  (table names only; formatted below)
            " WHERE a.project_id IS NOT NULL AND b.project_id = a.project_id"
            " AND NOT EXISTS (SELECT 1 FROM {p} pa WHERE pa.customer_id = a.id)"
            " AND NOT EXISTS (SELECT 1 FROM {p} pb WHERE pb.customer_id = b.id)")
    else:
        raise ValueError(kind)
    return sql.format(**t)


def _scope_sql(viewer: Any) -> tuple[str, list[Any]] | None:
    """SQL of the ids the viewer may see; None when they may see every customer."""
    spec = Customer.scope
    condition = spec.filter_for(viewer.data_scope())
    if condition is None:
        return None
    query = Customer.objects.filter(condition).values("id").query
    sql, params = query.sql_with_params()
    return sql, list(params)


def duplicate_candidates(*, viewer: Any, kind: str | None = None, cursor: str | None = None,
                         limit: int = PAGE_SIZE) -> DuplicatePage:
    """One keyset page of duplicate pairs in the viewer's scope, ordered by (first, second)
    id; `cursor` is the `next_cursor` of the page before ("12-40"). `kind` keeps one rule."""
    if not getattr(viewer, "is_authenticated", False) or not getattr(viewer, "is_active", True):
        return DuplicatePage(pairs=[], next_cursor=None)
    limit = max(1, min(int(limit), 200))
    kinds = [kind] if kind in REASONS else list(KINDS)
    quote = connection.ops.quote_name
    tables = {"c": quote(Customer._meta.db_table), "p": quote(CustomerPhone._meta.db_table),
              "d": quote(DuplicateDismissal._meta.db_table)}
    after_first, after_second = _parse_cursor(cursor)
    scope = _scope_sql(viewer)

    selects, params = [], []
    for rule in kinds:
        where = [
            "a.merged_into_id IS NULL", "b.merged_into_id IS NULL",
            "(a.id > %s OR (a.id = %s AND b.id > %s))",
            NOT_DISMISSED.format(**tables),
        ]
        rule_params: list[Any] = [after_first, after_first, after_second]
        if scope is not None:
            where += [f"a.id IN ({scope[0]})", f"b.id IN ({scope[0]})"]
            rule_params += scope[1] + scope[1]
        body = _rule_sql(rule, tables)
        # each rule's own first page: the union's first page is among them
        selects.append(
            # interpolated: quoted table names, rule codes of KINDS, an int; values are params
            f"SELECT * FROM (SELECT a.id AS first_id, b.id AS second_id, '{rule}' AS kind "  # noqa: S608
            f"FROM {tables['c']} a {body} AND {' AND '.join(where)} "
            f"ORDER BY a.id, b.id LIMIT {limit + 1}) r_{rule}")
        params += rule_params
    sql = (" UNION ALL ".join(selects)) + " ORDER BY first_id, second_id"
    with connection.cursor() as db:
        db.execute(sql, params)
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
    return DuplicatePage(pairs=page, next_cursor=next_cursor)


def duplicate_pair_get(*, viewer: Any, first: int, second: int) -> tuple[Customer, Customer]:
    """Both customers of a pair, live and in the viewer's scope (else Customer.DoesNotExist)."""
    found = (Customer.objects.visible_to(viewer).filter(merged_into__isnull=True)
             .select_related("owner", "project").in_bulk([first, second]))
    if first == second or first not in found or second not in found:
        raise Customer.DoesNotExist("No such customer.")
    return found[first], found[second]
