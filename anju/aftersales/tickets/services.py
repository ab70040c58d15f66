"""Every write of tickets: one function per business action, keyword-only, atomic.

A move locks the ticket row, checks the action against the type's flow (`flows.check`),
updates the row, recomputes the SLA clocks (`sla.refresh`) and appends a `TicketEvent`, all
in one transaction; notifications go out through `notify` (outside channels on commit).
A refused move raises `IllegalMove` with the reason; bad input `ValidationError` naming
the field; a ticket outside the actor's view `PermissionDenied`."""

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.models import Project, Team, User
from anju.aftersales.models import (
    Component,
    Location,
    ProblemCategory,
    ProblemDescription,
    Ticket,
    TicketCallback,
    TicketChannel,
    TicketEvent,
    TicketPhoto,
    TicketStatus,
    TicketType,
    TicketUrgency,
)
from anju.core.notifications import notify

from . import library, sla
from .calendar import SHANGHAI, WorkingTime
from .flows import IllegalMove, check, flow_for
from .photos import MAX_PHOTOS, photo_clean
from .selectors import is_service_staff, ticket_visible_to
from .signals import ticket_completed

__all__ = [
    "IllegalMove",
    "ticket_accept",
    "ticket_callback",
    "ticket_cancel",
    "ticket_close",
    "ticket_complete",
    "ticket_confirm",
    "ticket_create",
    "ticket_dispatch",
    "ticket_hand_over",
    "ticket_merge",
    "ticket_note",
    "ticket_rate",
    "ticket_redispatch",
    "ticket_reject",
    "ticket_reopen",
    "ticket_resume",
    "ticket_start",
    "ticket_task",
    "ticket_transfer",
    "ticket_wait_owner",
]

REPEAT_WINDOW = dt.timedelta(days=365)  # a repair of the same component within: a repeat
REOPEN_AT_OR_BELOW = 2  # a callback score this low reopens a ticket that had work done
MAX_TEXT = 2000


def _actor_name(actor: Any) -> str:
    return str(actor)[:100] if actor is not None else ""


def _user_or_none(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


def _event(ticket: Ticket, kind: str, *, actor: Any, from_status: str = "",
           note: str = "", data: dict | None = None, owner_visible: bool = True) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, kind=kind, from_status=from_status,
        to_status=ticket.status if from_status else "", actor=_user_or_none(actor),
        actor_name=_actor_name(actor), note=note[:MAX_TEXT], data=data or {},
        owner_visible=owner_visible)


def _url(ticket: Ticket) -> str:
    return reverse("aftersales:ticket_detail", args=[ticket.pk])


def _require_staff(actor: Any) -> None:
    if not is_service_staff(actor):
        raise PermissionDenied(_("Only customer-service staff may do this."))


def _lock(*, actor: Any, ticket_id: int, staff: bool = True) -> Ticket:
    """The ticket row, locked; staff actors must see it."""
    rows = Ticket.objects.select_for_update(of=("self",))
    if staff:
        rows = rows.filter(pk__in=ticket_visible_to(actor).filter(pk=ticket_id).values("pk"))
    found = rows.filter(pk=ticket_id).first()
    if found is None:
        raise PermissionDenied(_("You may not change this ticket."))
    return found


def _calendar(ticket: Ticket) -> WorkingTime:
    company_id = Project.objects.filter(pk=ticket.project_id).values_list(
        "company_id", flat=True).first()
    return WorkingTime.for_company(company_id)


def _save(ticket: Ticket, fields: Iterable[str], *, expect_status: str) -> None:
    """Conditional UPDATE on the status read under the lock (belt and braces on SQLite)."""
    names = sorted(set(fields) | {"updated_at"})
    ticket.updated_at = timezone.now()
    changed = Ticket.objects.filter(pk=ticket.pk, status=expect_status).update(
        **{name: getattr(ticket, name) for name in names})
    if changed != 1:
        raise IllegalMove(_("The ticket changed meanwhile: reload it and try again."),
                          code="state_changed")


