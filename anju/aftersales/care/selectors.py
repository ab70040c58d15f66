"""Every non-trivial read of customer care, each starting from `visible_to(user)`."""

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from anju.accounts.models import Company, Project
from anju.core.scoping import Principal

from ..models.care import (
    ChecklistTemplate,
    HandoverBatch,
    HandoverEvent,
    HandoverSlot,
    HandoverUnit,
    KnowledgeArticle,
    SurveyInvitation,
    SurveyResponse,
)

SUGGEST_LIMIT = 5


# --- knowledge base ---------------------------------------------------------------------------
def knowledge_articles_for(*, user: Principal) -> QuerySet[KnowledgeArticle]:
    """Articles of the companies the user works for (one subquery, no row duplicates)."""
    companies = Company.objects.visible_to(user).values("id")
    return KnowledgeArticle.objects.filter(company_id__in=companies)


def _terms(text: str) -> list[str]:
    """Search terms of typed text: words split on spaces and punctuation; a run of Chinese
    characters also gives its two-character pieces, so 卫生间渗漏 finds 渗漏."""
    terms: list[str] = []
    for word in re.split(r"[\s,，。；;、:：!！?？()（）]+", text.strip()):
        if not word:
            continue
        terms.append(word)
        if len(word) > 2 and re.fullmatch(r"[\u4e00-\u9fff]+", word):
            terms.extend(word[i:i + 2] for i in range(len(word) - 1))
    return list(dict.fromkeys(terms))[:20]


def knowledge_search(*, user: Principal, query: str = "", category_id: int | None = None,
                     limit: int = 20) -> list[KnowledgeArticle]:
    qs = knowledge_articles_for(user=user).filter(is_published=True)
    if category_id and hasattr(KnowledgeArticle, "category_id"):
        qs = qs.filter(category_id=category_id)
    terms = _terms(query or "")
    if terms:
        condition = Q()
        for term in terms:
            condition |= (Q(title__icontains=term) | Q(keywords__icontains=term)
                          | Q(body__icontains=term))
        qs = qs.filter(condition)
    rows = list(qs.only("id", "title", "keywords", "body", "company_id")[:200])
    if terms:
        rows.sort(key=lambda a: -_score(a, terms))
    return rows[:limit]


def _score(article: KnowledgeArticle, terms: list[str]) -> int:
    score = 0
    for term in terms:
        score += 3 * (term in article.title) + 2 * (term in article.keywords) + (
            term in article.body)
    return score


@dataclass(frozen=True)
class Resolution:
    ticket_id: int
    number: str
    title: str
    note: str


def knowledge_suggest(*, user: Principal, text: str = "", category_id: int | None = None
                      ) -> tuple[list[KnowledgeArticle], list[Resolution]]:
    """What the reception form shows while a ticket is typed: articles of the category or
    matching the words, and how recent closed tickets of the same category were resolved
    (the completion notes of the worker). Three queries at most."""
    articles: list[KnowledgeArticle] = []
    if category_id or text.strip():
        if category_id and hasattr(KnowledgeArticle, "category_id"):
            by_category = knowledge_search(user=user, query="", category_id=category_id,
                                           limit=SUGGEST_LIMIT)
            articles = by_category
        if len(articles) < SUGGEST_LIMIT and text.strip():
            seen = {a.pk for a in articles}
            articles += [a for a in knowledge_search(user=user, query=text, limit=SUGGEST_LIMIT)
                         if a.pk not in seen]
    return articles[:SUGGEST_LIMIT], _resolutions(user=user, category_id=category_id)


def _resolutions(*, user: Principal, category_id: int | None) -> list[Resolution]:
    if not category_id:
        return []
    try:
        from ..models.tickets import Ticket, TicketEvent
    except ImportError:
        return []
    closed = ("closed", "called_back", "confirmed")
    tickets = (Ticket.objects.visible_to(user)
               .filter(category_id=category_id, status__in=closed).order_by("-id")
               .values_list("id", flat=True)[:50])
    events = (TicketEvent.objects.filter(ticket_id__in=list(tickets), kind="complete")
              .exclude(note="").select_related("ticket").order_by("-id")[:SUGGEST_LIMIT])
    return [Resolution(ticket_id=e.ticket_id, number=e.ticket.number, title=e.ticket.title,
                       note=e.note) for e in events]


