"""Agency registration (报备): an agent's claim on a person for a project, answered at once.

- Accepted: protected until `protected_until`; the visit (带看) must be confirmed by
  `visit_deadline`; a deal signed within protection credits the agency.
- Rejected, with the reason: the person is already a customer (or an open lead) of the
  project, or another agency holds a live claim. The agent is told when the claim was made
  and until when it is protected, never which agency holds it nor anything of its data.
- Race safety: the partial unique index `registration_one_live_claim` on (project,
  claim_key) for live claims lets exactly one of any number of concurrent registrations of
  one person in; the losers see the constraint, and are answered like any later comer.
- Every attempt is kept (rejected ones too) with its timestamp and events: the dispute
  trail that answers "who was first"."""

import datetime
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from anju.accounts.models import Project, User
from anju.customers.models import Customer, CustomerPhone

from .cleaning import clean_name, clean_phone, clean_text, raise_if
from .models import (
    Agency,
    AgencyAgent,
    AgencyCommission,
    Channel,
    Lead,
    Registration,
    RegistrationEvent,
)
from .services import (
    _notify,
    claim_key_of,
    is_lead_manager,
    lead_capture,
    policy_for,
)

RStatus = Registration.Status
Reason = Registration.Reason
_MASKED = re.compile(r"^(1\d{2})[*＊xX•·]{4}(\d{4})$")


def _local(value: datetime.datetime) -> str:
    return date_format(timezone.localtime(value), "Y-m-d H:i")


def agency_of(user: Any) -> Agency | None:
    link = (AgencyAgent.objects.select_related("agency")
            .filter(user_id=getattr(user, "pk", None), is_active=True,
                    agency__is_active=True).first())
    return link.agency if link else None


@dataclass(frozen=True)
class ParsedClaimPhone:
    e164: str       # "" when the agent gave only the first three and last four digits
    claim_key: str  # 138****8000


def parse_claim_phone(errors: dict, raw: Any) -> ParsedClaimPhone | None:
    text = re.sub(r"[\s\-]", "", str(raw or ""))
    match = _MASKED.match(text)
    if match:
        return ParsedClaimPhone(e164="", claim_key=f"{match.group(1)}****{match.group(2)}")
    e164 = clean_phone(errors, raw, mobile_only=True)
    if "phone" in errors:
        errors["phone"] = _("Enter the full mobile number or its first three and last four "
                            "digits, e.g. 138****8000.")
        return None
    key = claim_key_of(e164)
    if not key:
        errors["phone"] = _("Registrations take mainland mobile numbers only.")
        return None
    return ParsedClaimPhone(e164=e164, claim_key=key)


def _customer_of_project(project: Project, claim: ParsedClaimPhone) -> bool:
    """Whether the person is already the project's: a customer of it in the ledger, or an
    open lead of it (not one made from an agency claim)."""
    if claim.e164:
        phones = CustomerPhone.objects.filter(e164=claim.e164)
        leads = Lead.objects.filter(project=project, phone=claim.e164)
    else:
        prefix, last4 = "+86" + claim.claim_key[:3], claim.claim_key[-4:]
        phones = CustomerPhone.objects.filter(last4=last4, e164__startswith=prefix)
        leads = Lead.objects.filter(project=project, phone__startswith=prefix,
                                    phone__endswith=last4)
    customers = Customer.objects.filter(pk__in=phones.values("customer_id")).filter(
        Q(project=project) | Q(interested_projects=project))
    open_leads = leads.filter(status__in=Lead.OPEN, registration__isnull=True)
    return customers.exists() or open_leads.exists()


def _expire_stale(project_id: int, claim_key: str, now: datetime.datetime) -> None:
    """Claims whose time ran out stop counting now, whether or not the task ran yet."""
    stale = Registration.objects.filter(project_id=project_id, claim_key=claim_key).filter(
        Q(status__in=[RStatus.PENDING, RStatus.ACCEPTED], visit_deadline__lt=now)
        | Q(status=RStatus.VISITED, protected_until__lt=now))
    for pk in stale.values_list("pk", flat=True):
        if Registration.objects.filter(pk=pk, status__in=Registration.LIVE).update(
                status=RStatus.EXPIRED, ended_at=now):
            RegistrationEvent.objects.create(registration_id=pk, kind="expired")


def _holder(project_id: int, claim_key: str) -> Registration | None:
    return (Registration.objects.filter(project_id=project_id, claim_key=claim_key,
                                        status__in=Registration.LIVE).first())