def _move(ticket: Ticket, action: str, *, actor: Any, note: str = "",
          data: dict | None = None, fields: Iterable[str] = (), owner_visible: bool = True,
          now: dt.datetime | None = None) -> Ticket:
    now = now or timezone.now()
    before = ticket.status
    ticket.status = check(ticket, action) if action != "create" else before
    fields = set(fields) | {"status"}
    if action not in ("note", "wait_owner", "resume") and ticket.responded_at is None \
            and _user_or_none(actor) is not None and is_service_staff(actor):
        ticket.responded_at = now
        fields.add("responded_at")
    fields |= set(sla.refresh(ticket, _calendar(ticket), now=now))
    _save(ticket, fields, expect_status=before)
    _event(ticket, action, actor=actor, from_status=before, note=note, data=data,
           owner_visible=owner_visible)
    return ticket


# ---------------------------------------------------------------- reception


def _text(value: Any, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError({field: _("This field is required.")})
    if len(text) > limit:
        raise ValidationError({field: _("At most %(n)s characters.") % {"n": limit}})
    return text


def _choice(value: str, choices, field: str) -> str:
    if value not in choices.values:
        raise ValidationError({field: _("Choose one of the offered values.")})
    return value


def _library_row(model, pk: int | None, company_id: int, field: str, *, required: bool):
    if not pk:
        if required:
            raise ValidationError({field: _("This field is required.")})
        return None
    company_path = "category__company_id" if model is ProblemDescription else "company_id"
    row = model.objects.filter(pk=pk, **{company_path: company_id}).first()
    if row is None:
        raise ValidationError({field: _("Not in this company's problem library.")})
    return row


@transaction.atomic
def ticket_create(*, actor: Any, customer_id: int | None, unit_id: int | None = None,
                  project_id: int | None = None, public_area: str = "",
                  location_id: int | None = None, component_id: int | None = None,
                  category_id: int | None = None, description_id: int | None = None,
                  description: str, urgency: str = TicketUrgency.NORMAL,
                  ticket_type: str = TicketType.REPAIR,
                  channel: str = TicketChannel.CALL_CENTRE, photos: Iterable[Any] = (),
                  owner_visible: bool = True, praised_team_id: int | None = None,
                  first_line: bool = False, on_behalf_of_owner: bool = False,
                  now: dt.datetime | None = None) -> Ticket:
    """Receives a ticket (接待). Staff must see the unit's project; the portal passes the owner
    as actor with `on_behalf_of_owner=True` after checking the unit is theirs."""
    from anju.customers.models import Customer
    from anju.property.models import Unit

    now = now or timezone.now()
    ticket_type = _choice(ticket_type, TicketType, "ticket_type")
    channel = _choice(channel, TicketChannel, "channel")
    urgency = _choice(urgency, TicketUrgency, "urgency")
    description = _text(description, "description")
    public_area = _text(public_area, "public_area", required=False, limit=100)
    unit = building = None
    if unit_id:
        unit = Unit.objects.select_related("building__project").filter(pk=unit_id).first()
        if unit is None:
            raise ValidationError({"unit": _("No such unit.")})
        building = unit.building
        project = building.project
        if project_id and project_id != project.pk:
            raise ValidationError({"unit": _("The unit is not in the chosen project.")})
    elif project_id:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise ValidationError({"project": _("No such project.")})
    else:
        raise ValidationError({"unit": _("Choose the unit, or the project and public area.")})
    if unit is None and not public_area and ticket_type in (
            TicketType.REPAIR, TicketType.SELF_INSPECTION):
        raise ValidationError({"public_area": _("Name the public area, or choose a unit.")})
    if not on_behalf_of_owner:
        _require_staff(actor)
        if not Project.objects.visible_to(actor).filter(pk=project.pk).exists():
            raise PermissionDenied(_("This project is outside your data scope."))
    customer = None
    if customer_id:
        customer = Customer.objects.filter(pk=customer_id, company_id=project.company_id,
                                           merged_into__isnull=True).first()
        if customer is None:
            raise ValidationError({"customer": _("No such customer in this company.")})
    elif ticket_type not in (TicketType.SELF_INSPECTION,) and unit is not None:
        raise ValidationError({"customer": _("Choose the owner who reports it.")})
    company_id = project.company_id
    needs_problem = ticket_type in (TicketType.REPAIR, TicketType.SELF_INSPECTION)
    location = _library_row(Location, location_id, company_id, "location",
                            required=needs_problem)
    component = _library_row(Component, component_id, company_id, "component",
                             required=needs_problem)
    category = _library_row(ProblemCategory, category_id, company_id, "category",
                            required=needs_problem)
    described = _library_row(ProblemDescription, description_id, company_id, "description",
                             required=False)
    if component is not None and component.children.exists():
        raise ValidationError({"component": _("Choose the most precise component (a leaf).")})
    if component is not None and category is not None and not component.categories.filter(
            pk=category.pk).exists():
        raise ValidationError({"category": _("This category does not apply to the component.")})
    praised_team = None
    if praised_team_id:
        praised_team = Team.objects.filter(pk=praised_team_id).first()
        if praised_team is None:
            raise ValidationError({"praised_team": _("No such team.")})
    photos = list(photos)
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": _("At most %(n)s photos.") % {"n": MAX_PHOTOS}})
    cleaned = [photo_clean(photo) for photo in photos]

    verdict = library.warranty_verdict(component=component, unit_id=unit_id,
                                       ticket_type=ticket_type,
                                       on=now.astimezone(SHANGHAI).date())
    title = library.ticket_title(
        project_name=project.name, building_name=building.name if building else "",
        unit_label=unit.number if unit else "", public_area=public_area, location=location,
        component=component, category=category, description=description)
    repeat = bool(unit is not None and component is not None and ticket_type in (
        TicketType.REPAIR, TicketType.SELF_INSPECTION) and Ticket.objects.filter(
        unit=unit, component=component, created_at__gte=now - REPEAT_WINDOW,
        ticket_type__in=(TicketType.REPAIR, TicketType.SELF_INSPECTION)).exclude(
        status__in=(TicketStatus.MERGED, TicketStatus.CANCELLED)).exists())
    ticket = Ticket(
        repeat=repeat, number=f"new-{uuid.uuid4().hex[:20]}", ticket_type=ticket_type,
        channel=channel, urgency=urgency, project=project, customer=customer,
        building=building, unit=unit, public_area=public_area, location=location,
        component=component, category=category, description_ref=described,
        description=description, title=title, owner_visible=owner_visible,
        received_by=_user_or_none(actor), first_line=first_line, praised_team=praised_team,
        **verdict)
    ticket.sla_seconds = sla.policy_for(company_id=company_id, ticket_type=ticket_type,
                                        category_id=category.pk if category else None,
                                        urgency=urgency)
    ticket.save()
    ticket.created_at = now
    ticket.number = f"GD{now.astimezone(SHANGHAI):%y%m%d}{ticket.pk:06d}"
    wt = WorkingTime.for_company(company_id)
    if is_service_staff(actor) and not on_behalf_of_owner:
        ticket.responded_at = now  # an agent typed it in: that is the first response
    sla.refresh(ticket, wt, now=now)
    ticket.save()
    if described is not None:
        ProblemDescription.objects.filter(pk=described.pk).update(uses=F("uses") + 1)
    for content, width, height in cleaned:
        photo = TicketPhoto(ticket=ticket, stage=TicketPhoto.Stage.RECEPTION, width=width,
                            height=height, size=content.size,
                            uploaded_by=_user_or_none(actor))
        photo.image.save(content.name, content, save=True)
    _event(ticket, "create", actor=actor, from_status="", data={
        "channel": channel, "photos": len(cleaned), "in_warranty": verdict["in_warranty"]})
    return ticket


# ---------------------------------------------------------------- the flow


@transaction.atomic
def ticket_task(*, actor: Any, ticket_id: int, note: str = "") -> Ticket:
    """Turns the reception into a task (任务)."""
    _require_staff(actor)
    ticket = _lock(actor=actor, ticket_id=ticket_id)
    return _move(ticket, "task", actor=actor, note=_text(note, "note", required=False))


def _assignee(*, project_id: int, user_id: int | None, team_id: int | None,
              contractor: str) -> dict:
    contractor = _text(contractor, "contractor", required=False, limit=100)
    if not (user_id or team_id or contractor):
        raise ValidationError({"assignee": _(
            "Choose a worker, a department or team, or name a contractor.")})
    user = team = None
    if user_id:
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            raise ValidationError({"assignee_user": _("No such active user.")})
    if team_id:
        team = Team.objects.filter(pk=team_id).first()
        if team is None:
            raise ValidationError({"assignee_team": _("No such team.")})
    return {"assignee_user": user, "assignee_team": team, "assignee_contractor": contractor}


def _deadline(value: dt.datetime | None, *, now: dt.datetime) -> dt.datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=SHANGHAI)
    if value <= now:
        raise ValidationError({"deadline": _("The deadline must be in the future.")})
    return value


