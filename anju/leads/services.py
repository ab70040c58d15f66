"""Every write of the leads app except agency registrations (`agency.py`): capture, grading,
assignment, the lead's life (contact, visit, invalid, lost, conversion), escalation, and the
configuration (channels, costs, sources, roster, rules, policy).

`lead_capture` is the one door of every capture path (app form, API, xlsx import, the QR
check-in page): normalise, check the ledger, grade, assign, notify — in one transaction,
with the notifications' outside deliveries sent only when it commits."""

import contextlib
import datetime
import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anju.accounts.models import Project, Team, User
from anju.core.masking import mask_phone
from anju.core.notifications import Message, notify, notify_many
from anju.customers import services as customer_services
from anju.customers.dedup import existing_customer_for
from anju.customers.models import Customer, CustomerPhone

from . import config, grading, known
from .cleaning import (
    clean_budget,
    clean_name,
    clean_phone,
    clean_text,
    clean_timing,
    raise_if,
)
from .models import (
    AssignmentRule,
    Channel,
    ChannelCost,
    DutyRoster,
    DutyRosterEntry,
    Grade,
    GradingRule,
    Lead,
    LeadEvent,
    LeadPolicy,
    LeadSource,
    Registration,
)
from .signals import lead_converted

Status = Lead.Status


# --- who may do what ------------------------------------------------------------------------

def is_lead_manager(user: Any) -> bool:
    """Sales managers and admins (the approve-exports right), and team leaders."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser or user.may("approve_exports")
                or user.is_team_leader)


def may_configure_channels(user: Any) -> bool:
    """Channel costs and sources: managers and marketing."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    role = getattr(user, "role", None)
    return is_lead_manager(user) or bool(role and role.code == "marketing")


def _require(condition: bool) -> None:
    if not condition:
        raise PermissionDenied(_("You are not allowed to do this."))


def _is_agent(user: Any) -> bool:
    role = getattr(user, "role", None)
    return bool(role and role.code == "channel_agent")


def policy_for(project_id: int | None) -> LeadPolicy:
    """The project's policy, else the default row, else the built-in defaults."""
    return config.load_policy(project_id)


def managers_of(project_id: int) -> list[User]:
    """Sales managers working the project (who hear of unassigned and escalated leads)."""
    return list(User.objects.filter(is_active=True, role__code="sales_manager",
                                    projects=project_id).order_by("id"))


def _lead_url(lead: Lead) -> str:
    return reverse("leads:detail", args=[lead.pk])


def _notify(recipients, *, kind: str, title: str, body: str = "", url: str = "",
            level: str = "info") -> None:
    # Notifications are written in the installation's language, whoever triggered them
    # (a visitor at the reception may read the check-in page in English).
    with translation.override(settings.LANGUAGE_CODE):
        notify(recipients=recipients, kind=kind, title=str(title), body=str(body), url=url,
               level=level)


def _event(lead: Lead, kind: str, actor: Any = None, detail: str = "") -> LeadEvent:
    return LeadEvent.objects.create(lead=lead, kind=kind, detail=str(detail)[:300],
                                    actor=actor if getattr(actor, "pk", None) else None)


# --- assignment -----------------------------------------------------------------------------

def today_local() -> datetime.date:
    return timezone.localdate()


def _rule_for(project_id: int, channel_id: int | None, grade: str) -> AssignmentRule | None:
    rules = AssignmentRule.objects.filter(project_id=project_id, is_active=True).filter(
        Q(channel__isnull=True) | Q(channel_id=channel_id)).filter(
        Q(grade="") | Q(grade=grade)).order_by("order", "id")
    return rules.first()


def _rule_members(rule: AssignmentRule) -> list[int]:
    members = set(rule.consultants.filter(is_active=True).values_list("id", flat=True))
    if rule.team_id:
        members |= set(User.objects.filter(team_id=rule.team_id, is_active=True)
                       .values_list("id", flat=True))
    return sorted(members)


def assign_next(*, project_id: int, channel_id: int | None, grade: str,
                day: datetime.date | None = None,
                cfg: config.ProjectConfig | None = None) -> tuple[int | None, str]:
    """The consultant whose turn it is (round robin over today's roster, skipping absentees,
    narrowed by the first matching assignment rule), and the words saying why."""
    cfg = cfg or config.project_config(project_id, day or today_local())
    rule = _rule_for(project_id, channel_id, grade) if cfg.has_assignment_rules else None
    if rule is not None:
        members = _rule_members(rule)
        if members:
            wanted = set(members)
            on_duty = [pk for pk in cfg.present if pk in wanted]
            pool = on_duty or members
            chosen = pool[config.next_turn("leads_assignmentrule", rule.pk) % len(pool)]
            why = (_("assignment rule #%(order)s, on duty today") if on_duty
                   else _("assignment rule #%(order)s (nobody of it on duty)")) % {
                "order": rule.order}
            return chosen, why
    if cfg.roster_id and cfg.present:
        turn = config.next_turn("leads_dutyroster", cfg.roster_id)
        return cfg.present[turn % len(cfg.present)], _("duty roster, in turn")
    return None, ""


