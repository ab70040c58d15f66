"""The funnel's pre-aggregated cells (`FunnelCell`): written by the stage-move services in
the transaction of each move, read by `selectors.funnel`; `funnel_rebuild` recomputes them
from the opportunities and their stage history (bench data, repairs, a check in the tests).

A cell is (month the opportunity was opened, project, consultant, stage):
- `reached`: opportunities of that cohort that got at least this far on the main path, each
  counted once whatever moves back and forth (their `reached_rank`);
- `current`, `current_value`: how many are in the stage now, and their expected value;
- `stays`, `stay_seconds`, `b00`…`b15`: finished stays in the stage (time in stage), with a
  histogram over `DURATION_BUCKETS` from which the median is interpolated."""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from anju.sales.models.opportunities import (
    BUCKET_FIELDS,
    DURATION_BUCKETS,
    FunnelCell,
    Opportunity,
    OpportunityStage,
    OpportunityStageChange,
)

MAIN_PATH = (
    OpportunityStage.FIRST_VISIT, OpportunityStage.NEEDS_CONFIRMED,
    OpportunityStage.UNITS_RECOMMENDED, OpportunityStage.NEGOTIATION,
    OpportunityStage.RESERVED, OpportunityStage.CONTRACTED, OpportunityStage.WON,
)
RANK = {stage: index for index, stage in enumerate(MAIN_PATH, start=1)}


def month_of(moment: datetime.datetime) -> datetime.date:
    """First day of the month of `moment` in the site's time zone (Asia/Shanghai)."""
    return timezone.localtime(moment).date().replace(day=1)


def bucket_field(seconds: int) -> str:
    for name, bound in zip(BUCKET_FIELDS, DURATION_BUCKETS, strict=True):
        if bound is None or seconds < bound:
            return name
    return BUCKET_FIELDS[-1]  # pragma: no cover


def _cell_key(opportunity: Opportunity) -> dict:
    return {"month": month_of(opportunity.created_at), "project_id": opportunity.project_id,
            "owner_key": opportunity.owner_id or 0}


def _value(opportunity: Opportunity) -> Decimal:
    return opportunity.expected_value or Decimal(0)


def cell_add(key: dict, stage: str, **deltas: int | Decimal) -> None:
    """Adds `deltas` (field → amount) to one cell, creating it when missing."""
    deltas = {name: value for name, value in deltas.items() if value}
    if not deltas:
        return
    cells = FunnelCell.objects.filter(**key, stage=stage)
    if cells.update(**{name: F(name) + value for name, value in deltas.items()}):
        return
    try:
        with transaction.atomic():
            FunnelCell.objects.create(**key, stage=stage, **deltas)
    except IntegrityError:  # created by a concurrent move a moment ago
        cells.update(**{name: F(name) + value for name, value in deltas.items()})


def _apply(changes: dict[tuple, dict[str, int]]) -> None:
    """Adds deltas to several cells, always in the same order (owner, then stage), so two
    concurrent moves lock their cells in one order and cannot deadlock each other."""
    for (_owner_key, stage), deltas in sorted(changes.items(), key=lambda item: item[0]):
        cell_add(deltas.pop("__key__"), stage, **deltas)


def _collect(changes: dict, key: dict, stage: str, **deltas: int) -> None:
    slot = changes.setdefault((key["owner_key"], stage), {"__key__": key})
    for name, value in deltas.items():
        slot[name] = slot.get(name, 0) + value


def record_opened(opportunity: Opportunity) -> None:
    """A new opportunity: reached up to its stage, one more in it."""
    key = _cell_key(opportunity)
    changes: dict = {}
    for stage in MAIN_PATH[: opportunity.reached_rank]:
        _collect(changes, key, stage, reached=1)
    _collect(changes, key, opportunity.stage, current=1, current_value=_value(opportunity))
    _apply(changes)