def _dispatch(action: str, *, actor: Any, ticket_id: int, user_id: int | None,
              team_id: int | None, contractor: str, deadline: dt.datetime | None,
              note: str) -> Ticket:
    _require_staff(actor)
    now = timezone.now()
    ticket = _lock(actor=actor, ticket_id=ticket_id)
    flow = flow_for(ticket.ticket_type)
    if flow.route_to_praised_team:
        team_id = team_id or ticket.praised_team_id
        if not team_id:
            raise ValidationError({"assignee_team": _("Choose the praised team.")})
        user_id, contractor = None, ""
    who = _assignee(project_id=ticket.project_id, user_id=user_id, team_id=team_id,
                    contractor=contractor)
    check(ticket, action)
    for name, value in who.items():
        setattr(ticket, name, value)
    ticket.task_deadline = _deadline(deadline, now=now) or ticket.resolve_due
    fields = [*who, "task_deadline"]
    _move(ticket, action, actor=actor, note=_text(note, "note", required=False),
          fields=fields, now=now, data={
              "user": who["assignee_user"].pk if who["assignee_user"] else None,
              "user_name": str(who["assignee_user"] or ""),
              "team": str(who["assignee_team"] or ""), "contractor": who["assignee_contractor"],
              "deadline": ticket.task_deadline.isoformat() if ticket.task_deadline else None})
    recipients = [who["assignee_user"]] if who["assignee_user"] else []
    if who["assignee_team"] and who["assignee_team"].leader_id:
        recipients.append(who["assignee_team"].leader)
    title = (_("Praise for your team: %(title)s") if flow.route_to_praised_team
             else _("New task %(number)s: %(title)s"))
    notify(recipients=recipients, kind="ticket.dispatched",
           title=title % {"number": ticket.number, "title": ticket.title}, url=_url(ticket))
    return ticket