def assign_many(*, project_id: int, channel_id: int | None, grades: list[str],
                cfg: config.ProjectConfig) -> list[tuple[int | None, str]]:
    """`assign_next` for a batch of new leads of one project and channel, in order: the
    roster's turns are taken in one statement; assignment rules go lead by lead."""
    if cfg.has_assignment_rules:
        return [assign_next(project_id=project_id, channel_id=channel_id, grade=grade,
                            cfg=cfg) for grade in grades]
    if cfg.roster_id and cfg.present and grades:
        why = _("duty roster, in turn")
        turns = config.next_turns("leads_dutyroster", cfg.roster_id, len(grades))
        return [(cfg.present[turn % len(cfg.present)], why) for turn in turns]
    return [(None, "")] * len(grades)


# --- capture --------------------------------------------------------------------------------

@dataclass
class CaptureResult:
    lead: Lead
    created: bool
    known_customer: bool
    duplicate: bool


class LeadAlreadyCaptured(Exception):
    """This source already sent a lead under this idempotency key (raised after the
    transaction rolled back; the caller replays or refuses)."""

    def __init__(self, lead_id: int) -> None:
        super().__init__(lead_id)
        self.lead_id = lead_id


def claim_key_of(e164: str) -> str:
    """`138****8000` of a mainland mobile in E.164; '' for anything else."""
    if e164.startswith("+86") and len(e164) == 14:
        national = e164[3:]
        return national[:3] + "****" + national[-4:]
    return ""


def live_registration_for(project_id: int, e164: str, *, now=None) -> Registration | None:
    key = claim_key_of(e164)
    if not key:
        return None
    now = now or timezone.now()
    return (Registration.objects.select_related("agency")
            .filter(project_id=project_id, claim_key=key,
                    status__in=[Registration.Status.ACCEPTED, Registration.Status.VISITED],
                    protected_until__gt=now)
            .filter(Q(phone="") | Q(phone=e164)).first())


def _door_probe(project_id: int, e164: str, now: datetime.datetime
                ) -> tuple[int | None, int | None, int | None]:
    """(an open lead's id, the ledger customer's id, a live claim's id) for this phone."""
    key = claim_key_of(e164) or "-"
    open_statuses = list(Lead.OPEN)
    leads, phones, claims = (Lead._meta.db_table, CustomerPhone._meta.db_table,
                             Registration._meta.db_table)
    sql = (
        f"SELECT (SELECT l.id FROM {leads} l WHERE l.project_id = %s AND l.phone = %s "  # noqa: S608
        "AND l.status IN (%s, %s, %s, %s) LIMIT 1), "
        f"(SELECT p.customer_id FROM {phones} p WHERE p.e164 = %s), "
        f"(SELECT r.id FROM {claims} r WHERE r.project_id = %s AND r.claim_key = %s "
        "AND r.status IN ('accepted', 'visited') AND r.protected_until > %s "
        "AND (r.phone = '' OR r.phone = %s) ORDER BY r.created_at LIMIT 1)")
    with connection.cursor() as cursor:
        cursor.execute(sql, [project_id, e164, *open_statuses, e164, project_id, key, now,
                             e164])
        return cursor.fetchone()


def _log_on_customer(customer: Customer, lead: Lead, channel: Channel | None) -> None:
    """The known person's new contact, on their record in the ledger."""
    person = known.known_people([customer], lead.project_id)[customer.pk]
    known.log_known_contacts([(lead, channel, person)])