def record_move(opportunity: Opportunity, *, from_stage: str, to_stage: str, seconds: int,
                reached_before: int) -> None:
    """One move: the stay in `from_stage` ends, `to_stage` gains one, and the main-path stages
    passed for the first time count as reached."""
    key = _cell_key(opportunity)
    changes: dict = {}
    _collect(changes, key, from_stage, current=-1, current_value=-_value(opportunity),
             stays=1, stay_seconds=seconds, **{bucket_field(seconds): 1})
    _collect(changes, key, to_stage, current=1, current_value=_value(opportunity))
    for stage in MAIN_PATH[reached_before: opportunity.reached_rank]:
        _collect(changes, key, stage, reached=1)
    _apply(changes)


def _contribution(opportunity: Opportunity, stays: Iterable[tuple[str, int]]
                  ) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for stage in MAIN_PATH[: opportunity.reached_rank]:
        result[stage]["reached"] += 1
    result[opportunity.stage]["current"] += 1
    result[opportunity.stage]["current_value"] += _value(opportunity)
    for stage, seconds in stays:
        cell = result[stage]
        cell["stays"] += 1
        cell["stay_seconds"] += seconds
        cell[bucket_field(seconds)] += 1
    return result


def record_owner_change(opportunity: Opportunity, *, old_owner_id: int | None) -> None:
    """The opportunity changed consultant: its whole contribution moves to the new one's cells."""
    stays = list(OpportunityStageChange.objects.filter(
        opportunity=opportunity, seconds_in_from_stage__isnull=False).exclude(from_stage="")
        .values_list("from_stage", "seconds_in_from_stage"))
    new_key = _cell_key(opportunity)
    old_key = {**new_key, "owner_key": old_owner_id or 0}
    changes: dict = {}
    for stage, deltas in _contribution(opportunity, stays).items():
        _collect(changes, old_key, stage, **{name: -value for name, value in deltas.items()})
        _collect(changes, new_key, stage, **deltas)
    _apply(changes)


def record_value_change(opportunity: Opportunity, *, old_value: Decimal | None) -> None:
    """The expected value changed: the stage's total follows."""
    delta = _value(opportunity) - (old_value or Decimal(0))
    if delta:
        cell_add(_cell_key(opportunity), opportunity.stage, current_value=delta)


@transaction.atomic
def funnel_rebuild(*, batch_size: int = 5000) -> int:
    """Recomputes every cell from the opportunities and their history; returns the number of
    cells written. Runs in one transaction: readers see the old cells or the new ones."""
    keys: dict[int, tuple] = {}
    cells: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = Opportunity.objects.order_by().values_list(
        "id", "created_at", "project_id", "owner_id", "stage", "reached_rank", "expected_value")
    for pk, created_at, project_id, owner_id, stage, reached_rank, value in rows.iterator(
            chunk_size=batch_size):
        key = (month_of(created_at), project_id, owner_id or 0)
        keys[pk] = key
        for passed in MAIN_PATH[:reached_rank]:
            cells[(*key, passed)]["reached"] += 1
        cells[(*key, stage)]["current"] += 1
        cells[(*key, stage)]["current_value"] += value or Decimal(0)
    stays = (OpportunityStageChange.objects.order_by()
             .filter(seconds_in_from_stage__isnull=False).exclude(from_stage="")
             .values_list("opportunity_id", "from_stage", "seconds_in_from_stage"))
    for opportunity_id, stage, seconds in stays.iterator(chunk_size=batch_size):
        cell = cells[(*keys[opportunity_id], stage)]
        cell["stays"] += 1
        cell["stay_seconds"] += seconds
        cell[bucket_field(seconds)] += 1
    FunnelCell.objects.all().delete()
    FunnelCell.objects.bulk_create(
        [FunnelCell(month=month, project_id=project_id, owner_key=owner_key, stage=stage,
                    **values)
         for (month, project_id, owner_key, stage), values in cells.items()],
        batch_size=batch_size)
    return len(cells)