@transaction.atomic
def ticket_dispatch(*, actor: Any, ticket_id: int, user_id: int | None = None,
                    team_id: int | None = None, contractor: str = "",
                    deadline: dt.datetime | None = None, note: str = "") -> Ticket:
    """派单: sends the task to a worker, a department/team or a contractor with a deadline
    (default: the resolution deadline). A praise goes to the praised team."""
    return _dispatch("dispatch", actor=actor, ticket_id=ticket_id, user_id=user_id,
                     team_id=team_id, contractor=contractor, deadline=deadline, note=note)


@transaction.atomic
def ticket_redispatch(*, actor: Any, ticket_id: int, user_id: int | None = None,
                      team_id: int | None = None, contractor: str = "",
                      deadline: dt.datetime | None = None, note: str = "") -> Ticket:
    """Sends the task to someone else (the first assignee could not do it)."""
    return _dispatch("redispatch", actor=actor, ticket_id=ticket_id, user_id=user_id,
                     team_id=team_id, contractor=contractor, deadline=deadline, note=note)


def _lock_for_worker(*, actor: Any, ticket_id: int) -> Ticket:
    ticket = _lock(actor=actor, ticket_id=ticket_id)
    if not is_service_staff(actor) and ticket.assignee_user_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("Only the assigned worker or service staff may do this."))
    return ticket


@transaction.atomic
def ticket_accept(*, actor: Any, ticket_id: int, note: str = "") -> Ticket:
    ticket = _lock_for_worker(actor=actor, ticket_id=ticket_id)
    return _move(ticket, "accept", actor=actor, note=_text(note, "note", required=False))


@transaction.atomic
def ticket_start(*, actor: Any, ticket_id: int, note: str = "") -> Ticket:
    """The worker is on site and starts: the on-site clock stops."""
    now = timezone.now()
    ticket = _lock_for_worker(actor=actor, ticket_id=ticket_id)
    check(ticket, "start")
    ticket.onsite_at = ticket.onsite_at or now
    return _move(ticket, "start", actor=actor, note=_text(note, "note", required=False),
                 fields=["onsite_at"], now=now)