def lead_capture(*, project: Project, name: Any, phone: Any, method: str,
                 channel: Channel | None = None, source: LeadSource | None = None,
                 actor: User | None = None, budget_wan: Any = None, timing: Any = "",
                 unit_type: Any = "", notes: Any = "", referrer_customer: Customer | None = None,
                 referrer_user: User | None = None, idempotency_key: str = "",
                 request_hash: str = "", mobile_only: bool = False) -> CaptureResult:
    """Captures one inbound person. Raises ValidationError naming the fields at fault.

    - A second capture of an open lead of the project (same phone) adds to that lead.
    - A person already in the ledger keeps their record: a new interaction is logged on it,
      the owning consultant is told and gets the lead; no second customer is ever made.
    - A phone under a live agency registration goes to the agency's contact consultant.
    - Otherwise: grade, then assignment by the rules and today's duty roster."""
    if method not in Lead.Method.values:
        raise ValueError(f"unknown capture method {method!r}")
    errors: dict[str, str] = {}
    name = clean_name(errors, name)
    e164 = clean_phone(errors, phone, mobile_only=mobile_only)
    budget = clean_budget(errors, budget_wan)
    timing = clean_timing(errors, timing)
    unit_type = clean_text(errors, "unit_type", unit_type, limit=50)
    notes = clean_text(errors, "notes", notes, limit=1000, multiline=True)
    if source is not None:
        channel = source.channel
        project = source.project
    if channel is not None and not channel.is_active:
        errors["channel"] = _("This channel is no longer in use.")
    if channel is not None and channel.is_referral and not (referrer_customer or referrer_user):
        errors["referrer"] = _("A referral needs the person who referred.")
    if not project.is_active:
        errors["project"] = _("This project is not taking leads.")
    if actor is not None and not Project.objects.visible_to(actor).filter(
            pk=project.pk).exists():
        errors["project"] = _("You can only choose projects you can see.")
    raise_if(errors)

    if source is not None and idempotency_key:
        done = Lead.objects.filter(source=source, idempotency_key=idempotency_key).first()
        if done is not None:
            raise LeadAlreadyCaptured(done.pk)

    now = timezone.now()
    # 1. the same person already an open lead of this project: one lead, not two
    # One statement asks the three questions of the door: an open lead of the project, a
    # customer in the ledger, a live agency claim on this phone.
    open_lead_id, customer_id, registration_id = _door_probe(project.pk, e164, now)
    if open_lead_id:
        open_leads = Lead.objects.filter(project=project, phone=e164, status__in=Lead.OPEN)
        with transaction.atomic():
            existing_lead = open_leads.select_for_update().order_by("-created_at").first()
            if existing_lead is not None:
                return _captured_again(existing_lead, method=method, channel=channel,
                                       actor=actor, budget=budget, timing=timing,
                                       unit_type=unit_type, notes=notes, now=now)

    # 2. the door check against the ledger
    customer = existing_customer_for(phones=[e164]) if customer_id else None
    lead = Lead(project=project, channel=channel, source=source, method=method, name=name,
                phone=e164, budget_wan=budget, timing=timing, unit_type=unit_type, notes=notes,
                referrer_customer=referrer_customer, referrer_user=referrer_user,
                created_by=actor if getattr(actor, "pk", None) else None,
                idempotency_key=idempotency_key if source is not None else "",
                request_hash=request_hash, customer=customer, known_customer=bool(customer))
    if method == Lead.Method.QR:
        lead.visits, lead.visited_at = 1, now

    # 3. grade
    cfg = config.project_config(project.pk, today_local())
    result = grading.grade_for(facts=grade_facts(lead), rules=cfg.grading_rules,
                               policy=cfg.policy)
    lead.grade, lead.grade_points, lead.grade_reason = result.grade, result.points, result.reason

    # 4. assign: the customer's consultant, the agency's contact, else rules and roster
    assignee_id, why = None, ""
    registration = (Registration.objects.select_related("agency").filter(
        pk=registration_id).first() if registration_id else None)
    person = (known.known_people([customer], project.pk)[customer.pk]
              if customer is not None else None)
    if person is not None and person.owner_works_here:
        assignee_id, why = customer.owner_id, _("the customer's own consultant")
    elif registration is not None and registration.agency.contact_consultant_id:
        assignee_id, why = (registration.agency.contact_consultant_id,
                            _("agency registration of %(agency)s") % {
                                "agency": registration.agency.name})
    else:
        # Outside a caller's transaction the turn is taken in its own statement, so its row
        # lock is not held while the lead is written; a capture that then fails has only
        # used up a turn (the next lead goes to the next consultant).
        assignee_id, why = assign_next(project_id=project.pk,
                                       channel_id=channel.pk if channel else None,
                                       grade=result.grade, cfg=cfg)
    lead.registration = registration
    try:
        with transaction.atomic():
            return _capture_write(lead, result=result, assignee_id=assignee_id, why=why,
                                  person=person, channel=channel)
    except IntegrityError:
        if source is not None and idempotency_key:
            done = Lead.objects.filter(source=source, idempotency_key=idempotency_key).first()
            if done is not None:
                raise LeadAlreadyCaptured(done.pk) from None
        raise


