"""What every capture reads but almost never changes, kept in the cache: a project's policy,
its grading rules, whether it has assignment rules, and today's roster (who is present, in
turn order). Every configuration write in `services` calls `config_changed()` on commit,
which moves a version number that is part of every key, so the next capture reads afresh;
entries also expire after CACHE_SECONDS (a backstop for a process whose local-memory cache did
not see the change: the embedded setup runs one web process, scale-out shares Redis).

The turn pointer itself is never cached: it moves with one UPDATE … RETURNING per capture."""

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q

from .models import AssignmentRule, DutyRoster, DutyRosterEntry, GradingRule, LeadPolicy

CACHE_SECONDS = 30
VERSION_KEY = "leads:config:version"


@dataclass(frozen=True)
class ProjectConfig:
    policy: LeadPolicy
    grading_rules: list[GradingRule]
    has_assignment_rules: bool
    roster_id: int | None
    present: list[int]  # consultants on duty, in turn order, absentees left out


def version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, None)
        version = cache.get(VERSION_KEY) or 1
    return version


def config_changed() -> None:
    """Drop every kept configuration, now and when the current transaction commits."""

    def bump() -> None:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:
            cache.set(VERSION_KEY, 2, None)

    bump()
    transaction.on_commit(bump)


def load_policy(project_id: int | None) -> LeadPolicy:
    rows = list(LeadPolicy.objects.filter(Q(project_id=project_id) | Q(project__isnull=True))
                if project_id else LeadPolicy.objects.filter(project__isnull=True))
    rows.sort(key=lambda row: row.project_id is None)
    return rows[0] if rows else LeadPolicy()


def load_grading_rules(project_id: int | None) -> list[GradingRule]:
    """The project's own active rules if it has any, else those for every project."""
    rows = list(GradingRule.objects.filter(is_active=True).filter(
        Q(project__isnull=True) | Q(project_id=project_id)).order_by("order", "id"))
    own = [rule for rule in rows if project_id and rule.project_id == project_id]
    return own or [rule for rule in rows if rule.project_id is None]


def project_config(project_id: int, day: datetime.date) -> ProjectConfig:
    key = f"leads:config:{version()}:{project_id}:{day.isoformat()}"
    found = cache.get(key)
    if found is not None:
        return found
    roster = DutyRoster.objects.filter(project_id=project_id, date=day).values_list(
        "id", flat=True).first()
    present = list(DutyRosterEntry.objects.filter(
        roster_id=roster, absent=False, consultant__is_active=True).order_by("position")
        .values_list("consultant_id", flat=True)) if roster else []
    found = ProjectConfig(
        policy=load_policy(project_id), grading_rules=load_grading_rules(project_id),
        has_assignment_rules=AssignmentRule.objects.filter(project_id=project_id,
                                                           is_active=True).exists(),
        roster_id=roster, present=present)
    cache.set(key, found, CACHE_SECONDS)
    return found


def next_turn(table: str, row_id: int) -> int:
    """Moves a turn pointer by one and returns the turn taken (one statement: the row lock
    it takes queues concurrent captures of the project, so no two get the same turn)."""
    return next_turns(table, row_id, 1)[0]


def next_turns(table: str, row_id: int, count: int) -> list[int]:
    """Moves a turn pointer by `count` and returns the turns taken, in order."""
    if table not in ("leads_dutyroster", "leads_assignmentrule"):
        raise ValueError(table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET next_position = next_position + %s "  # noqa: S608
                       "WHERE id = %s RETURNING next_position", [count, row_id])
        row = cursor.fetchone()
    end = row[0] if row else count
    return list(range(end - count, end))
