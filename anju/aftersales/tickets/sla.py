"""SLA clocks of a ticket: which policy applies, the deadlines in working time, the clock
that stops while the ticket waits on the owner, and the sweep that warns before a breach and
escalates after it, level by level.

Four clocks: response (an agent acts: task, dispatch, close…), on site (the worker starts),
resolve (work completed) run from reception; callback runs from closing. A ticket stores each
clock's length in working seconds (`sla_seconds`, from the policy at reception) and the
working seconds it spent waiting on the owner (`sla_paused_seconds`): every deadline is
`start + length + paused` in working time, so pausing and resuming only shift them."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.models import Role, ScopeLevel, User
from anju.aftersales.models import SlaPolicy, Ticket, TicketEvent, TicketStatus, TicketType
from anju.core.notifications import notify

from .calendar import WorkingTime
from .flows import flow_for

CLOCKS = ("response", "onsite", "resolve", "callback")
MAX_LEVEL = 3
H = Decimal
# Built-in policy (working hours) when a company has configured none: by type, then scaled
# by urgency. Complaints answer fastest; a consultation needs no visit.
DEFAULTS: dict[str, dict[str, Decimal | None]] = {
    TicketType.REPAIR: {"response": H(2), "onsite": H(16), "resolve": H(40),
                        "callback": H(16)},
    TicketType.SELF_INSPECTION: {"response": H(8), "onsite": H(24), "resolve": H(80),
                                 "callback": None},
    TicketType.COMPLAINT: {"response": H(1), "onsite": H(8), "resolve": H(24),
                           "callback": H(8)},
    TicketType.CONSULTATION: {"response": H(2), "onsite": None, "resolve": H(8),
                              "callback": None},
    TicketType.PRAISE: {"response": H(8), "onsite": None, "resolve": H(16), "callback": None},
}
URGENCY_FACTOR = {"low": H("2"), "normal": H("1"), "high": H("0.5"), "critical": H("0.25")}
DEFAULT_WARN_PERCENT = 80


def policy_for(*, company_id: int, ticket_type: str, category_id: int | None,
               urgency: str) -> dict:
    """Clock lengths in working seconds and the warning share: the most specific matching
    policy (category and urgency both set beats one of them, beats none), else DEFAULTS."""
    candidates = list(SlaPolicy.objects.filter(
        company_id=company_id, ticket_type=ticket_type)
        .filter(Q(category_id=category_id) | Q(category__isnull=True))
        .filter(Q(urgency=urgency) | Q(urgency="")))
    candidates.sort(key=lambda p: (p.category_id is None, p.urgency == ""))
    if candidates:
        policy = candidates[0]
        hours = {"response": policy.response_hours, "onsite": policy.onsite_hours,
                 "resolve": policy.resolve_hours, "callback": policy.callback_hours}
        warn = policy.warn_percent
    else:
        factor = URGENCY_FACTOR.get(urgency, H(1))
        hours = {k: (v * factor if v is not None else None)
                 for k, v in DEFAULTS[ticket_type].items()}
        warn = DEFAULT_WARN_PERCENT
    seconds = {k: int(H(v) * 3600) for k, v in hours.items() if v is not None}
    if not flow_for(ticket_type).callback_required:
        seconds.pop("callback", None)
    return {**seconds, "warn_percent": warn}


def _start(ticket: Ticket, clock: str) -> dt.datetime | None:
    return ticket.closed_at if clock == "callback" else ticket.created_at


def _done(ticket: Ticket, clock: str) -> bool:
    if clock == "response":
        return ticket.responded_at is not None
    if clock == "onsite":
        return ticket.onsite_at is not None or ticket.resolved_at is not None
    if clock == "resolve":
        return ticket.resolved_at is not None or ticket.status in (
            TicketStatus.CLOSED, TicketStatus.CALLED_BACK)
    return ticket.status != TicketStatus.CLOSED  # callback: running only while closed


def refresh(ticket: Ticket, wt: WorkingTime, *, now: dt.datetime | None = None) -> list[str]:
    """Recomputes the deadlines, the next one and the sweep's times on the object (not
    saved); returns the names of the changed fields."""
    now = now or timezone.now()
    seconds = ticket.sla_seconds or {}
    paused = ticket.sla_paused_seconds
    dues: dict[str, dt.datetime | None] = {}
    for clock in CLOCKS:
        length = seconds.get(clock)
        start = _start(ticket, clock)
        extra = 0 if clock == "callback" else paused
        dues[clock] = (wt.add_seconds(start, length + extra)
                       if length is not None and start is not None else None)
    ticket.response_due, ticket.onsite_due = dues["response"], dues["onsite"]
    ticket.resolve_due, ticket.callback_due = dues["resolve"], dues["callback"]
    running = [(due, clock) for clock, due in dues.items()
               if due is not None and not _done(ticket, clock)
               and ticket.status not in (TicketStatus.MERGED, TicketStatus.CANCELLED)]
    fields = ["response_due", "onsite_due", "resolve_due", "callback_due", "next_due",
              "next_clock", "warn_at", "escalate_at"]
    if not running or ticket.sla_paused_at is not None:
        ticket.next_due, ticket.next_clock = None, ""
        ticket.warn_at = ticket.escalate_at = None
        return fields
    due, clock = min(running)
    changed_clock = clock != ticket.next_clock
    ticket.next_due, ticket.next_clock = due, clock
    start = _start(ticket, clock)
    extra = 0 if clock == "callback" else paused
    warn = wt.add_seconds(start, int(seconds[clock] * seconds.get("warn_percent", 80) / 100)
                          + extra)
    if changed_clock:
        ticket.escalation_level = 0
        fields.append("escalation_level")
    if ticket.escalation_level == 0:
        ticket.warn_at = warn if warn < due else None
        ticket.escalate_at = due
    else:
        ticket.warn_at = None
        ticket.escalate_at = (wt.add_seconds(due, seconds[clock] * ticket.escalation_level)
                              if ticket.escalation_level < MAX_LEVEL else None)
    return fields


def pause(ticket: Ticket, *, now: dt.datetime) -> list[str]:
    ticket.sla_paused_at = now
    return ["sla_paused_at"]


def resume(ticket: Ticket, wt: WorkingTime, *, now: dt.datetime) -> list[str]:
    if ticket.sla_paused_at is None:
        return []
    ticket.sla_paused_seconds += wt.between(ticket.sla_paused_at, now)
    ticket.sla_paused_at = None
    return ["sla_paused_at", "sla_paused_seconds"]


# ---------------------------------------------------------------- recipients


def escalation_recipients(ticket: Ticket, level: int) -> list[User]:
    """Level 1: the project's service managers and the assigned team's leader; level 2: the
    company's service managers; level 3: the company's executives."""
    users = User.objects.filter(is_active=True)
    if level <= 1:
        found = list(users.filter(role__code=Role.Code.SERVICE_MANAGER,
                                  projects=ticket.project_id).distinct())
        if ticket.assignee_team_id and ticket.assignee_team.leader_id:
            found.append(ticket.assignee_team.leader)
        return found or escalation_recipients(ticket, 2)
    company_id = ticket.project.company_id
    code = Role.Code.SERVICE_MANAGER if level == 2 else Role.Code.EXECUTIVE
    found = list(users.filter(role__code=code).filter(
        Q(companies=company_id) | Q(scope_level=ScopeLevel.ALL)
        | Q(role__default_scope=ScopeLevel.ALL)).distinct())
    if not found and level == 2:
        return escalation_recipients(ticket, 3)
    return found


def _watchers(ticket: Ticket) -> list[User]:
    people = [u for u in (ticket.assignee_user, ticket.received_by) if u is not None]
    if ticket.assignee_team_id and ticket.assignee_team.leader_id:
        people.append(ticket.assignee_team.leader)
    return people


def clock_label(clock: str) -> str:
    return str({"response": _("response"), "onsite": _("on site"),
                "resolve": _("resolution"), "callback": _("callback")}.get(clock, clock))


# ---------------------------------------------------------------- the sweep


def sweep(*, now: dt.datetime | None = None, batch: int = 500) -> dict:
    """Warns tickets whose warning time has come and escalates those past their deadline to
    the next level. A batch of tickets is locked and re-checked (two sweeps never notify
    twice), its rows updated in one bulk UPDATE and its timeline events in one INSERT; each
    recipient gets one notification per batch and kind (naming the ticket when it is one,
    counting them otherwise)."""
    now = now or timezone.now()
    warned = escalated = 0
    calendars: dict[int, WorkingTime] = {}
    recipients_cache: dict[tuple, list[User]] = {}
    due = Q(warn_at__lte=now) | Q(escalate_at__lte=now)
    last_id = 0
    while True:
        ids = list(Ticket.objects.filter(due, pk__gt=last_id).order_by("pk")
                   .values_list("pk", flat=True)[:batch])
        if not ids:
            break
        last_id = ids[-1]
        with transaction.atomic():
            tickets = list(Ticket.objects.select_for_update(of=("self",))
                           .select_related("project", "assignee_user", "received_by",
                                           "assignee_team__leader")
                           .filter(due, pk__in=ids).order_by("pk"))
            events: list[TicketEvent] = []
            # (recipient id, kind, level) -> (recipient, [tickets])
            outbox: dict[tuple, tuple[User, list[Ticket]]] = {}
            for ticket in tickets:
                company_id = ticket.project.company_id
                wt = calendars.get(company_id)
                if wt is None:
                    wt = calendars[company_id] = WorkingTime.for_company(company_id)
                kind, recipients = _sweep_one(ticket, wt, now, recipients_cache)
                if kind == "escalate":
                    escalated += 1
                    events.append(TicketEvent(
                        ticket=ticket, kind="escalate", owner_visible=False,
                        data={"level": ticket.escalation_level, "clock": ticket.next_clock,
                              "to": [u.pk for u in recipients]}))
                else:
                    warned += 1
                    events.append(TicketEvent(ticket=ticket, kind="warn", owner_visible=False,
                                              data={"clock": ticket.next_clock}))
                level = ticket.escalation_level if kind == "escalate" else 0
                for user in recipients:
                    outbox.setdefault((user.pk, kind, level), (user, []))[1].append(ticket)
            Ticket.objects.bulk_update(tickets, ["escalation_level", "warn_at", "escalate_at"],
                                       batch_size=batch)
            TicketEvent.objects.bulk_create(events, batch_size=batch)
            for (_pk, kind, level), (user, items) in outbox.items():
                _send(user, kind, level, items)
    return {"warned": warned, "escalated": escalated}


def _sweep_one(ticket: Ticket, wt: WorkingTime, now: dt.datetime,
               cache: dict[tuple, list[User]]) -> tuple[str, list[User]]:
    """Moves one locked ticket's sweep fields on the object; returns what happened and who
    is told."""
    if ticket.escalate_at is not None and ticket.escalate_at <= now:
        level = ticket.escalation_level + 1
        ticket.escalation_level = level
        ticket.warn_at = None
        ticket.escalate_at = (wt.add_seconds(ticket.next_due,
                                             ticket.sla_seconds[ticket.next_clock] * level)
                              if level < MAX_LEVEL and ticket.next_due else None)
        key = (ticket.project_id, ticket.assignee_team_id, level)
        if key not in cache:
            cache[key] = escalation_recipients(ticket, level)
        return "escalate", _unique(cache[key] + _watchers(ticket))
    ticket.warn_at = None
    return "warn", _unique(_watchers(ticket))


def _unique(users: list[User]) -> list[User]:
    seen: dict[int, User] = {}
    for user in users:
        seen.setdefault(user.pk, user)
    return list(seen.values())


def _send(user: User, kind: str, level: int, tickets: list[Ticket]) -> None:
    first = tickets[0]
    if kind == "escalate":
        if len(tickets) == 1:
            title = _("Ticket %(number)s is past its %(clock)s deadline (level %(level)s)") % {
                "number": first.number, "clock": clock_label(first.next_clock),
                "level": level}
        else:
            title = _("%(n)s tickets are past their deadline (level %(level)s)") % {
                "n": len(tickets), "level": level}
        notify(recipients=[user], kind="ticket.escalated", level="urgent", title=title,
               body="\n".join(f"{t.number} {t.title}" for t in tickets[:50]),
               url=(reverse("aftersales:ticket_detail", args=[first.pk]) if len(tickets) == 1
                    else reverse("aftersales:ticket_queue") + "?breached=1"))
        return
    if len(tickets) == 1:
        title = _("Ticket %(number)s: %(clock)s deadline near") % {
            "number": first.number, "clock": clock_label(first.next_clock)}
    else:
        title = _("%(n)s tickets: deadline near") % {"n": len(tickets)}
    notify(recipients=[user], kind="ticket.deadline_near", level="warning", title=title,
           body="\n".join(f"{t.number} {t.title}" for t in tickets[:50]),
           url=(reverse("aftersales:ticket_detail", args=[first.pk]) if len(tickets) == 1
                else reverse("aftersales:ticket_queue")))