def _capture_write(lead: Lead, *, result, assignee_id, why, person: "known.KnownPerson | None",
                   channel) -> "CaptureResult":
    """The writes of a new lead, in one transaction: the lead, its events, the interaction
    on a known customer, the notifications. A second lead under the same idempotency key
    fails on the database's constraint (the caller answers with the first)."""
    now, method = timezone.now(), lead.method
    if assignee_id:
        lead.assigned_to_id, lead.assigned_at, lead.status = assignee_id, now, Status.ASSIGNED
    if method == Lead.Method.QR and assignee_id:
        lead.status = Status.VISITED
    # One INSERT, no model signals: the "captured" event below is the creation record (the
    # audit trail logs the lead's later changes of key fields).
    Lead.objects.bulk_create([lead])
    LeadEvent.objects.bulk_create(new_lead_events(lead, reason=result.reason, why=why,
                                                  known=person is not None))

    notices = [new_lead_notice(lead, reason=result.reason, why=why)]
    if person is not None:
        known.log_known_contacts([(lead, channel, person)])
        notices.append(known.owner_notice(lead, person.customer, assignee_id))
    notify_many([notice for notice in notices if notice is not None])
    return CaptureResult(lead=lead, created=True, known_customer=person is not None,
                         duplicate=False)


def new_lead_events(lead: Lead, *, reason: str, why: str, known: bool) -> list[LeadEvent]:
    """The three events of a new lead: captured, graded, assigned (or not)."""
    return [
        LeadEvent(lead=lead, kind=LeadEvent.Kind.CAPTURED, actor=lead.created_by,
                  detail=lead.get_method_display() + (
                      " · " + _("already in the ledger") if known else "")),
        LeadEvent(lead=lead, kind=LeadEvent.Kind.GRADED, detail=reason),
        LeadEvent(lead=lead, kind=LeadEvent.Kind.ASSIGNED if lead.assigned_to_id
                  else LeadEvent.Kind.UNASSIGNED, detail=why)]


def new_lead_notice(lead: Lead, *, reason: str, why: str,
                    managers: list[User] | None = None) -> Message:
    """The notice of a new lead, in the installation's language: to its consultant, or to
    the project's managers when nobody is on duty (`managers` saves the query of a batch)."""
    qr = lead.method == Lead.Method.QR
    with translation.override(settings.LANGUAGE_CODE):
        if lead.assigned_to_id:
            title = (_("Visitor at the reception: %(name)s") if qr
                     else _("New lead: %(name)s")) % {"name": lead.name}
            body = _("%(grade)s · %(phone)s · %(why)s") % {
                "grade": reason, "phone": mask_phone(lead.phone), "why": why}
            # the notice needs the recipient's id only: no query for the whole user row
            return Message(recipients=[User(pk=lead.assigned_to_id, is_active=True)],
                           kind="lead.assigned", title=str(title), body=str(body),
                           url=_lead_url(lead), level="warning" if qr else "info")
        title = _("Lead without a consultant: %(name)s") % {"name": lead.name}
        return Message(recipients=managers_of(lead.project_id) if managers is None
                       else managers, kind="lead.unassigned", title=str(title),
                       body=str(_("Nobody is on duty today; assign it by hand.")),
                       url=_lead_url(lead), level="warning")


def grade_facts(lead: Lead) -> grading.GradeFacts:
    return grading.GradeFacts(budget_wan=lead.budget_wan, timing=lead.timing,
                              visits=lead.visits, unit_type=lead.unit_type,
                              channel_kind=lead.channel.kind if lead.channel else "")


def _captured_again(lead: Lead, *, method, channel, actor, budget, timing, unit_type, notes,
                    now) -> CaptureResult:
    changed = []
    for field, value in (("budget_wan", budget), ("timing", timing), ("unit_type", unit_type)):
        if value and getattr(lead, field) != value:
            setattr(lead, field, value)
            changed.append(field)
    if notes:
        lead.notes = (lead.notes + "\n" + notes).strip()[:5000]
        changed.append("notes")
    if method == Lead.Method.QR:
        lead.visits += 1
        lead.visited_at = now
        changed += ["visits", "visited_at"]
        if lead.status in (Status.ASSIGNED, Status.CONTACTED):
            lead.status = Status.VISITED
            changed.append("status")
    _regrade(lead, changed)
    if changed:
        lead.save(update_fields=sorted(set(changed)))
    with translation.override(settings.LANGUAGE_CODE):
        detail = _("%(method)s via %(channel)s") % {
            "method": Lead.Method(method).label,
            "channel": channel.name if channel else _("no channel")}
    _event(lead, LeadEvent.Kind.CAPTURED_AGAIN, actor, detail)
    if lead.customer_id:
        _log_on_customer(lead.customer, lead, channel)
    if lead.assigned_to_id:
        with translation.override(settings.LANGUAGE_CODE):
            title = (_("Visitor at the reception: %(name)s") if method == Lead.Method.QR
                     else _("Your lead came in again: %(name)s")) % {"name": lead.name}
        _notify([lead.assigned_to], kind="lead.again", title=title, body=detail,
                url=_lead_url(lead), level="warning" if method == Lead.Method.QR else "info")
    return CaptureResult(lead=lead, created=False, known_customer=bool(lead.customer_id),
                         duplicate=True)