def rejection_message(registration: Registration) -> str:
    """What the agent is told: the reason, and of a rival claim only its times."""
    if registration.reason == Reason.CLAIMED and registration.conflict_with is not None:
        held = registration.conflict_with
        return _("Already registered by another agency on %(at)s; protected until "
                 "%(until)s.") % {"at": _local(held.created_at),
                                  "until": _local(held.protected_until or held.created_at)}
    if registration.reason == Reason.OWN_CLAIM and registration.conflict_with is not None:
        return _("Your agency already registered this person on %(at)s.") % {
            "at": _local(registration.conflict_with.created_at)}
    if registration.reason == Reason.EXISTING_CUSTOMER:
        return _("This person is already a customer of the project.")
    return str(registration.get_reason_display())


def _reject(registration: Registration, reason: str, holder: Registration | None,
            now: datetime.datetime) -> Registration:
    registration.status, registration.reason = RStatus.REJECTED, reason
    registration.conflict_with, registration.decided_at = holder, now
    registration.save()
    RegistrationEvent.objects.create(registration=registration, kind="rejected",
                                     actor=registration.agent, detail=reason)
    return registration


def registration_submit(*, actor: User, project: Project, customer_name: Any, phone: Any,
                        note: Any = "") -> Registration:
    """Registers a person for the agent's agency; returns the answered registration
    (accepted, pending review, or rejected with `reason` and `rejection_message`)."""
    agency = agency_of(actor)
    if agency is None or not actor.is_active:
        raise PermissionDenied(_("Only agents of an active agency can register customers."))
    errors: dict = {}
    customer_name = clean_name(errors, customer_name, field="customer_name")
    note = clean_text(errors, "note", note, limit=200)
    claim = parse_claim_phone(errors, phone)
    if not project.is_active or project.company_id != agency.company_id:
        errors["project"] = _("Your agency does not work this project.")
    raise_if(errors)
    for attempt in range(3):
        try:
            return _submit(actor, agency, project, customer_name, claim, note)
        except _Retry:
            if attempt == 2:
                raise ValidationError({"phone": _("Please try again in a moment.")}) from None
    raise AssertionError("unreachable")


class _Retry(Exception):
    pass


@transaction.atomic
def _submit(actor, agency, project, customer_name, claim, note) -> Registration:
    now = timezone.now()
    policy = policy_for(project.pk)
    _expire_stale(project.pk, claim.claim_key, now)
    registration = Registration(agency=agency, agent=actor, project=project,
                                customer_name=customer_name, phone=claim.e164,
                                claim_key=claim.claim_key, note=note)
    if _customer_of_project(project, claim):
        registration.status = RStatus.REJECTED
        return _reject(registration, Reason.EXISTING_CUSTOMER, None, now)
    holder = _holder(project.pk, claim.claim_key)
    if holder is None:
        registration.status = RStatus.PENDING if policy.review_registrations else \
            RStatus.ACCEPTED
        registration.visit_deadline = now + datetime.timedelta(days=policy.visit_window_days)
        registration.protected_until = now + datetime.timedelta(days=policy.protection_days)
        if registration.status == RStatus.ACCEPTED:
            registration.decided_at = now
        try:
            with transaction.atomic():
                registration.save()
        except IntegrityError:
            holder = _holder(project.pk, claim.claim_key)
            if holder is None:
                raise _Retry() from None
            registration.pk = None
            registration.visit_deadline = registration.protected_until = None
            registration.decided_at = None
        else:
            RegistrationEvent.objects.create(registration=registration,
                                             kind=registration.status, actor=actor)
            if registration.status == RStatus.ACCEPTED:
                _accepted(registration)
            return registration
    reason = Reason.OWN_CLAIM if holder.agency_id == agency.pk else Reason.CLAIMED
    registration.status = RStatus.REJECTED
    return _reject(registration, reason, holder, now)


def _accepted(registration: Registration) -> None:
    """Tell the contact consultant; with a full phone the person becomes their lead now."""
    agency = registration.agency
    consultant = agency.contact_consultant
    if registration.phone and consultant is not None:
        channel = agency.channel or Channel.objects.filter(kind=Channel.Kind.AGENCY,
                                                           is_active=True).order_by("id").first()
        lead_capture(project=registration.project, name=registration.customer_name,
                     phone=registration.phone, method=Lead.Method.REGISTRATION,
                     channel=channel, notes=registration.note)
    elif consultant is not None:
        with translation.override(settings.LANGUAGE_CODE):
            title = _("Agency registration: %(name)s (%(phone)s) by %(agency)s") % {
                "name": registration.customer_name, "phone": registration.claim_key,
                "agency": agency.name}
        _notify([consultant], kind="leads.registration", title=title)