# --- surveys ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scores:
    project_id: int | None
    project_name: str
    responses: int
    promoters: int
    detractors: int
    nps_answers: int
    satisfied: int
    scale_answers: int

    @property
    def nps(self) -> int | None:
        """Net promoter score: % promoters (9–10) − % detractors (0–6), −100…100."""
        if not self.nps_answers:
            return None
        return round(100 * (self.promoters - self.detractors) / self.nps_answers)

    @property
    def csat(self) -> int | None:
        """% of 1–5 answers that are 4 or 5."""
        if not self.scale_answers:
            return None
        return round(100 * self.satisfied / self.scale_answers)


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def survey_scores(*, user: Principal, date_from: datetime.date | None = None,
                  date_to: datetime.date | None = None, project_id: int | None = None,
                  trigger: str = "") -> list[Scores]:
    """NPS and CSAT per project over a period (local days, inclusive): one aggregate query
    over the responses (a range on the (project, submitted_at) index; CSAT's counts are kept
    on each response), whatever the number of answers."""
    responses = SurveyResponse.objects.visible_to(user)
    if date_from:
        responses = responses.filter(submitted_at__gte=_day_start(date_from))
    if date_to:
        responses = responses.filter(
            submitted_at__lt=_day_start(date_to + datetime.timedelta(days=1)))
    if project_id:
        responses = responses.filter(project_id=project_id)
    if trigger:
        responses = responses.filter(trigger=trigger)
    rows = (responses.values("project_id").order_by()
            .annotate(n=Count("id"), answered=Count("nps_score"),
                      promoters=Count("id", filter=Q(nps_score__gte=9)),
                      detractors=Count("id", filter=Q(nps_score__lte=6)),
                      scale=Sum("scale_answers"), satisfied=Sum("scale_satisfied")))
    rows = list(rows)
    names = dict(Project.objects.filter(pk__in=[r["project_id"] for r in rows])
                 .values_list("id", "name"))
    result = [Scores(project_id=row["project_id"], project_name=names.get(row["project_id"], ""),
                     responses=row["n"], promoters=row["promoters"],
                     detractors=row["detractors"], nps_answers=row["answered"],
                     satisfied=row["satisfied"] or 0, scale_answers=row["scale"] or 0)
              for row in rows]
    return sorted(result, key=lambda r: (r.project_name, r.project_id))


def survey_scores_total(rows: list[Scores]) -> Scores:
    return Scores(project_id=None, project_name="", **{
        f: sum(getattr(r, f) for r in rows)
        for f in ("responses", "promoters", "detractors", "nps_answers", "satisfied",
                  "scale_answers")})


def survey_invitations_for_customer(*, user: Principal, customer_id: int
                                    ) -> list[SurveyInvitation]:
    return list(SurveyInvitation.objects.visible_to(user).filter(customer_id=customer_id)
                .select_related("template", "response").order_by("-sent_at", "-id")[:20])


def survey_responses_for(*, user: Principal) -> QuerySet[SurveyResponse]:
    return (SurveyResponse.objects.visible_to(user)
            .select_related("customer", "project", "invitation__template"))


# --- handover ---------------------------------------------------------------------------------
def handover_batches_for(*, user: Principal) -> QuerySet[HandoverBatch]:
    return HandoverBatch.objects.visible_to(user).select_related("project", "building")