def _regrade(lead: Lead, changed: list[str]) -> None:
    cfg = config.project_config(lead.project_id, today_local())
    result = grading.grade_for(facts=grade_facts(lead), rules=cfg.grading_rules,
                               policy=cfg.policy)
    if (result.grade, result.reason) != (lead.grade, lead.grade_reason):
        lead.grade, lead.grade_points, lead.grade_reason = (result.grade, result.points,
                                                            result.reason)
        changed += ["grade", "grade_points", "grade_reason"]
        LeadEvent.objects.create(lead=lead, kind=LeadEvent.Kind.GRADED, detail=result.reason)


def walk_in_channel() -> Channel | None:
    """The channel of showroom QR check-ins: the walk-in channel (code "walk-in" first)."""
    return (Channel.objects.filter(kind=Channel.Kind.WALK_IN, is_active=True)
            .order_by(models.Case(models.When(code="walk-in", then=0), default=1), "id")
            .first())


# --- the lead's life ------------------------------------------------------------------------

def _lead_for(actor: User, lead: Lead | int) -> Lead:
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_("You are not allowed to do this."))
    pk = lead.pk if isinstance(lead, Lead) else lead
    found = Lead.objects.visible_to(actor).select_for_update().filter(pk=pk).first()
    if found is None:
        raise PermissionDenied(_("You may not change this lead."))
    return found


def _require_open(lead: Lead) -> None:
    if not lead.is_open:
        raise ValidationError({"status": _("This lead is closed (%(status)s).") % {
            "status": lead.get_status_display()}})


def _first_contact(lead: Lead, now: datetime.datetime) -> list[str]:
    if lead.first_contacted_at is not None:
        return []
    lead.first_contacted_at = now
    lead.first_response_seconds = max(0, int((now - lead.created_at).total_seconds()))
    return ["first_contacted_at", "first_response_seconds"]


@transaction.atomic
def lead_contact(*, actor: User, lead: Lead | int, note: str = "") -> Lead:
    """The consultant reached the person: first-response time is taken from the first one."""
    current = _lead_for(actor, lead)
    _require_open(current)
    errors: dict = {}
    note = clean_text(errors, "note", note, limit=300)
    raise_if(errors)
    now = timezone.now()
    changed = _first_contact(current, now)
    if current.status in (Status.NEW, Status.ASSIGNED):
        current.status = Status.CONTACTED
        changed.append("status")
    if changed:
        current.save(update_fields=changed)
    _event(current, LeadEvent.Kind.CONTACTED, actor, note)
    return current


@transaction.atomic
def lead_visit(*, actor: User, lead: Lead | int) -> Lead:
    """The person came to the sales office; a live agency registration of theirs gets its
    visit confirmed (带看确认) in the same step."""
    from .agency import registration_confirm_visit

    current = _lead_for(actor, lead)
    _require_open(current)
    now = timezone.now()
    changed = _first_contact(current, now)
    current.visits += 1
    current.visited_at = now
    current.status = Status.VISITED
    changed += ["visits", "visited_at", "status"]
    _regrade(current, changed)
    current.save(update_fields=sorted(set(changed)))
    _event(current, LeadEvent.Kind.VISITED, actor)
    registration = current.registration
    if registration is not None and registration.status == Registration.Status.ACCEPTED:
        # the window closed: the lead's visit stands, the claim does not
        with contextlib.suppress(ValidationError):
            registration_confirm_visit(actor=actor, registration=registration)
    return current


@transaction.atomic
def lead_invalidate(*, actor: User, lead: Lead | int, reason: str) -> Lead:
    """Invalid (wrong number, spam, a peer agency…) needs a reason; the lead stays."""
    current = _lead_for(actor, lead)
    _require_open(current)
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, limit=200, required=True)
    raise_if(errors)
    current.status, current.invalid_reason = Status.INVALID, reason
    current.closed_at = timezone.now()
    current.save(update_fields=["status", "invalid_reason", "closed_at"])
    _event(current, LeadEvent.Kind.INVALID, actor, reason)
    return current


@transaction.atomic
def lead_lose(*, actor: User, lead: Lead | int, reason: str) -> Lead:
    current = _lead_for(actor, lead)
    _require_open(current)
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, limit=200, required=True)
    raise_if(errors)
    current.status, current.lost_reason = Status.LOST, reason
    current.closed_at = timezone.now()
    current.save(update_fields=["status", "lost_reason", "closed_at"])
    _event(current, LeadEvent.Kind.LOST, actor, reason)
    return current


@transaction.atomic
def lead_note(*, actor: User, lead: Lead | int, text: str) -> LeadEvent:
    current = _lead_for(actor, lead)
    errors: dict = {}
    text = clean_text(errors, "text", text, limit=300, required=True)
    raise_if(errors)
    return _event(current, LeadEvent.Kind.NOTE, actor, text)


