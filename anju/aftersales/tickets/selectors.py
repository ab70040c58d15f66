"""Every non-trivial read of tickets, starting from `ticket_visible_to(user)`.

A ticket has no owner: staff see the tickets of the projects in their data scope (the
`ScopeSpec`), and also, whatever their scope, the tickets they received (一线处理 keeps
headquarters' view after the hand-over) and the ones assigned to them (a worker's tasks)."""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404

from anju.accounts.models import Project, Role
from anju.aftersales.models import (
    OPEN_STATUSES,
    Ticket,
    TicketCallback,
    TicketEvent,
    TicketPhoto,
    TicketStatus,
)
from anju.core.scoping import Level

SERVICE_ROLES = (Role.Code.SERVICE_AGENT, Role.Code.SERVICE_MANAGER, Role.Code.ADMIN)
MANAGER_ROLES = (Role.Code.SERVICE_MANAGER, Role.Code.ADMIN)
QUEUE_PAGE = 50


def is_service_staff(user) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser or (user.role_id and user.role.code in SERVICE_ROLES))


def is_service_manager(user) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser or (user.role_id and user.role.code in MANAGER_ROLES))


def ticket_visible_to(user) -> QuerySet[Ticket]:
    return Ticket.objects.visible_to(user)


def ticket_get(*, viewer, ticket_id: int) -> Ticket:
    """The ticket if the viewer may see it, else 404 (its existence does not leak)."""
    found = (ticket_visible_to(viewer)
             .select_related("project", "customer", "unit__building", "building", "location",
                             "component", "category", "assignee_user", "assignee_team",
                             "received_by", "merged_into", "praised_team")
             .filter(pk=ticket_id).first())
    if found is None:
        raise Http404
    return found


def ticket_timeline(*, ticket: Ticket, owner_view: bool = False) -> list[TicketEvent]:
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor")
    if owner_view:
        events = events.filter(owner_visible=True)
    return list(events.order_by("id"))


def ticket_photos(*, ticket: Ticket) -> list[TicketPhoto]:
    return list(TicketPhoto.objects.filter(ticket=ticket).order_by("id"))


@dataclass
class QueueFilters:
    ticket_type: str = ""
    status: str = ""
    urgency: str = ""
    project_id: int | None = None
    breached_only: bool = False
    query: str = ""


QUEUE_RELATED = ("project", "unit", "assignee_user", "assignee_team", "customer")
# Above this many projects in a viewer's scope the queue walks the one `(next_due, id)` index
# instead of one walk per project.
QUEUE_MAX_PARTS = 24


def _queue_filtered(rows: QuerySet[Ticket], filters: QueueFilters) -> QuerySet[Ticket]:
    rows = rows.filter(status__in=OPEN_STATUSES)
    if filters.ticket_type:
        rows = rows.filter(ticket_type=filters.ticket_type)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.urgency:
        rows = rows.filter(urgency=filters.urgency)
    if filters.project_id:
        rows = rows.filter(project_id=filters.project_id)
    if filters.breached_only:
        rows = rows.filter(escalation_level__gt=0)
    if filters.query:
        rows = rows.filter(Q(number__startswith=filters.query.upper())
                           | Q(title__contains=filters.query))
    return rows


def _queue_parts(viewer, filters: QueueFilters) -> list[QuerySet[Ticket]] | None:
    """The parts of the viewer's scope, each read as its own ordered walk of a partial index
    that stops at the page size: one per project (the viewer's, or on SQLite their
    companies'), the tickets they received, those dispatched to them. None: one walk over the
    whole scope (the all level, the company level on PostgreSQL, more than `QUEUE_MAX_PARTS`
    projects).

    Each part lies inside the scope as `Ticket.objects.visible_to` draws it (projects in
    scope, or received by, or assigned to the viewer) and together they cover it, so a part
    is read without the scope's OR — with it, PostgreSQL estimated a project's rows twice
    over and sorted all of them instead of walking the index. The page is read through
    `visible_to` again (`_queue_read`), so a part can never widen the scope.

    Why parts: with one `project_id IN (…) OR received_by_id = … OR assignee_user_id = …` and
    a type filter, PostgreSQL misjudged how many of a project's rows survive and joined and
    sorted all of them (3,472 of 1M tickets, p95 up to 156 ms)."""
    if filters.project_id:
        # one project: its share of the scope, read through the scope (any level)
        return [_queue_filtered(ticket_visible_to(viewer), filters)]
    if not getattr(viewer, "is_authenticated", False) or not viewer.is_active:
        return None
    spec = Ticket.scope
    scope = viewer.data_scope()
    if spec.owner is not None or spec.project != "project":
        return None
    if scope.level in (Level.OWN, Level.TEAM, Level.PROJECT):
        project_ids = sorted(scope.project_ids)
    elif (scope.level == Level.COMPANY and spec.company == "project__company"
          and connection.vendor == "sqlite"):
        # the companies' projects, on SQLite only: with one walk over the project join SQLite
        # read every project's running clocks through `ticket_project_due_idx` and sorted them
        # all (72-81 ms a page at 200k, 50 by parts); PostgreSQL walks `ticket_running_due_idx`
        # in order for a company, and 20 parts cost it more in planning (66-77 ms, 35-56 in
        # one walk; a second page 180-225 ms)
        project_ids = list(Project.objects.filter(company_id__in=scope.company_ids)
                           .order_by("id").values_list("id", flat=True)[:QUEUE_MAX_PARTS + 1])
    else:
        return None
    if len(project_ids) > QUEUE_MAX_PARTS:
        return None
    plain = _queue_filtered(Ticket.objects.all(), filters)
    return ([plain.filter(project_id=pk) for pk in project_ids]
            + [plain.filter(received_by_id=viewer.pk), plain.filter(assignee_user_id=viewer.pk)])