def handover_progress(*, batch_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Counts by stage per batch, in one query: {batch_id: {stage: n, "total": n}}."""
    result: dict[int, dict[str, Any]] = {
        pk: {stage: 0 for stage in HandoverUnit.Stage.values} | {"total": 0}
        for pk in batch_ids}
    rows = (HandoverUnit.objects.filter(batch_id__in=batch_ids).values("batch_id", "stage")
            .order_by().annotate(n=Count("id")))
    for row in rows:
        result[row["batch_id"]][row["stage"]] = row["n"]
        result[row["batch_id"]]["total"] += row["n"]
    return result


def handover_units_of(*, batch: HandoverBatch) -> QuerySet[HandoverUnit]:
    return (HandoverUnit.objects.filter(batch=batch)
            .select_related("unit", "customer", "slot"))


def handover_slots_of(*, batch: HandoverBatch) -> QuerySet[HandoverSlot]:
    return HandoverSlot.objects.filter(batch=batch).order_by("starts_at", "id")


def handover_events_of(*, handover: HandoverUnit) -> list[HandoverEvent]:
    return list(HandoverEvent.objects.filter(handover=handover).select_related("actor"))


# --- the inspection checklist -------------------------------------------------------------------
CHECKLIST_SOURCES = ("project", "company", "default")


def checklist_in_force(*, project_id: int) -> tuple[list[dict[str, Any]], str]:
    """The checklist a new batch of the project takes, and where it comes from: the
    project's own ("project"), its company's default ("company") or the built-in one
    ("default"). One query."""
    from .services import default_checklist

    rows = list(ChecklistTemplate.objects.filter(
        Q(project_id=project_id) | Q(project__isnull=True, company_id=Subquery(
            Project.objects.filter(pk=project_id).values("company_id")[:1])))
        .values_list("project_id", "rooms"))
    own = next((rooms for project, rooms in rows if project is not None), None)
    if own is not None:
        return own, "project"
    company = next((rooms for project, rooms in rows if project is None), None)
    if company is not None:
        return company, "company"
    return default_checklist(), "default"


def company_checklist(*, company_id: int) -> tuple[list[dict[str, Any]], str]:
    """A company's default checklist ("company"), or the built-in one ("default")."""
    from .services import default_checklist

    rooms = (ChecklistTemplate.objects.filter(company_id=company_id, project__isnull=True)
             .values_list("rooms", flat=True).first())
    return (rooms, "company") if rooms is not None else (default_checklist(), "default")


def library_room_names(*, company_id: int) -> list[str]:
    """The rooms of the company's problem library, in use, in order: an inspection's issue
    becomes a ticket at the library room of the checklist room's name."""
    from ..models.tickets import Location

    return list(Location.objects.filter(company_id=company_id, kind=Location.Kind.ROOM,
                                        active=True).values_list("name", flat=True))


@dataclass(frozen=True)
class ChecklistScope:
    """A project (or a company's default) on the checklists page: where its checklist
    comes from and how many items it has."""

    company_id: int
    company_name: str
    project_id: int | None
    project_name: str
    source: str
    rooms: int
    items: int


def checklist_overview(*, user: Principal) -> list[ChecklistScope]:
    """The projects in the user's scope and their companies' defaults, each with the source
    of its checklist. Three queries."""
    from .services import default_checklist

    projects = list(Project.objects.visible_to(user).select_related("company")
                    .order_by("company__name", "name"))
    company_ids = {p.company_id for p in projects}
    templates = list(ChecklistTemplate.objects.filter(company_id__in=company_ids)
                     .values_list("company_id", "project_id", "rooms"))
    own = {project: rooms for _c, project, rooms in templates if project}
    defaults = {company: rooms for company, project, rooms in templates if not project}
    built_in = default_checklist()
    result = []
    companies = {p.company_id: p.company for p in projects}
    for company_id, company in companies.items():
        rooms = defaults.get(company_id, built_in)
        result.append(ChecklistScope(company_id, company.name, None, "",
                                     "company" if company_id in defaults else "default",
                                     len(rooms), sum(len(r["items"]) for r in rooms)))
    for project in projects:
        if project.pk in own:
            rooms, source = own[project.pk], "project"
        elif project.company_id in defaults:
            rooms, source = defaults[project.company_id], "company"
        else:
            rooms, source = built_in, "default"
        result.append(ChecklistScope(project.company_id, project.company.name, project.pk,
                                     project.name, source, len(rooms),
                                     sum(len(r["items"]) for r in rooms)))
    return result


# --- the problem library, as choices for owners and inspectors --------------------------------
def room_locations(*, company_ids: set[int], project_ids: set[int]) -> list:
    """Rooms of the library the projects use (bound to them, or bound to no project)."""
    from ..models.tickets import Location

    return list(Location.objects.filter(company_id__in=company_ids, active=True,
                                        kind=Location.Kind.ROOM)
                .filter(Q(bindings__project_id__in=project_ids) | Q(bindings__isnull=True))
                .distinct().order_by("order", "name"))


def problem_choices(*, company_ids: set[int]) -> list[tuple[str, str]]:
    """("<component id>:<category id>", "天花 – 渗漏") for every leaf component and each of its
    categories: one choice names the problem in words an owner uses. Two queries."""
    from ..models.tickets import Component

    components = (Component.objects.filter(company_id__in=company_ids, active=True,
                                           children__isnull=True)
                  .prefetch_related("categories").order_by("order", "name"))
    return [(f"{component.pk}:{category.pk}", f"{component.name} – {category.name}")
            for component in components for category in component.categories.all()
            if category.active]


def parse_problem(value: str) -> tuple[int | None, int | None]:
    component, _sep, category = str(value or "").partition(":")
    if component.isdigit() and category.isdigit():
        return int(component), int(category)
    return None, None