@transaction.atomic
def lead_grade_override(*, actor: User, lead: Lead | int, grade: str, reason: str) -> Lead:
    """A manager sets the grade by hand, with the reason (kept with who and when)."""
    _require(is_lead_manager(actor))
    current = _lead_for(actor, lead)
    errors: dict = {}
    if grade not in Grade.values:
        errors["grade"] = _("Select a valid choice.")
    reason = clean_text(errors, "reason", reason, limit=200, required=True)
    raise_if(errors)
    current.grade_override, current.grade_override_reason = grade, reason
    current.grade_override_by, current.grade_override_at = actor, timezone.now()
    current.save(update_fields=["grade_override", "grade_override_reason",
                                "grade_override_by", "grade_override_at"])
    _event(current, LeadEvent.Kind.GRADE_OVERRIDE, actor, f"{grade}: {reason}")
    return current


@transaction.atomic
def lead_reassign(*, actor: User, lead: Lead | int, consultant: User, reason: str = "") -> Lead:
    """A manager gives the lead to another consultant of the project (escalated or not)."""
    _require(is_lead_manager(actor))
    current = _lead_for(actor, lead)
    _require_open(current)
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, limit=200)
    if not consultant.is_active or not consultant.projects.filter(pk=current.project_id).exists():
        errors["consultant"] = _("Choose an active consultant of the lead's project.")
    raise_if(errors)
    before = current.assigned_to
    current.assigned_to, current.assigned_at = consultant, timezone.now()
    current.escalated_at = None
    if current.status == Status.NEW:
        current.status = Status.ASSIGNED
    current.save(update_fields=["assigned_to", "assigned_at", "escalated_at", "status"])
    with translation.override(settings.LANGUAGE_CODE):
        detail = _("%(before)s → %(after)s") % {"before": before or "—", "after": consultant}
        if reason:
            detail += f" · {reason}"
        title = _("Lead reassigned to you: %(name)s") % {"name": current.name}
    _event(current, LeadEvent.Kind.REASSIGNED, actor, detail)
    _notify([consultant], kind="lead.assigned", title=title, url=_lead_url(current))
    return current


@transaction.atomic
def lead_convert(*, actor: User, lead: Lead | int) -> Lead:
    """The lead becomes a customer relationship: the person's ledger record (linked when it
    exists, created otherwise, owned by the lead's consultant); `lead_converted` is sent on
    commit so that sales opens the opportunity."""
    current = _lead_for(actor, lead)
    _require_open(current)
    customer = current.customer
    if customer is None:
        owner = current.assigned_to or actor
        try:
            customer = customer_services.customer_create(
                actor=actor, name=current.name, phones=[current.phone], project=current.project,
                owner=owner, source_channel=current.channel.code if current.channel else "")
        except customer_services.DuplicateCustomer as duplicate:
            customer = duplicate.existing
    now = timezone.now()
    _first_contact(current, now)
    current.customer, current.status = customer, Status.CONVERTED
    current.converted_at = current.closed_at = now
    current.save()
    if current.registration_id:
        Registration.objects.filter(pk=current.registration_id, customer__isnull=True).update(
            customer=customer)
    _event(current, LeadEvent.Kind.CONVERTED, actor, customer.name)
    project = current.project
    transaction.on_commit(lambda: lead_converted.send(
        sender=Lead, lead=current, customer=customer, project=project, user=actor))
    return current


# --- escalation -----------------------------------------------------------------------------

@transaction.atomic
def leads_escalate(*, now: datetime.datetime | None = None) -> int:
    """Leads assigned but not contacted within the project's escalation time: each is
    flagged once (a conditional UPDATE claims it) and the managers are told."""
    now = now or timezone.now()
    policies = {row.project_id: row for row in LeadPolicy.objects.all()}
    default = policies.get(None) or LeadPolicy()
    shortest = min([p.escalation_minutes for p in policies.values()] or [
        default.escalation_minutes])
    candidates = list(Lead.objects.filter(
        status=Status.ASSIGNED, first_contacted_at__isnull=True, escalated_at__isnull=True,
        assigned_at__lte=now - datetime.timedelta(minutes=shortest))
        .select_related("assigned_to", "assigned_to__team__leader").order_by("id")[:1000])
    count = 0
    for lead in candidates:
        minutes = policies.get(lead.project_id, default).escalation_minutes
        if lead.assigned_at > now - datetime.timedelta(minutes=minutes):
            continue
        claimed = Lead.objects.filter(pk=lead.pk, escalated_at__isnull=True,
                                      first_contacted_at__isnull=True).update(escalated_at=now)
        if not claimed:
            continue
        count += 1
        with translation.override(settings.LANGUAGE_CODE):
            detail = _("not contacted within %(minutes)d minutes") % {"minutes": minutes}
            title = _("Lead not contacted: %(name)s (%(consultant)s)") % {
                "name": lead.name, "consultant": lead.assigned_to}
        LeadEvent.objects.create(lead=lead, kind=LeadEvent.Kind.ESCALATED, detail=detail)
        recipients = managers_of(lead.project_id)
        team = lead.assigned_to.team if lead.assigned_to else None
        if team is not None and team.leader is not None:
            recipients.append(team.leader)
        _notify(recipients, kind="lead.escalated", title=title, body=detail,
                url=_lead_url(lead), level="urgent")
    return count