def _add_photos(ticket: Ticket, photos: list, stage: str, actor: Any) -> int:
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": _("At most %(n)s photos.") % {"n": MAX_PHOTOS}})
    cleaned = [photo_clean(photo) for photo in photos]
    for content, width, height in cleaned:
        photo = TicketPhoto(ticket=ticket, stage=stage, width=width, height=height,
                            size=content.size, uploaded_by=_user_or_none(actor))
        photo.image.save(content.name, content, save=True)
    return len(cleaned)


@transaction.atomic
def ticket_complete(*, actor: Any, ticket_id: int, note: str = "",
                    photos: Iterable[Any] = ()) -> Ticket:
    """The worker reports the work done, with photos; the ticket now waits for the owner's
    confirmation (the resolution clock stops here)."""
    now = timezone.now()
    ticket = _lock_for_worker(actor=actor, ticket_id=ticket_id)
    check(ticket, "complete")
    photos = list(photos)
    needs_photo = ticket.ticket_type in (TicketType.REPAIR, TicketType.SELF_INSPECTION)
    if needs_photo and not photos:
        raise ValidationError({"photos": _("Add at least one photo of the finished work.")})
    count = _add_photos(ticket, photos, TicketPhoto.Stage.COMPLETION, actor)
    ticket.resolved_at = now
    ticket.onsite_at = ticket.onsite_at or now
    _move(ticket, "complete", actor=actor, note=_text(note, "note", required=False),
          fields=["resolved_at", "onsite_at"], data={"photos": count}, now=now)
    if ticket.customer_id and ticket.owner_visible:
        _notify_agents(ticket, _("Ticket %(number)s completed: waiting for the owner")
                       % {"number": ticket.number})
    transaction.on_commit(lambda: ticket_completed.send(sender=Ticket, ticket_id=ticket.pk))
    return ticket


def _notify_agents(ticket: Ticket, title: str) -> None:
    if ticket.received_by_id:
        notify(recipients=[ticket.received_by], kind="ticket.progress", title=title,
               body=ticket.title, url=_url(ticket))


@transaction.atomic
def ticket_confirm(*, actor: Any, ticket_id: int, on_behalf: bool = False,
                   customer_id: int | None = None, note: str = "") -> Ticket:
    """确认: the owner confirms the work (the portal calls this with the owner as actor and
    `customer_id` of the signed-in owner, after its own check), or an agent does it on the
    owner's behalf (`on_behalf=True`, staff scope checked)."""
    if on_behalf:
        _require_staff(actor)
    ticket = _lock(actor=actor, ticket_id=ticket_id, staff=on_behalf)
    if not on_behalf and (customer_id is None or ticket.customer_id != customer_id
                          or not ticket.owner_visible):
        raise PermissionDenied(_("You may not change this ticket."))
    if not flow_for(ticket.ticket_type).owner_confirms and not on_behalf:
        raise IllegalMove(_("This ticket needs no confirmation by the owner."),
                          code="not_in_flow")
    now = timezone.now()
    check(ticket, "confirm")
    ticket.confirmed_at = now
    return _move(ticket, "confirm", actor=actor, fields=["confirmed_at"], now=now,
                 note=_text(note, "note", required=False),
                 data={"on_behalf": on_behalf})


@transaction.atomic
def ticket_reject(*, actor: Any, ticket_id: int, reason: str, on_behalf: bool = True,
                  customer_id: int | None = None) -> Ticket:
    """The owner does not accept the work: back to the assignee."""
    if on_behalf:
        _require_staff(actor)
    ticket = _lock(actor=actor, ticket_id=ticket_id, staff=on_behalf)
    if not on_behalf and (customer_id is None or ticket.customer_id != customer_id):
        raise PermissionDenied(_("You may not change this ticket."))
    reason = _text(reason, "reason")
    check(ticket, "reject")
    ticket.resolved_at = None
    _move(ticket, "reject", actor=actor, note=reason, fields=["resolved_at"])
    if ticket.assignee_user_id:
        notify(recipients=[ticket.assignee_user], kind="ticket.rejected",
               title=_("Ticket %(number)s: the owner did not accept the work")
               % {"number": ticket.number}, body=reason, url=_url(ticket))
    return ticket