def _queue_read(viewer, rows: QuerySet[Ticket], parts: list[QuerySet[Ticket]] | None,
                order: tuple[str, ...], limit: int) -> list[Ticket]:
    """The first `limit` of `rows` in `order`. With parts (each already narrowed like `rows`):
    each part's first `limit` (an ordered walk of its partial index: `ticket_project_due_idx`,
    `ticket_received_due_idx`, `ticket_assignee_due_idx` for running clocks) in one UNION
    ALL, then those few tickets through the scope, in order — the first `limit` of the whole
    are among them. A ticket in two parts counts once."""
    if limit <= 0:
        return []
    if parts is None:
        return list(rows.select_related(*QUEUE_RELATED).order_by(*order)[:limit])
    pieces, params = [], []
    for n, part in enumerate(parts):
        query = part.order_by(*order).values(queue_id=F("pk"))[:limit].query
        try:
            sql, args = query.sql_with_params()
        except EmptyResultSet:
            continue
        # a name of its own: a bare `id` would also match the outer query's tables
        pieces.append(f"SELECT queue_id FROM ({sql}) AS part{n}")  # noqa: S608
        params.extend(args)
    if not pieces:
        return []
    ids = RawSQL(" UNION ALL ".join(pieces), params)  # noqa: S611 (Django-compiled parts)
    return list(ticket_visible_to(viewer).filter(pk__in=ids).select_related(*QUEUE_RELATED)
                .order_by(*order)[:limit])


def _queue_after(rows: QuerySet[Ticket], *, running: bool,
                 after: tuple[dt.datetime | None, int] | None) -> QuerySet[Ticket]:
    """Running clocks (after the keyset's deadline and id) or stopped ones (after its id)."""
    if running:
        rows = rows.filter(next_due__isnull=False)
        if after is not None:
            due, pk = after
            rows = rows.filter(Q(next_due__gt=due) | Q(next_due=due, pk__gt=pk))
        return rows
    rows = rows.filter(next_due__isnull=True)
    if after is not None and after[0] is None:
        rows = rows.filter(pk__gt=after[1])
    return rows


def ticket_queue(*, viewer, filters: QueueFilters | None = None,
                 after: tuple[dt.datetime | None, int] | None = None,
                 limit: int = QUEUE_PAGE) -> list[Ticket]:
    """Open tickets in the viewer's scope, the nearest deadline first (stopped clocks last),
    paged by keyset on (next_due, id). Two plain orderings instead of one NULLS LAST, so
    both databases walk the running-clock indexes in order and stop at `limit`; the running
    clocks of a scope of projects are read part by part (`_queue_parts`)."""
    filters = filters or QueueFilters()
    rows = _queue_filtered(ticket_visible_to(viewer), filters)
    parts = _queue_parts(viewer, filters)
    found: list[Ticket] = []
    if after is None or after[0] is not None:
        found = _queue_read(
            viewer, _queue_after(rows, running=True, after=after),
            None if parts is None else [_queue_after(p, running=True, after=after)
                                        for p in parts],
            ("next_due", "id"), limit)
    if len(found) < limit:
        # stopped clocks, one part per open status: each an id-ordered walk of
        # `ticket_stopped_idx (status, id) WHERE next_due IS NULL` that stops at the page
        # size. In one read, SQLite (which keeps an average per status, not that the open
        # ones have few clockless rows) scanned the whole table past every finished ticket.
        stopped = _queue_after(rows, running=False, after=after)
        statuses = [filters.status] if filters.status else list(OPEN_STATUSES)
        found += _queue_read(viewer, stopped, [stopped.filter(status=status)
                                               for status in statuses],
                             ("id",), limit - len(found))
    return found


def worker_tasks(*, worker) -> list[Ticket]:
    """The worker's own tasks still to do, by deadline."""
    return list(Ticket.objects.filter(
        assignee_user=worker,
        status__in=(TicketStatus.DISPATCHED, TicketStatus.ACCEPTED, TicketStatus.IN_PROGRESS))
        .select_related("project", "unit", "location", "component", "category")
        .order_by(F("task_deadline").asc(nulls_last=True), "id"))


def callbacks_due(*, viewer, limit: int = QUEUE_PAGE) -> list[Ticket]:
    return list(ticket_visible_to(viewer).filter(status=TicketStatus.CLOSED,
                                                 callback_due__isnull=False)
                .select_related("project", "unit", "customer")
                .order_by("callback_due", "id")[:limit])


def tickets_for_customer(*, customer_id: int, owner_view: bool = True) -> QuerySet[Ticket]:
    """A customer's tickets, newest first; `owner_view` keeps only those the owner may see
    (the portal's list). Not scoped: the caller has authorised the viewer for the customer."""
    rows = Ticket.objects.filter(customer_id=customer_id)
    if owner_view:
        rows = rows.filter(owner_visible=True).exclude(status=TicketStatus.MERGED)
    return rows.select_related("project", "unit", "location", "component",
                               "category").order_by("-id")


def tickets_for_customer_section(*, viewer, customer_id: int, limit: int = 20
                                 ) -> list[Ticket]:
    return list(ticket_visible_to(viewer).filter(customer_id=customer_id)
                .select_related("project", "unit").order_by("-id")[:limit])


def ticket_callback_of_round(*, ticket: Ticket) -> TicketCallback | None:
    return TicketCallback.objects.filter(ticket=ticket, round=ticket.round).first()