# --- configuration --------------------------------------------------------------------------

@transaction.atomic
def channel_create(*, actor: User, name: str, code: str, kind: str,
                   parent: Channel | None = None) -> Channel:
    _require(may_configure_channels(actor))
    errors: dict = {}
    name = clean_text(errors, "name", name, limit=60, required=True)
    code = (code or "").strip().lower()
    if not code or not all(ch.isalnum() or ch in "-_" for ch in code) or len(code) > 40:
        errors["code"] = _("Use letters, digits, - and _ (at most 40).")
    elif Channel.objects.filter(code=code).exists():
        errors["code"] = _("This code is already used.")
    if kind not in Channel.Kind.values:
        errors["kind"] = _("Select a valid choice.")
    raise_if(errors)
    return Channel.objects.create(name=name, code=code, kind=kind, parent=parent)


@transaction.atomic
def channel_cost_add(*, actor: User, channel: Channel, project: Project,
                     period_start: datetime.date, period_end: datetime.date, amount: Any,
                     note: str = "") -> ChannelCost:
    _require(may_configure_channels(actor))
    errors: dict = {}
    note = clean_text(errors, "note", note, limit=200)
    try:
        amount = Decimal(str(amount))
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
            raise ValueError
    except (ArithmeticError, ValueError):
        errors["amount"] = _("Enter an amount of at least 0.")
    if period_start and period_end and period_end < period_start:
        errors["period_end"] = _("The period ends before it starts.")
    if not Project.objects.visible_to(actor).filter(pk=project.pk).exists():
        errors["project"] = _("You can only choose projects you can see.")
    raise_if(errors)
    return ChannelCost.objects.create(channel=channel, project=project,
                                      period_start=period_start, period_end=period_end,
                                      amount=amount.quantize(Decimal("0.01")), note=note,
                                      created_by=actor)


def source_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def lead_source_create(*, actor: User, name: str, channel: Channel, project: Project
                       ) -> tuple[LeadSource, str]:
    """A new API source; returns it with its key, which is never shown again."""
    _require(may_configure_channels(actor))
    errors: dict = {}
    name = clean_text(errors, "name", name, limit=60, required=True)
    if not Project.objects.visible_to(actor).filter(pk=project.pk).exists():
        errors["project"] = _("You can only choose projects you can see.")
    raise_if(errors)
    prefix = "ld_" + secrets.token_hex(4)
    key = f"{prefix}.{secrets.token_urlsafe(32)}"
    source = LeadSource.objects.create(name=name, channel=channel, project=project,
                                       key_prefix=prefix, key_hash=source_key_hash(key),
                                       created_by=actor)
    return source, key


def lead_source_for_key(key: str) -> LeadSource | None:
    """The active source holding this key. Kept a minute in the cache (a source switched
    off stops within that minute; `config_changed` drops it at once)."""
    if not key or len(key) > 200:
        return None
    digest = source_key_hash(key.strip())
    cache_key = f"leads:source:{config.version()}:{digest}"
    source = cache.get(cache_key)
    if source is None:
        source = (LeadSource.objects.select_related("channel", "project")
                  .filter(key_hash=digest, is_active=True).first())
        if source is None:
            return None
        cache.set(cache_key, source, 60)
        LeadSource.objects.filter(pk=source.pk).update(last_used_at=timezone.now())
    return source


@transaction.atomic
def roster_set(*, actor: User, project: Project, date: datetime.date,
               consultants: list[User], absent: list[User] = ()) -> DutyRoster:
    """Today's (or any day's) turn order; absentees stay listed and are skipped."""
    _require(is_lead_manager(actor))
    errors: dict = {}
    if not Project.objects.visible_to(actor).filter(pk=project.pk).exists():
        errors["project"] = _("You can only choose projects you can see.")
    ids = [user.pk for user in consultants]
    if len(set(ids)) != len(ids):
        errors["consultants"] = _("A consultant appears twice.")
    outside = [user for user in consultants
               if not user.projects.filter(pk=project.pk).exists()]
    if outside:
        errors["consultants"] = _("Not working this project: %(names)s") % {
            "names": ", ".join(str(user) for user in outside)}
    raise_if(errors)
    roster, _created = DutyRoster.objects.select_for_update().get_or_create(
        project=project, date=date)
    DutyRosterEntry.objects.filter(roster=roster).delete()
    absent_ids = {user.pk for user in absent}
    DutyRosterEntry.objects.bulk_create([
        DutyRosterEntry(roster=roster, consultant=user, position=index,
                        absent=user.pk in absent_ids)
        for index, user in enumerate(consultants)])
    config.config_changed()
    return roster