@transaction.atomic
def ticket_close(*, actor: Any, ticket_id: int, note: str = "") -> Ticket:
    """关闭. A consultation may close at once (the answer is the note); a type that needs a
    callback starts its callback clock."""
    _require_staff(actor)
    now = timezone.now()
    ticket = _lock(actor=actor, ticket_id=ticket_id)
    check(ticket, "close")
    note = _text(note, "note", required=ticket.ticket_type == TicketType.CONSULTATION)
    ticket.closed_at = now
    ticket.resolved_at = ticket.resolved_at or now
    ticket.sla_paused_at = None
    return _move(ticket, "close", actor=actor, note=note,
                 fields=["closed_at", "resolved_at", "sla_paused_at"], now=now)


def _record_satisfaction(ticket: Ticket, *, source: str, actor: Any, score: Any,
                         comment: str) -> TicketCallback:
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationError({"score": _("Give a score from 1 to 5.")})
    comment = _text(comment, "comment", required=False)
    if TicketCallback.objects.filter(ticket=ticket, round=ticket.round).exists():
        raise IllegalMove(_("The satisfaction of this ticket is already recorded."),
                          code="already_recorded")
    try:
        with transaction.atomic():
            return TicketCallback.objects.create(ticket=ticket, round=ticket.round,
                                                 source=source, score=score,
                                                 comment=comment, actor=_user_or_none(actor))
    except IntegrityError as exc:
        raise IllegalMove(_("The satisfaction of this ticket is already recorded."),
                          code="already_recorded") from exc


def _after_satisfaction(ticket: Ticket, record: TicketCallback, *, actor: Any,
                        kind: str) -> Ticket:
    now = timezone.now()
    ticket.satisfaction = record.score
    fields = ["satisfaction"]
    flow = flow_for(ticket.ticket_type)
    if "callback" in flow.moves and ticket.status == TicketStatus.CLOSED:
        _move(ticket, "callback", actor=actor, fields=fields, note=record.comment, now=now,
              data={"score": record.score, "source": record.source, "kind": kind})
    else:
        _save(ticket, fields, expect_status=ticket.status)
        _event(ticket, kind, actor=actor, note=record.comment,
               data={"score": record.score, "source": record.source})
    worked = ticket.ticket_type in (TicketType.REPAIR, TicketType.SELF_INSPECTION,
                                    TicketType.COMPLAINT)
    if worked and record.score <= REOPEN_AT_OR_BELOW and "reopen" in flow.moves:
        TicketCallback.objects.filter(pk=record.pk).update(reopened=True)
        _reopen(ticket, actor=actor, reason=_("Unsatisfied at the callback (score %(s)s).")
                % {"s": record.score}, now=now)
    return ticket


@transaction.atomic
def ticket_callback(*, actor: Any, ticket_id: int, score: int, comment: str = "") -> Ticket:
    """回访: the agent calls the owner after closing; satisfaction 1–5 and a comment,
    recorded once per round (a second attempt is refused; the database's unique constraint
    refuses it under a race too). A score of 2 or less reopens a ticket that had work."""
    _require_staff(actor)
    ticket = _lock(actor=actor, ticket_id=ticket_id)
    if ticket.status != TicketStatus.CLOSED:
        if TicketCallback.objects.filter(ticket=ticket, round=ticket.round).exists():
            raise IllegalMove(_("The satisfaction of this ticket is already recorded."),
                              code="already_recorded")
        check(ticket, "callback")
    record = _record_satisfaction(ticket, source=TicketCallback.Source.AGENT, actor=actor,
                                  score=score, comment=comment)
    return _after_satisfaction(ticket, record, actor=actor, kind="callback")