def _registration_for_staff(actor: User, registration: Registration | int) -> Registration:
    pk = registration.pk if isinstance(registration, Registration) else registration
    if getattr(getattr(actor, "role", None), "code", "") == "channel_agent":
        raise PermissionDenied(_("You are not allowed to do this."))
    found = (Registration.objects.visible_to(actor).select_for_update()
             .filter(pk=pk).first())
    if found is None:
        raise PermissionDenied(_("You are not allowed to do this."))
    return found


@transaction.atomic
def registration_confirm_visit(*, actor: User, registration: Registration | int,
                               now: datetime.datetime | None = None) -> Registration:
    """带看确认: the agency brought the person within the window; protection runs on from
    the visit."""
    current = _registration_for_staff(actor, registration)
    now = now or timezone.now()
    if current.status == RStatus.VISITED:
        return current
    if current.status != RStatus.ACCEPTED:
        raise ValidationError({"status": _("Only an accepted registration can be confirmed "
                                           "(this one is %(status)s).") % {
            "status": current.get_status_display()}})
    if current.visit_deadline and now > current.visit_deadline:
        current.status, current.ended_at = RStatus.EXPIRED, now
        current.save(update_fields=["status", "ended_at"])
        RegistrationEvent.objects.create(registration=current, kind="expired", actor=actor)
        raise ValidationError({"status": _("The visit window closed on %(at)s.") % {
            "at": _local(current.visit_deadline)}})
    policy = policy_for(current.project_id)
    current.status, current.visited_at, current.visit_confirmed_by = (
        RStatus.VISITED, now, actor)
    current.protected_until = max(current.protected_until or now,
                                  now + datetime.timedelta(days=policy.protection_days))
    if current.phone and current.customer_id is None:
        link = CustomerPhone.objects.filter(e164=current.phone).first()
        current.customer_id = link.customer_id if link else None
    current.save()
    RegistrationEvent.objects.create(registration=current, kind="visited", actor=actor)
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Visit confirmed: %(name)s") % {"name": current.customer_name}
    _notify([current.agent], kind="leads.registration_visited", title=title)
    return current


@transaction.atomic
def registration_review(*, actor: User, registration: Registration | int, accept: bool,
                        note: str = "") -> Registration:
    """A manager answers a registration waiting for review (projects that want reviews)."""
    if not is_lead_manager(actor):
        raise PermissionDenied(_("You are not allowed to do this."))
    current = _registration_for_staff(actor, registration)
    if current.status != RStatus.PENDING:
        raise ValidationError({"status": _("This registration is not waiting for review.")})
    errors: dict = {}
    note = clean_text(errors, "note", note, limit=200, required=not accept)
    raise_if(errors)
    now = timezone.now()
    if accept:
        current.status, current.decided_at = RStatus.ACCEPTED, now
        current.save(update_fields=["status", "decided_at"])
        RegistrationEvent.objects.create(registration=current, kind="accepted", actor=actor,
                                         detail=note)
        _accepted(current)
    else:
        current.status, current.reason, current.decided_at, current.ended_at = (
            RStatus.REJECTED, Reason.MANAGER, now, now)
        current.save(update_fields=["status", "reason", "decided_at", "ended_at"])
        RegistrationEvent.objects.create(registration=current, kind="rejected", actor=actor,
                                         detail=note)
    return current


@transaction.atomic
def registrations_expire(*, now: datetime.datetime | None = None) -> int:
    """Claims whose visit window or protection ran out end (the periodic task)."""
    now = now or timezone.now()
    stale = list(Registration.objects.filter(
        Q(status__in=[RStatus.PENDING, RStatus.ACCEPTED], visit_deadline__lt=now)
        | Q(status=RStatus.VISITED, protected_until__lt=now)).values_list("pk", flat=True))
    count = 0
    for pk in stale:
        if Registration.objects.filter(pk=pk, status__in=Registration.LIVE).update(
                status=RStatus.EXPIRED, ended_at=now):
            RegistrationEvent.objects.create(registration_id=pk, kind="expired")
            count += 1
    return count


