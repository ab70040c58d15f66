"""Every non-trivial read of opportunities, always through `visible_to(viewer)`: the list
(keyset pages), one opportunity with its history, the kanban columns, the funnel (from the
pre-aggregated `FunnelCell`s), the customer's 360° sections and the quotes."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from anju.accounts.models import Project, Team, User
from anju.core.money import format_wan
from anju.customers.models import Customer, CustomerNeed
from anju.sales.models.opportunities import (
    BUCKET_FIELDS,
    DURATION_BUCKETS,
    FunnelCell,
    Opportunity,
    OpportunityStage,
    OpportunityStageChange,
    Quote,
)

from . import matching
from .funnel import MAIN_PATH, month_of
from .services import CLOSED_STAGES, allowed_moves, win_probabilities

PAGE_SIZE = 50
KANBAN_CARDS = 50  # per column; the column's count says how many there are in all
KANBAN_CLOSED_DAYS = 30  # won and lost columns show what closed in the last 30 days
FILTER_KEYS = ("stage", "owner", "project", "team", "customer", "open")
Stage = OpportunityStage
BOARD_STAGES = (*MAIN_PATH, Stage.LOST)


# --- filters --------------------------------------------------------------------------------
def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def team_member_ids(*, viewer: User, team_id: int) -> QuerySet:
    """The ids of the members and the leader of a team the viewer may see (none otherwise),
    as a subquery: filtering by team costs no query of its own."""
    teams = Team.objects.visible_to(viewer).filter(pk=team_id)
    return (User.objects.filter(Q(team__in=teams) | Q(led_teams__in=teams))
            .order_by().values("id"))


def opportunities_filtered(viewer: User, filters: dict) -> QuerySet[Opportunity]:
    """The opportunities in the viewer's scope narrowed by FILTER_KEYS (stage, consultant,
    project, customer, team, open)."""
    rows = Opportunity.objects.visible_to(viewer)
    stage = filters.get("stage")
    if stage in Stage.values:
        rows = rows.filter(stage=stage)
    if (owner := _int(filters.get("owner"))) is not None:
        rows = rows.filter(owner_id=owner)
    if (project := _int(filters.get("project"))) is not None:
        rows = rows.filter(project_id=project)
    if (customer := _int(filters.get("customer"))) is not None:
        rows = rows.filter(customer_id=customer)
    if (team := _int(filters.get("team"))) is not None:
        rows = rows.filter(owner_id__in=team_member_ids(viewer=viewer, team_id=team))
    if filters.get("open") in ("1", "true", True):
        rows = rows.exclude(stage__in=CLOSED_STAGES)
    return rows


# --- list -----------------------------------------------------------------------------------
@dataclass
class OpportunityPage:
    rows: list[Opportunity]
    next_cursor: int | None


def opportunity_list(*, viewer: User, filters: dict | None = None, cursor: Any = None,
                     page_size: int = PAGE_SIZE) -> OpportunityPage:
    """Newest first, by keyset on id (a cursor is the last id seen)."""
    rows = (opportunities_filtered(viewer, filters or {})
            .select_related("customer", "project", "owner").order_by("-id"))
    if (after := _int(cursor)) is not None:
        rows = rows.filter(id__lt=after)
    page = list(rows[: page_size + 1])
    more = len(page) > page_size
    page = page[:page_size]
    return OpportunityPage(rows=page, next_cursor=page[-1].pk if more and page else None)


def opportunity_get(*, viewer: User, pk: Any) -> Opportunity:
    found = (Opportunity.objects.visible_to(viewer)
             .select_related("customer", "project__company", "owner")
             .filter(pk=_int(pk) or 0).first())
    if found is None:
        raise Http404
    return found


@dataclass
class OpportunityView:
    opportunity: Opportunity
    history: list[OpportunityStageChange]
    probability: int
    weighted_value: Decimal | None
    moves: tuple[str, ...]
    matches: list[matching.UnitMatch]
    quotes: list
    days_in_stage: int


def opportunity_detail(*, viewer: User, pk: Any) -> OpportunityView:
    """One opportunity with its history, win probability, the units matching its customer's
    needs (in its project) and its quotes; a constant number of queries."""
    opportunity = opportunity_get(viewer=viewer, pk=pk)
    history = list(opportunity.stage_changes.select_related("changed_by")
                   .order_by("-changed_at", "-id")[:100])
    probability = win_probabilities(company_id=opportunity.project.company_id)[
        opportunity.stage]
    weighted = None
    if opportunity.expected_value is not None:
        weighted = (opportunity.expected_value * probability / 100).quantize(Decimal("0.01"))
    need = CustomerNeed.objects.filter(customer_id=opportunity.customer_id).first()
    matches = matching.match_units(viewer=viewer, need=need, project_id=opportunity.project_id)
    return OpportunityView(
        opportunity=opportunity, history=history, probability=probability,
        weighted_value=weighted, moves=allowed_moves(opportunity.stage), matches=matches,
        quotes=quotes_for_opportunity(viewer=viewer, opportunity=opportunity),
        days_in_stage=(timezone.now() - opportunity.stage_entered_at).days)


# --- kanban ---------------------------------------------------------------------------------
@dataclass
class KanbanColumn:
    stage: str
    label: str
    count: int
    cards: list[Opportunity]
    probability: int
    value_wan: str
    moves: tuple[str, ...] = ()


def _cell_filters(viewer: User, filters: dict) -> QuerySet[FunnelCell]:
    """The funnel cells in the viewer's scope narrowed like the opportunities (consultant,
    team, project)."""
    cells = FunnelCell.objects.visible_to(viewer)
    if (owner := _int(filters.get("owner"))) is not None:
        cells = cells.filter(owner_key=owner)
    if (project := _int(filters.get("project"))) is not None:
        cells = cells.filter(project_id=project)
    if (team := _int(filters.get("team"))) is not None:
        cells = cells.filter(owner_key__in=team_member_ids(viewer=viewer, team_id=team))
    return cells


def kanban(*, viewer: User, filters: dict | None = None) -> list[KanbanColumn]:
    """One column per stage: its count and expected value, and its most recently moved cards
    (won and lost: those closed in the last KANBAN_CLOSED_DAYS days). The open stages' totals
    come from the funnel cells (a few hundred rows, not every opportunity), won and lost from
    the opportunities by their closing time (an index range). 3 + one query per column."""
    filters = {k: v for k, v in (filters or {}).items() if k != "stage"}
    base = opportunities_filtered(viewer, filters)
    since = timezone.now() - datetime.timedelta(days=KANBAN_CLOSED_DAYS)
    closed = base.filter(stage__in=CLOSED_STAGES, stage_entered_at__gte=since)
    if filters.get("customer"):  # the cells know no customer: count the rows
        totals = {row["stage"]: row for row in base.exclude(stage__in=CLOSED_STAGES).order_by()
                  .values("stage").annotate(n=Count("id"), value=Sum("expected_value"))}
    else:
        totals = {row["stage"]: {"n": row["n"], "value": row["value"]} for row in
                  _cell_filters(viewer, filters).exclude(stage__in=CLOSED_STAGES).order_by()
                  .values("stage").annotate(n=Sum("current"), value=Sum("current_value"))}
    totals.update({row["stage"]: row for row in closed.order_by().values("stage").annotate(
        n=Count("id"), value=Sum("expected_value"))})
    probabilities = _probabilities_for(viewer, filters)
    columns = []
    for stage in BOARD_STAGES:
        total = totals.get(stage) or {"n": 0, "value": None}
        cards = []
        rows = closed if stage in CLOSED_STAGES else base
        if total["n"]:
            cards = list(rows.filter(stage=stage).select_related("customer", "owner", "project")
                         .order_by("-stage_entered_at", "-id")[:KANBAN_CARDS])
        columns.append(KanbanColumn(stage=stage, label=str(Stage(stage).label),
                                    count=total["n"] or 0, cards=cards,
                                    probability=probabilities[stage],
                                    value_wan=format_wan(total["value"] or 0),
                                    moves=allowed_moves(stage)))
    return columns


def _probabilities_for(viewer: User, filters: dict) -> dict[str, int]:
    project = _int(filters.get("project"))
    company_id = None
    if project is not None:
        company_id = Project.objects.filter(pk=project).values_list("company_id",
                                                                    flat=True).first()
    return win_probabilities(company_id=company_id)


# --- funnel ---------------------------------------------------------------------------------
@dataclass
class FunnelStage:
    stage: str
    label: str
    reached: int
    current: int
    conversion: float | None  # % of this stage's opportunities that reached the next one
    avg_days: float | None
    median_days: float | None
    stays: int


@dataclass
class Funnel:
    stages: list[FunnelStage]
    lost: int
    won: int
    opened: int
    win_rate: float | None
    month_from: datetime.date | None
    month_to: datetime.date | None
    filters: dict = field(default_factory=dict)


def _median_seconds(counts: list[int]) -> float | None:
    total = sum(counts)
    if not total:
        return None
    half = total / 2
    running = 0
    for index, count in enumerate(counts):
        if count and running + count >= half:
            low = DURATION_BUCKETS[index - 1] if index else 0
            high = DURATION_BUCKETS[index] or low * 2
            return low + (half - running) / count * (high - low)
        running += count
    return None  # pragma: no cover


def _month(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return month_of(value)
    if isinstance(value, datetime.date):
        return value.replace(day=1)
    if isinstance(value, str) and value:
        try:
            return datetime.date.fromisoformat(value[:10] if len(value) > 7 else value + "-01"
                                               ).replace(day=1)
        except ValueError:
            return None
    return None


def funnel(*, viewer: User, filters: dict | None = None) -> Funnel:
    """Per main-path stage: opportunities opened in the period (whole months, Asia/Shanghai)
    that reached it, how many are in it now, conversion to the next stage, average and median
    time in stage; by consultant, team and project. One query over the pre-aggregated cells
    (plus one for a team's members)."""
    filters = filters or {}
    cells = _cell_filters(viewer, filters)
    month_from, month_to = _month(filters.get("date_from")), _month(filters.get("date_to"))
    if month_from:
        cells = cells.filter(month__gte=month_from)
    if month_to:
        cells = cells.filter(month__lte=month_to)
    sums = {"reached": Sum("reached"), "current": Sum("current"), "stays": Sum("stays"),
            "stay_seconds": Sum("stay_seconds")}
    sums.update({name: Sum(name) for name in BUCKET_FIELDS})
    rows = {row["stage"]: row for row in cells.order_by().values("stage").annotate(**sums)}
    empty = dict.fromkeys(("reached", "current", "stays", "stay_seconds", *BUCKET_FIELDS), 0)
    stages = []
    for index, stage in enumerate(MAIN_PATH):
        row = {key: value or 0 for key, value in rows.get(stage, empty).items()
               if key != "stage"}
        nxt = rows.get(MAIN_PATH[index + 1], empty) if index + 1 < len(MAIN_PATH) else None
        conversion = None
        if nxt is not None and row["reached"]:
            conversion = round(100 * (nxt["reached"] or 0) / row["reached"], 1)
        stays = row["stays"]
        stages.append(FunnelStage(
            stage=stage, label=str(Stage(stage).label), reached=row["reached"],
            current=row["current"], conversion=conversion,
            avg_days=round(row["stay_seconds"] / stays / 86400, 1) if stays else None,
            median_days=(round(_median_seconds([row[name] for name in BUCKET_FIELDS]) / 86400,
                               1) if stays else None),
            stays=stays))
    opened = stages[0].reached
    won = stages[-1].reached
    lost = (rows.get(Stage.LOST) or {}).get("current") or 0
    return Funnel(stages=stages, lost=lost, won=won, opened=opened,
                  win_rate=round(100 * won / opened, 1) if opened else None,
                  month_from=month_from, month_to=month_to, filters=filters)


def funnel_chart(result: Funnel) -> dict:
    """The ECharts option of the funnel (data only; the page's static script draws it)."""
    return {
        "tooltip": {"trigger": "item"},
        "series": [{
            "type": "funnel", "sort": "none", "left": "10%", "width": "80%",
            "label": {"show": True, "position": "inside"},
            "data": [{"name": row.label, "value": row.reached} for row in result.stages],
        }],
    }


# --- 360° sections ----------------------------------------------------------------------------
def customer_opportunities_section(*, customer: Customer, viewer: User) -> dict:
    rows = list(Opportunity.objects.visible_to(viewer).filter(customer_id=customer.pk)
                .select_related("project", "owner").order_by("-id")[:20])
    projects = list(Project.objects.visible_to(viewer).filter(
        company_id=customer.company_id, is_active=True).order_by("name").values_list(
        "id", "name")[:100])
    return {"opportunities": rows, "projects": projects, "stages": [
        (value, label) for value, label in Stage.choices if value in MAIN_PATH[:4]],
        "default_project": customer.project_id}


def customer_matching_section(*, customer: Customer, viewer: User) -> dict:
    need = CustomerNeed.objects.filter(customer_id=customer.pk).first()
    return {"need": need, "matches": matching.match_units(viewer=viewer, need=need)}


def customer_matches(*, viewer: User, customer_id: Any, project_id: int | None = None,
                     limit: int = 10) -> list[matching.UnitMatch]:
    customer = Customer.objects.visible_to(viewer).filter(pk=_int(customer_id) or 0).first()
    if customer is None:
        raise Http404
    need = CustomerNeed.objects.filter(customer_id=customer.pk).first()
    return matching.match_units(viewer=viewer, need=need, project_id=project_id, limit=limit)


# --- quotes -----------------------------------------------------------------------------------
def quotes_for_opportunity(*, viewer: User, opportunity: Opportunity) -> list[Quote]:
    return list(Quote.objects.visible_to(viewer).filter(opportunity=opportunity)
                .select_related("unit", "created_by").order_by("-id")[:50])


def quote_get(*, viewer: User, pk: Any) -> Quote:
    found = (Quote.objects.visible_to(viewer)
             .select_related("opportunity__customer", "opportunity__project", "unit__building",
                             "unit__unit_type", "created_by", "decided_by")
             .filter(pk=_int(pk) or 0).first())
    if found is None:
        raise Http404
    return found


def quote_list(*, viewer: User, status: str = "", limit: int = 100) -> list[Quote]:
    """The latest quotes the viewer may see (`status` narrows: pending ones wait for
    approval), newest first."""
    rows = Quote.objects.visible_to(viewer)
    if status in Quote.Status.values:
        rows = rows.filter(status=status)
    return list(rows.select_related("opportunity__customer", "unit", "created_by")
                .order_by("-id")[:limit])


def owner_choices(*, viewer: User) -> QuerySet[User]:
    """Consultants the viewer may hand an opportunity to (users visible to them)."""
    return (User.objects.visible_to(viewer).filter(is_active=True)
            .only("id", "username", "display_name").order_by("username"))


def filter_choices(*, viewer: User) -> dict:
    """Options of the filters: consultants, teams and projects the viewer may see."""
    return {
        "owners": [(u.pk, str(u)) for u in User.objects.visible_to(viewer).filter(
            is_active=True).only("id", "username", "display_name").order_by("username")[:300]],
        "teams": list(Team.objects.visible_to(viewer).order_by("name").values_list(
            "id", "name")[:100]),
        "projects": list(Project.objects.visible_to(viewer).order_by("name").values_list(
            "id", "name")[:300]),
    }


# --- settings: discount policies and win probabilities ----------------------------------------
@dataclass
class SettingsView:
    roles: list  # (code, label, [(method, field name, value or "")…])
    methods: list  # (method or "", label)
    companies: list  # (id, name)
    company_id: int | None
    probabilities: list  # (stage, label, field name, own value or "", value in force)


def sales_settings(*, viewer: User, company_id: int | None = None) -> SettingsView:
    """Discount limits per role and payment method, and the win probabilities of a company
    (or the global ones) with the values in force."""
    from anju.accounts.models import Company, Role
    from anju.sales.models.opportunities import DiscountPolicy, PaymentMethod, StageProbability

    methods = [("", "*"), *PaymentMethod.choices]
    limits = {(role_id, method): value for role_id, method, value in
              DiscountPolicy.objects.values_list("role_id", "payment_method",
                                                 "max_discount_percent")}
    roles = []
    for role in Role.objects.order_by("id"):
        cells = [(method, f"limit_{role.code}_{method or 'any'}",
                  limits.get((role.pk, method), "")) for method, _label in methods]
        roles.append((role.code, str(role.get_code_display()), cells))
    companies = list(Company.objects.visible_to(viewer).order_by("name").values_list("id",
                                                                                    "name"))
    if company_id is not None and company_id not in {pk for pk, _name in companies}:
        company_id = None
    own = dict(StageProbability.objects.filter(company_id=company_id).values_list(
        "stage", "probability"))
    in_force = win_probabilities(company_id=company_id)
    probabilities = [(stage, str(label), f"probability_{stage}", own.get(stage, ""),
                      in_force[stage]) for stage, label in Stage.choices]
    return SettingsView(roles=roles, methods=[(m, str(label)) for m, label in methods],
                        companies=companies, company_id=company_id,
                        probabilities=probabilities)