@transaction.atomic
def ticket_rate(*, actor: Any, ticket_id: int, score: int, comment: str = "",
                customer_id: int | None = None) -> Ticket:
    """The owner's own rating (portal): counts as the callback of this round. The portal
    passes the signed-in owner's `customer_id`; staff relaying it need the ticket in scope."""
    staff = customer_id is None
    if staff:
        _require_staff(actor)
    ticket = _lock(actor=actor, ticket_id=ticket_id, staff=staff)
    if not staff and (ticket.customer_id != customer_id or not ticket.owner_visible):
        raise PermissionDenied(_("You may not change this ticket."))
    if ticket.status not in (TicketStatus.CONFIRMED, TicketStatus.CLOSED,
                             TicketStatus.CALLED_BACK):
        raise IllegalMove(_("The ticket is %(status)s: it can be rated once it is confirmed.")
                          % {"status": ticket.get_status_display()}, code="wrong_status")
    record = _record_satisfaction(ticket, source=TicketCallback.Source.OWNER, actor=actor,
                                  score=score, comment=comment)
    return _after_satisfaction(ticket, record, actor=actor, kind="rate")


def _reopen(ticket: Ticket, *, actor: Any, reason: str, now: dt.datetime) -> Ticket:
    check(ticket, "reopen")
    ticket.round += 1
    ticket.closed_at = ticket.confirmed_at = ticket.resolved_at = ticket.onsite_at = None
    # the new round's clocks run from now: shift by what has passed since reception
    wt = _calendar(ticket)
    ticket.sla_paused_seconds = wt.between(ticket.created_at, now)
    ticket.sla_paused_at = None
    ticket.escalation_level = 0
    return _move(ticket, "reopen", actor=actor, note=reason, now=now, fields=[
        "round", "closed_at", "confirmed_at", "resolved_at", "onsite_at",
        "sla_paused_seconds", "sla_paused_at", "escalation_level"])


@transaction.atomic
def ticket_reopen(*, actor: Any, ticket_id: int, reason: str) -> Ticket:
    _require_staff(actor)
    ticket = _lock(actor=actor, ticket_id=ticket_id)
    return _reopen(ticket, actor=actor, reason=_text(reason, "reason"), now=timezone.now())


@transaction.atomic
def ticket_transfer(*, actor: Any, ticket_id: int, team_id: int | None = None,
                    agent_id: int | None = None, reason: str = "") -> Ticket:
    """Moves the ticket to another team or agent for handling (not a re-dispatch)."""
    _require_staff(actor)
    ticket = _lock(actor=actor, ticket_id=ticket_id)
    check(ticket, "transfer")
    fields = []
    if team_id:
        team = Team.objects.filter(pk=team_id).first()
        if team is None:
            raise ValidationError({"team": _("No such team.")})
        ticket.assignee_team = team
        fields.append("assignee_team")
    if agent_id:
        agent = User.objects.filter(pk=agent_id, is_active=True).first()
        if agent is None:
            raise ValidationError({"agent": _("No such active user.")})
        ticket.received_by = agent
        fields.append("received_by")
    if not fields:
        raise ValidationError({"team": _("Choose a team or an agent.")})
    _move(ticket, "transfer", actor=actor, note=_text(reason, "reason", required=False),
          fields=fields, data={"team": team_id, "agent": agent_id})
    if agent_id:
        notify(recipients=[ticket.received_by], kind="ticket.transferred",
               title=_("Ticket %(number)s transferred to you") % {"number": ticket.number},
               url=_url(ticket))
    return ticket


@transaction.atomic
def ticket_hand_over(*, actor: Any, ticket_id: int, team_id: int, note: str = "") -> Ticket:
    """一线处理: headquarters received the complaint and hands it to the project's team;
    the receiving agent keeps seeing it (`received_by`)."""
    _require_staff(actor)
    ticket = _lock(actor=actor, ticket_id=ticket_id)
    check(ticket, "hand_over")
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ValidationError({"team": _("No such team.")})
    if team.project_id and team.project_id != ticket.project_id:
        raise ValidationError({"team": _("The team belongs to another project.")})
    ticket.assignee_team = team
    ticket.first_line = True
    _move(ticket, "hand_over", actor=actor, note=_text(note, "note", required=False),
          fields=["assignee_team", "first_line"], data={"team": team.name})
    if team.leader_id:
        notify(recipients=[team.leader], kind="ticket.handed_over",
               title=_("Complaint %(number)s handed to your team") % {"number": ticket.number},
               url=_url(ticket))
    return ticket


