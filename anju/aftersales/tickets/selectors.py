"""Every non-trivial read of tickets, starting from `ticket_visible_to(user)`.

A ticket has no owner: staff see the tickets of the projects in their data scope (the
`ScopeSpec`), and also, whatever their scope, the tickets they received (一线处理 keeps
headquarters' view after the hand-over) and the ones assigned to them (a worker's tasks)."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet
from django.http import Http404

from anju.accounts.models import Role
from anju.aftersales.models import (
    OPEN_STATUSES,
    Ticket,
    TicketCallback,
    TicketEvent,
    TicketPhoto,
    TicketStatus,
)

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


def ticket_queue(*, viewer, filters: QueueFilters | None = None,
                 after: tuple[dt.datetime | None, int] | None = None,
                 limit: int = QUEUE_PAGE) -> list[Ticket]:
    """Open tickets in the viewer's scope, the nearest deadline first (stopped clocks last),
    paged by keyset on (next_due, id). Two plain orderings instead of one NULLS LAST, so
    both databases walk the `ticket_open_due_idx` index in order and stop at `limit`."""
    filters = filters or QueueFilters()
    rows = ticket_visible_to(viewer).filter(status__in=OPEN_STATUSES)
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
    rows = rows.select_related("project", "unit", "assignee_user", "assignee_team",
                               "customer")
    found: list[Ticket] = []
    if after is None or after[0] is not None:
        running = rows.filter(next_due__isnull=False)
        if after is not None:
            due, pk = after
            running = running.filter(Q(next_due__gt=due) | Q(next_due=due, pk__gt=pk))
        found = list(running.order_by("next_due", "id")[:limit])
    if len(found) < limit:
        stopped = rows.filter(next_due__isnull=True)
        if after is not None and after[0] is None:
            stopped = stopped.filter(pk__gt=after[1])
        found += list(stopped.order_by("id")[:limit - len(found)])
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