@transaction.atomic
def roster_mark_absent(*, actor: User, roster: DutyRoster, consultant: User,
                       absent: bool = True) -> None:
    _require(is_lead_manager(actor))
    if not DutyRoster.objects.visible_to(actor).filter(pk=roster.pk).exists():
        raise PermissionDenied(_("You are not allowed to do this."))
    DutyRosterEntry.objects.filter(roster=roster, consultant=consultant).update(absent=absent)
    config.config_changed()


@transaction.atomic
def assignment_rule_create(*, actor: User, project: Project, order: int = 100,
                           channel: Channel | None = None, grade: str = "",
                           team: Team | None = None, consultants: list[User] = ()
                           ) -> AssignmentRule:
    _require(is_lead_manager(actor))
    errors: dict = {}
    if not Project.objects.visible_to(actor).filter(pk=project.pk).exists():
        errors["project"] = _("You can only choose projects you can see.")
    if grade and grade not in Grade.values:
        errors["grade"] = _("Select a valid choice.")
    if team is None and not consultants:
        errors["consultants"] = _("Choose a team or at least one consultant.")
    raise_if(errors)
    rule = AssignmentRule.objects.create(project=project, order=order, channel=channel,
                                         grade=grade, team=team)
    rule.consultants.set(consultants)
    config.config_changed()
    return rule


@transaction.atomic
def grading_rule_create(*, actor: User, field: str, op: str, value: str = "",
                        points: int = 0, disqualifies: bool = False,
                        project: Project | None = None, order: int = 100,
                        label_met: str = "", label_unmet: str = "") -> GradingRule:
    _require(is_lead_manager(actor))
    errors: dict = {}
    if field not in GradingRule.Field.values:
        errors["field"] = _("Select a valid choice.")
    if op not in GradingRule.Op.values:
        errors["op"] = _("Select a valid choice.")
    value = clean_text(errors, "value", value, limit=100, required=op in ("gte", "lte", "in"))
    if op in ("gte", "lte") and "value" not in errors:
        try:
            Decimal(value)
        except ArithmeticError:
            errors["value"] = _("Enter a number.")
    label_met = clean_text(errors, "label_met", label_met, limit=60)
    label_unmet = clean_text(errors, "label_unmet", label_unmet, limit=60)
    if project is not None and not Project.objects.visible_to(actor).filter(
            pk=project.pk).exists():
        errors["project"] = _("You can only choose projects you can see.")
    raise_if(errors)
    config.config_changed()
    return GradingRule.objects.create(project=project, order=order, field=field, op=op,
                                      value=value, points=points, disqualifies=disqualifies,
                                      label_met=label_met, label_unmet=label_unmet)


@transaction.atomic
def policy_set(*, actor: User, project: Project | None, **values: Any) -> LeadPolicy:
    _require(is_lead_manager(actor) if project is not None else actor.is_superuser
             or actor.may("manage_users"))
    if project is not None and not Project.objects.visible_to(actor).filter(
            pk=project.pk).exists():
        raise PermissionDenied(_("You are not allowed to do this."))
    allowed = {"protection_days", "visit_window_days", "escalation_minutes",
               "review_registrations", "grade_a_min", "grade_b_min", "commission_rate"}
    errors: dict = {}
    for key, value in values.items():
        if key not in allowed:
            errors[key] = _("Unknown setting.")
        elif key != "review_registrations" and (value is None or Decimal(str(value)) < 0):
            errors[key] = _("Enter a number of at least 0.")
    raise_if(errors)
    policy, _created = LeadPolicy.objects.get_or_create(project=project)
    for key, value in values.items():
        setattr(policy, key, value)
    try:
        policy.full_clean(exclude=["project"])
    except ValidationError as error:
        raise ValidationError(error.message_dict) from None
    policy.save()
    config.config_changed()
    return policy


# --- for the sales app ------------------------------------------------------------------------

def registration_credit_deal(*, customer_id: int, project_id: int, deal_reference: str,
                             amount: Decimal, signed_at: datetime.datetime):
    """Credits the agency holding a live protected registration of this customer for this
    project when a contract is signed; see `agency.registration_credit_deal`. Returns the
    `AgencyCommission`, or None when no agency holds a claim."""
    from .agency import registration_credit_deal as credit

    return credit(customer_id=customer_id, project_id=project_id,
                  deal_reference=deal_reference, amount=amount, signed_at=signed_at)