@transaction.atomic
def ticket_wait_owner(*, actor: Any, ticket_id: int, reason: str) -> Ticket:
    """The ticket waits on the owner (not at home, must choose a date…): clocks stop."""
    ticket = _lock_for_worker(actor=actor, ticket_id=ticket_id)
    if ticket.sla_paused_at is not None:
        raise IllegalMove(_("The ticket is already waiting on the owner."), code="paused")
    now = timezone.now()
    check(ticket, "wait_owner")
    fields = sla.pause(ticket, now=now)
    return _move(ticket, "wait_owner", actor=actor, note=_text(reason, "reason"),
                 fields=fields, now=now)


@transaction.atomic
def ticket_resume(*, actor: Any, ticket_id: int, note: str = "") -> Ticket:
    ticket = _lock_for_worker(actor=actor, ticket_id=ticket_id)
    if ticket.sla_paused_at is None:
        raise IllegalMove(_("The ticket is not waiting on the owner."), code="not_paused")
    now = timezone.now()
    check(ticket, "resume")
    fields = sla.resume(ticket, _calendar(ticket), now=now)
    return _move(ticket, "resume", actor=actor, note=_text(note, "note", required=False),
                 fields=fields, now=now)


@transaction.atomic
def ticket_merge(*, actor: Any, ticket_id: int, into_id: int, note: str = "") -> Ticket:
    """Merges a duplicate into another open ticket of the same project; locks both rows in
    id order so two merges cannot deadlock."""
    _require_staff(actor)
    if ticket_id == into_id:
        raise ValidationError({"into": _("A ticket cannot be merged into itself.")})
    visible = ticket_visible_to(actor)
    rows = {t.pk: t for t in Ticket.objects.select_for_update(of=("self",))
            .filter(pk__in=visible.filter(pk__in=[ticket_id, into_id]).values("pk"))
            .order_by("pk")}
    if ticket_id not in rows:
        raise PermissionDenied(_("You may not change this ticket."))
    target = rows.get(into_id)
    if target is None:
        raise ValidationError({"into": _("No such ticket in your view.")})
    ticket = rows[ticket_id]
    if target.project_id != ticket.project_id:
        raise ValidationError({"into": _("Only tickets of the same project can be merged.")})
    if not target.is_open or target.merged_into_id:
        raise ValidationError({"into": _("The ticket to keep must be open.")})
    check(ticket, "merge")
    ticket.merged_into = target
    _move(ticket, "merge", actor=actor, note=_text(note, "note", required=False),
          fields=["merged_into"], data={"into": target.number})
    TicketPhoto.objects.filter(ticket=ticket).update(ticket=target)
    _event(target, "absorb", actor=actor, data={"from": ticket.number},
           note=ticket.description[:500])
    return ticket


@transaction.atomic
def ticket_cancel(*, actor: Any, ticket_id: int, reason: str) -> Ticket:
    _require_staff(actor)
    ticket = _lock(actor=actor, ticket_id=ticket_id)
    return _move(ticket, "cancel", actor=actor, note=_text(reason, "reason"))


@transaction.atomic
def ticket_note(*, actor: Any, ticket_id: int, note: str, owner_visible: bool = False,
                photos: Iterable[Any] = ()) -> Ticket:
    ticket = _lock_for_worker(actor=actor, ticket_id=ticket_id)
    check(ticket, "note")
    note = _text(note, "note")
    count = _add_photos(ticket, list(photos), TicketPhoto.Stage.RECEPTION, actor)
    _event(ticket, "note", actor=actor, note=note, owner_visible=owner_visible,
           data={"photos": count} if count else {})
    return ticket


@transaction.atomic
def ticket_owner_photos_add(*, actor: Any, ticket_id: int, customer_id: int,
                            photos: Iterable[Any]) -> int:
    """The owner adds photos to their own open ticket (portal)."""
    ticket = _lock(actor=actor, ticket_id=ticket_id, staff=False)
    if ticket.customer_id != customer_id or not ticket.owner_visible or not ticket.is_open:
        raise PermissionDenied(_("You may not change this ticket."))
    count = _add_photos(ticket, list(photos), TicketPhoto.Stage.RECEPTION, actor)
    _event(ticket, "photo", actor=actor, data={"photos": count})
    return count