@transaction.atomic
def registration_credit_deal(*, customer_id: int, project_id: int, deal_reference: str,
                             amount: Decimal, signed_at: datetime.datetime
                             ) -> AgencyCommission | None:
    """Called by sales when a contract is signed: the agency holding a live, protected
    registration of this customer for this project is owed its commission (once per deal).
    None when no agency holds one."""
    existing = AgencyCommission.objects.filter(deal_reference=deal_reference).first()
    if existing is not None:
        return existing
    phones = list(CustomerPhone.objects.filter(customer_id=customer_id)
                  .values_list("e164", flat=True))
    keys = [key for key in (claim_key_of(phone) for phone in phones) if key]
    candidates = (Registration.objects.select_for_update()
                  .filter(project_id=project_id,
                          status__in=[RStatus.ACCEPTED, RStatus.VISITED],
                          created_at__lte=signed_at, protected_until__gte=signed_at)
                  .filter(Q(customer_id=customer_id) | Q(claim_key__in=keys))
                  .select_related("agency").order_by("created_at", "id"))
    registration = next((r for r in candidates if not r.phone or r.phone in phones
                         or r.customer_id == customer_id), None)
    if registration is None:
        return None
    agency = registration.agency
    rate = agency.commission_rate if agency.commission_rate is not None else \
        policy_for(project_id).commission_rate
    amount = Decimal(amount)
    commission = AgencyCommission.objects.create(
        agency=agency, registration=registration, project_id=project_id,
        customer_id=customer_id, deal_reference=deal_reference[:64], deal_amount=amount,
        rate=rate, amount=(amount * rate / 100).quantize(Decimal("0.01"), ROUND_HALF_UP),
        signed_at=signed_at)
    registration.status, registration.ended_at = RStatus.CONVERTED, timezone.now()
    registration.customer_id = customer_id
    registration.save(update_fields=["status", "ended_at", "customer"])
    RegistrationEvent.objects.create(registration=registration, kind="converted",
                                     detail=deal_reference[:300])
    return commission


def registration_trail(*, viewer: User, project_id: int, claim_key: str
                       ) -> list[Registration]:
    """Every registration of one person for one project, first first, with their events:
    for managers settling a dispute (撞单)."""
    if not is_lead_manager(viewer):
        raise PermissionDenied(_("You are not allowed to do this."))
    return list(Registration.objects.visible_to(viewer)
                .filter(project_id=project_id, claim_key=claim_key)
                .select_related("agency", "agent").prefetch_related("events")
                .order_by("created_at", "id"))


@transaction.atomic
def agency_create(*, actor: User, company, name: Any, contact_consultant: User | None = None,
                  channel: Channel | None = None, commission_rate: Any = None) -> Agency:
    """A new agency of a company the manager sees."""
    from anju.accounts.models import Company

    if not is_lead_manager(actor):
        raise PermissionDenied(_("You are not allowed to do this."))
    errors: dict = {}
    name = clean_text(errors, "name", name, limit=100, required=True)
    if not Company.objects.visible_to(actor).filter(pk=company.pk).exists():
        errors["company"] = _("You can only choose companies you can see.")
    elif Agency.objects.filter(company=company, name=name).exists():
        errors["name"] = _("This company already has an agency of this name.")
    if contact_consultant is not None and not contact_consultant.projects.filter(
            company=company).exists():
        errors["contact_consultant"] = _("Choose a consultant of this company's projects.")
    rate = None
    if commission_rate not in (None, ""):
        try:
            rate = Decimal(str(commission_rate))
            if not rate.is_finite() or not 0 <= rate <= 100:
                raise ValueError
        except (ArithmeticError, ValueError):
            errors["commission_rate"] = _("Enter a percentage between 0 and 100.")
    raise_if(errors)
    return Agency.objects.create(company=company, name=name,
                                 contact_consultant=contact_consultant, channel=channel,
                                 commission_rate=rate)


@transaction.atomic
def agency_agent_add(*, actor: User, agency: Agency, user: User) -> AgencyAgent:
    """Links a user with the channel-agent role to the agency (one agency per agent)."""
    if not is_lead_manager(actor) or not Agency.objects.visible_to(actor).filter(
            pk=agency.pk).exists():
        raise PermissionDenied(_("You are not allowed to do this."))
    role = getattr(user, "role", None)
    if role is None or role.code != "channel_agent":
        raise ValidationError({"user": _("Only users with the channel agent role can be "
                                         "agents.")})
    if AgencyAgent.objects.filter(user=user).exclude(agency=agency).exists():
        raise ValidationError({"user": _("This agent already works for another agency.")})
    link, _created = AgencyAgent.objects.update_or_create(user=user, defaults={
        "agency": agency, "is_active": True})
    return link
