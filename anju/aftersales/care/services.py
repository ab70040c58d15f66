"""Every write of customer care: knowledge base, surveys and handover (交付).

Bad input raises Django's `ValidationError` keyed by the field (pages show it next to the
field, the API answers 400 with `fields`); a refused action that is the state of things
(slot full, already answered, wrong stage) raises `CareError` with a stable `code` (409).
Nothing is half-written: every function is one transaction."""

import datetime
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from anju.accounts.models import Company, Project
from anju.customers.models import Customer
from anju.property.models import Building

from ..models.care import (
    ChecklistTemplate,
    HandoverBatch,
    HandoverEvent,
    HandoverInspectionItem,
    HandoverSlot,
    HandoverUnit,
    KnowledgeArticle,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    SurveyTemplate,
    SurveyTrigger,
)

logger = logging.getLogger(__name__)

SURVEY_VALID_DAYS = 30
# Deals whose buyers count as the owners of a unit.
OWNER_DEAL_STATUSES = ("contracted", "delivered")

# The built-in on-site checklist: rooms and what is checked in each. A project's own
# checklist (`ChecklistTemplate`), or else its company's default, replaces it; this one is
# the seed of both and what a company without any gets.
CHECKLIST: dict[str, tuple[str, ...]] = {
    "客厅": ("墙面", "地面", "天花", "门窗", "水电"),
    "主卧": ("墙面", "地面", "门窗", "水电"),
    "次卧": ("墙面", "地面", "门窗", "水电"),
    "厨房": ("墙面", "地面", "给排水", "燃气"),
    "卫生间": ("墙面", "地面", "天花", "给排水", "防水"),
    "阳台": ("地面", "栏杆", "排水"),
}


class CareError(Exception):
    """A refused care action: `code` is "slot_full", "slot_closed", "wrong_stage",
    "already_answered", "expired", "not_found", "not_paid" (sign-off of a unit whose deal
    is not paid in full) or "deal_state" (the unit's deal cannot be delivered)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


def _require(value: Any, field: str, message: str) -> None:
    if value in (None, "", [], {}):
        raise ValidationError({field: [message]})


def _text(value: Any, field: str, *, max_length: int, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError({field: [_("This field is required.")]})
    if len(text) > max_length:
        raise ValidationError({field: [_("At most %(n)d characters.") % {"n": max_length}]})
    return text


# --- knowledge base ---------------------------------------------------------------------------
@transaction.atomic
def knowledge_article_create(*, actor: Any, company: Company, title: str, body: str,
                             keywords: str = "", category_id: int | None = None,
                             is_published: bool = True) -> KnowledgeArticle:
    article = KnowledgeArticle(
        company=company, created_by=actor,
        title=_text(title, "title", max_length=120),
        body=_text(body, "body", max_length=20000),
        keywords=" ".join(_text(keywords, "keywords", max_length=200, required=False).split()),
        is_published=is_published)
    _set_category(article, category_id)
    article.save()
    return article


@transaction.atomic
def knowledge_article_update(*, actor: Any, article: KnowledgeArticle, title: str, body: str,
                             keywords: str = "", category_id: int | None = None,
                             is_published: bool = True) -> KnowledgeArticle:
    article.title = _text(title, "title", max_length=120)
    article.body = _text(body, "body", max_length=20000)
    article.keywords = " ".join(
        _text(keywords, "keywords", max_length=200, required=False).split())
    article.is_published = is_published
    _set_category(article, category_id)
    article.save()
    return article


def _set_category(article: KnowledgeArticle, category_id: int | None) -> None:
    if not hasattr(KnowledgeArticle, "category_id"):
        return
    if category_id in (None, ""):
        article.category_id = None
        return
    from ..models.tickets import ProblemCategory

    try:
        category_id = int(category_id)
    except (TypeError, ValueError):
        raise ValidationError({"category": [_("Choose a problem category.")]}) from None
    if not ProblemCategory.objects.filter(pk=category_id, company_id=article.company_id).exists():
        raise ValidationError({"category": [_("Choose a problem category of this company.")]})
    article.category_id = category_id


# --- surveys ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuestionSpec:
    kind: str
    text: str
    choices: tuple[str, ...] = ()
    required: bool = True


@transaction.atomic
def survey_template_create(*, actor: Any, company: Company, name: str, trigger: str,
                           questions: list[QuestionSpec], intro: str = "",
                           is_active: bool = True) -> SurveyTemplate:
    """A survey with its questions. Activating it retires the company's other active survey
    of the same trigger (one survey per trigger is sent)."""
    name = _text(name, "name", max_length=100)
    if trigger not in SurveyTrigger.values:
        raise ValidationError({"trigger": [_("Choose when the survey is sent.")]})
    if not questions:
        raise ValidationError({"questions": [_("Add at least one question.")]})
    rows = []
    for index, spec in enumerate(questions, start=1):
        if spec.kind not in SurveyQuestion.Kind.values:
            raise ValidationError({"questions": [
                _("Question %(n)d: unknown kind.") % {"n": index}]})
        text = str(spec.text or "").strip()
        if not text or len(text) > 200:
            raise ValidationError({"questions": [
                _("Question %(n)d: write the question (at most 200 characters).") % {"n": index}]})
        choices = [str(c).strip() for c in spec.choices if str(c).strip()]
        if spec.kind == SurveyQuestion.Kind.CHOICE and len(choices) < 2:
            raise ValidationError({"questions": [
                _("Question %(n)d: a choice needs at least two options.") % {"n": index}]})
        rows.append(SurveyQuestion(position=index, kind=spec.kind, text=text,
                                   choices=choices if spec.kind == "choice" else [],
                                   required=spec.required))
    if is_active:
        SurveyTemplate.objects.filter(company=company, trigger=trigger,
                                      is_active=True).update(is_active=False)
    template = SurveyTemplate.objects.create(company=company, name=name, trigger=trigger,
                                             intro=str(intro or "").strip(),
                                             is_active=is_active)
    for row in rows:
        row.template = template
    SurveyQuestion.objects.bulk_create(rows)
    return template


def survey_link(invitation: SurveyInvitation) -> str:
    base = getattr(settings, "ANJU_PORTAL_BASE_URL", "") or ""
    return base.rstrip("/") + reverse("portal:survey_answer", args=[invitation.token])


@transaction.atomic
def survey_invite(*, customer: Customer, project: Project, trigger: str, reference: str,
                  send_sms: bool = True) -> SurveyInvitation | None:
    """Sends the company's active survey for `trigger` to a customer once per `reference`
    (a ticket, a handover, a year). Returns the invitation, the existing one when it was
    already sent, or None when the company has no active survey for it. The SMS with the
    link goes out after commit."""
    template = (SurveyTemplate.objects.filter(company_id=project.company_id, trigger=trigger,
                                              is_active=True).first())
    if template is None:
        return None
    existing = SurveyInvitation.objects.filter(customer=customer, template=template,
                                               reference=reference).first()
    if existing:
        return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            invitation = SurveyInvitation.objects.create(
                template=template, customer=customer, project=project, trigger=trigger,
                reference=reference[:40], token=secrets.token_urlsafe(24),
                expires_at=now + datetime.timedelta(days=SURVEY_VALID_DAYS))
    except IntegrityError:  # sent by a concurrent sweep a moment ago
        return SurveyInvitation.objects.get(customer=customer, template=template,
                                            reference=reference)
    if send_sms and customer.primary_phone:
        invitation_id = invitation.pk
        transaction.on_commit(lambda: _enqueue_survey_sms(invitation_id))
    return invitation


def _enqueue_survey_sms(invitation_id: int) -> None:
    from .tasks import survey_sms_send

    try:
        survey_sms_send.enqueue(invitation_id)
    except Exception:
        logger.exception("could not enqueue survey SMS %s", invitation_id)


def survey_sms_deliver(*, invitation_id: int) -> bool:
    """Sends the survey link by SMS through the pluggable gateway; False when it failed."""
    from anju.core.notifications.channels import sms_gateway

    invitation = (SurveyInvitation.objects.select_related("customer", "template")
                  .filter(pk=invitation_id).first())
    if invitation is None or not invitation.customer.primary_phone:
        return False
    text = _("%(name)s, please tell us how we did: %(link)s") % {
        "name": invitation.customer.name, "link": survey_link(invitation)}
    try:
        sms_gateway().send(invitation.customer.primary_phone, text)
    except Exception as exc:
        logger.warning("survey SMS %s failed: %s", invitation_id, exc)
        return False
    return True


@transaction.atomic
def survey_submit(*, invitation: SurveyInvitation, answers: dict[int, Any]) -> SurveyResponse:
    """Stores the answers of one invitation, once. `answers` maps question id → value (a
    number for nps/scale, an option for choice, text). Each wrong answer is named by its
    question (`q<id>`)."""
    if invitation.answered_at is not None:
        raise CareError(_("This survey has already been answered. Thank you!"),
                        "already_answered")
    if invitation.expires_at <= timezone.now():
        raise CareError(_("This survey link has expired."), "expired")
    questions = list(SurveyQuestion.objects.filter(template_id=invitation.template_id))
    errors: dict[str, list[str]] = {}
    rows: list[SurveyAnswer] = []
    for question in questions:
        field = f"q{question.pk}"
        raw = answers.get(question.pk, answers.get(str(question.pk)))
        raw = "" if raw is None else str(raw).strip()
        if not raw:
            if question.required:
                errors[field] = [_("Please answer this question.")]
            continue
        if question.kind in (SurveyQuestion.Kind.NPS, SurveyQuestion.Kind.SCALE):
            low, high = (0, 10) if question.kind == SurveyQuestion.Kind.NPS else (1, 5)
            try:
                number = int(raw)
            except ValueError:
                number = None
            if number is None or not low <= number <= high:
                errors[field] = [_("Choose a score from %(low)d to %(high)d.")
                                 % {"low": low, "high": high}]
                continue
            rows.append(SurveyAnswer(question=question, number=number))
        elif question.kind == SurveyQuestion.Kind.CHOICE:
            if raw not in question.choices:
                errors[field] = [_("Choose one of the options.")]
                continue
            rows.append(SurveyAnswer(question=question, text=raw))
        else:
            if len(raw) > 2000:
                errors[field] = [_("At most %(n)d characters.") % {"n": 2000}]
                continue
            rows.append(SurveyAnswer(question=question, text=raw))
    if errors:
        raise ValidationError(errors)
    # The conditional UPDATE is the guard: two submissions at once store one response.
    if not SurveyInvitation.objects.filter(pk=invitation.pk, answered_at__isnull=True).update(
            answered_at=timezone.now()):
        raise CareError(_("This survey has already been answered. Thank you!"),
                        "already_answered")
    kinds = {q.pk: q.kind for q in questions}
    nps = [a.number for a in rows if kinds[a.question_id] == SurveyQuestion.Kind.NPS]
    scale = [a.number for a in rows if kinds[a.question_id] == SurveyQuestion.Kind.SCALE]
    response = SurveyResponse.objects.create(
        invitation=invitation, customer_id=invitation.customer_id,
        project_id=invitation.project_id, trigger=invitation.trigger,
        nps_score=nps[0] if nps else None,
        csat_score=(Decimal(sum(scale)) / len(scale)).quantize(Decimal("0.01"))
        if scale else None,
        scale_answers=len(scale), scale_satisfied=sum(1 for n in scale if n >= 4))
    for row in rows:
        row.response = response
    SurveyAnswer.objects.bulk_create(rows)
    invitation.answered_at = timezone.now()
    return response


def surveys_after_callbacks(*, since: datetime.datetime) -> int:
    """Invites the owners of tickets called back since `since` (the callback trigger)."""
    from ..models.tickets import TicketCallback

    sent = 0
    callbacks = (TicketCallback.objects.filter(created_at__gte=since,
                                               ticket__customer__isnull=False)
                 .select_related("ticket__customer", "ticket__project"))
    for callback in callbacks.iterator(chunk_size=500):
        ticket = callback.ticket
        if survey_invite(customer=ticket.customer, project=ticket.project,
                         trigger=SurveyTrigger.CALLBACK, reference=f"ticket:{ticket.pk}"):
            sent += 1
    return sent


def surveys_yearly(*, year: int) -> int:
    """Invites every owner (buyer of a contracted or delivered deal) once for `year`."""
    from anju.sales.models import DealBuyer

    sent = 0
    rows = (DealBuyer.objects.filter(deal__status__in=OWNER_DEAL_STATUSES)
            .select_related("customer", "deal__project").order_by("customer_id", "deal_id"))
    seen: set[int] = set()
    for buyer in rows.iterator(chunk_size=500):
        if buyer.customer_id in seen:
            continue
        seen.add(buyer.customer_id)
        if survey_invite(customer=buyer.customer, project=buyer.deal.project,
                         trigger=SurveyTrigger.YEARLY, reference=f"year:{year}"):
            sent += 1
    return sent


# --- handover (交付) ---------------------------------------------------------------------------
@transaction.atomic
def handover_batch_create(*, actor: Any, building: Building, name: str,
                          starts_on: datetime.date | None,
                          ends_on: datetime.date | None) -> HandoverBatch:
    """A batch for one building: every unit sold (contracted or delivered deal) not already
    in an open batch joins it, with its primary buyer as the owner."""
    from anju.sales.models import Deal, DealBuyer

    name = _text(name, "name", max_length=100)
    _require(starts_on, "starts_on", _("Enter the first day."))
    _require(ends_on, "ends_on", _("Enter the last day."))
    if ends_on < starts_on:
        raise ValidationError({"ends_on": [_("The last day cannot be before the first day.")]})
    from .selectors import checklist_in_force

    rooms, _source = checklist_in_force(project_id=building.project_id)
    batch = HandoverBatch.objects.create(project_id=building.project_id, building=building,
                                         name=name, starts_on=starts_on, ends_on=ends_on,
                                         checklist=rooms, created_by=actor)
    taken = HandoverUnit.objects.filter(batch__building=building,
                                        batch__status=HandoverBatch.Status.OPEN
                                        ).exclude(batch=batch).values("unit_id")
    deals = (Deal.objects.filter(unit__building=building, status__in=OWNER_DEAL_STATUSES)
             .exclude(unit_id__in=taken).values_list("id", "unit_id", "customer_id"))
    deals = list(deals)
    primaries = dict(DealBuyer.objects.filter(deal_id__in=[d[0] for d in deals], is_primary=True)
                     .values_list("deal_id", "customer_id"))
    HandoverUnit.objects.bulk_create([
        HandoverUnit(batch=batch, unit_id=unit_id, customer_id=primaries.get(deal_id, customer))
        for deal_id, unit_id, customer in deals])
    return batch


@transaction.atomic
def handover_slot_create(*, actor: Any, batch: HandoverBatch, starts_at: datetime.datetime | None,
                         ends_at: datetime.datetime | None, capacity: int | None
                         ) -> HandoverSlot:
    _require(starts_at, "starts_at", _("Enter when the slot starts."))
    _require(ends_at, "ends_at", _("Enter when the slot ends."))
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": [_("The slot must end after it starts.")]})
    if capacity is None or not 1 <= int(capacity) <= 500:
        raise ValidationError({"capacity": [_("Capacity is a number from 1 to 500.")]})
    local = timezone.localtime(starts_at).date()
    if not batch.starts_on <= local <= batch.ends_on:
        raise ValidationError({"starts_at": [_("The slot must fall within the batch's days.")]})
    return HandoverSlot.objects.create(batch=batch, starts_at=starts_at, ends_at=ends_at,
                                       capacity=int(capacity))


def _locked_handover(handover_id: int) -> HandoverUnit:
    handover = (HandoverUnit.objects.select_for_update().select_related("batch")
                .filter(pk=handover_id).first())
    if handover is None:
        raise CareError(_("This unit is not in a handover batch."), "not_found")
    return handover


def _history(handover: HandoverUnit, kind: str, actor: Any, message: str) -> None:
    HandoverEvent.objects.create(handover=handover, kind=kind, message=str(message)[:300],
                                 actor=actor if getattr(actor, "pk", None) else None)


def _slot_time(slot: HandoverSlot) -> str:
    return timezone.localtime(slot.starts_at).strftime("%Y-%m-%d %H:%M")


@transaction.atomic
def handover_book(*, actor: Any, handover_id: int, slot_id: int) -> HandoverUnit:
    """Books (or moves) a unit's appointment. The slot's count rises by one conditional
    UPDATE that refuses a full slot, so two owners racing for the last place cannot both get
    it (and the check constraint would refuse it even if they did)."""
    handover = _locked_handover(handover_id)
    if handover.batch.status != HandoverBatch.Status.OPEN:
        raise CareError(_("This handover batch is closed."), "slot_closed")
    if handover.stage not in (HandoverUnit.Stage.WAITING, HandoverUnit.Stage.BOOKED):
        raise CareError(_("This unit has already been inspected."), "wrong_stage")
    if handover.slot_id == slot_id:
        return handover
    slot = HandoverSlot.objects.filter(pk=slot_id, batch_id=handover.batch_id).first()
    if slot is None:
        raise ValidationError({"slot": [_("Choose one of this batch's appointment slots.")]})
    if slot.starts_at <= timezone.now():
        raise CareError(_("This appointment slot has already begun."), "slot_closed")
    taken = HandoverSlot.objects.filter(pk=slot_id, booked__lt=F("capacity")).update(
        booked=F("booked") + 1)
    if not taken:
        raise CareError(_("This appointment slot is full. Please choose another."), "slot_full")
    previous = handover.slot
    if previous is not None:
        HandoverSlot.objects.filter(pk=previous.pk, booked__gt=0).update(
            booked=F("booked") - 1)
    handover.slot_id = slot_id
    handover.stage = HandoverUnit.Stage.BOOKED
    handover.booked_at = timezone.now()
    handover.save(update_fields=["slot", "stage", "booked_at"])
    if previous is None:
        _history(handover, HandoverEvent.Kind.BOOKED, actor,
                 _("Appointment booked for %(when)s.") % {"when": _slot_time(slot)})
    else:
        _history(handover, HandoverEvent.Kind.REBOOKED, actor,
                 _("Appointment moved from %(old)s to %(new)s.") % {
                     "old": _slot_time(previous), "new": _slot_time(slot)})
    return handover


@transaction.atomic
def handover_cancel_booking(*, actor: Any, handover_id: int) -> HandoverUnit:
    handover = _locked_handover(handover_id)
    if handover.stage != HandoverUnit.Stage.BOOKED:
        raise CareError(_("There is no booking to cancel."), "wrong_stage")
    slot = handover.slot
    HandoverSlot.objects.filter(pk=slot.pk, booked__gt=0).update(booked=F("booked") - 1)
    handover.slot_id = None
    handover.stage = HandoverUnit.Stage.WAITING
    handover.booked_at = None
    handover.save(update_fields=["slot", "stage", "booked_at"])
    _history(handover, HandoverEvent.Kind.UNBOOKED, actor,
             _("Appointment of %(when)s cancelled.") % {"when": _slot_time(slot)})
    return handover


@dataclass(frozen=True)
class InspectionLine:
    room: str
    item: str
    ok: bool
    note: str = ""
    component_id: int | None = None
    category_id: int | None = None


@transaction.atomic
def handover_inspect(*, actor: Any, handover_id: int,
                     lines: list[InspectionLine]) -> list[HandoverInspectionItem]:
    """Records the on-site checklist; each issue becomes a repair ticket on the unit
    (channel: handover inspection) through the tickets part's `ticket_create`."""
    handover = _locked_handover(handover_id)
    if handover.stage not in (HandoverUnit.Stage.WAITING, HandoverUnit.Stage.BOOKED,
                              HandoverUnit.Stage.INSPECTED):
        raise CareError(_("Keys have been handed over: the inspection is closed."),
                        "wrong_stage")
    if not lines:
        raise ValidationError({"items": [_("Record at least one checked item.")]})
    on_list = {(row["room"], thing) for row in batch_checklist(handover.batch)
               for thing in row["items"]}
    done = set(handover.inspection_items.values_list("room", "item"))
    items = []
    for index, line in enumerate(lines, start=1):
        room = _text(line.room, "room", max_length=30)
        item = _text(line.item, "item", max_length=50)
        if (room, item) not in on_list:
            raise ValidationError({"items": [
                _("%(line)s is not on this batch's inspection checklist.")
                % {"line": f"{room} {item}"}]})
        if (room, item) in done:
            continue
        done.add((room, item))
        note = _text(line.note, f"note_{index}", max_length=300, required=not line.ok)
        ticket_id = None
        if not line.ok:
            ticket_id = _inspection_ticket(actor=actor, handover=handover, line=line,
                                           note=note)
        items.append(HandoverInspectionItem.objects.create(
            handover=handover, room=room, item=item, note=note, ticket_id=ticket_id,
            result=HandoverInspectionItem.Result.OK if line.ok
            else HandoverInspectionItem.Result.ISSUE, checked_by=actor))
    handover.stage = HandoverUnit.Stage.INSPECTED
    handover.inspected_at = timezone.now()
    handover.save(update_fields=["stage", "inspected_at"])
    if items:
        _history(handover, HandoverEvent.Kind.INSPECTED, actor, _inspection_summary(items))
    return items


def _inspection_summary(items: list[HandoverInspectionItem]) -> str:
    from ..models.tickets import Ticket

    in_order = sum(1 for item in items if item.ticket_id is None)
    tickets = list(Ticket.objects.filter(pk__in=[item.ticket_id for item in items
                                                 if item.ticket_id])
                   .order_by("id").values_list("number", flat=True))
    checked = ngettext("%(count)d item checked", "%(count)d items checked",
                       len(items)) % {"count": len(items)}
    if not tickets:
        return _("%(checked)s, all in order.") % {"checked": checked}
    return (_("%(checked)s, %(ok)d in order; issues sent as repair tickets %(tickets)s.")
            % {"checked": checked, "ok": in_order, "tickets": "、".join(tickets)})


def _inspection_ticket(*, actor: Any, handover: HandoverUnit, line: "InspectionLine",
                       note: str) -> int:
    """A repair ticket on the unit, channel handover inspection, through the tickets part.
    The room is the library location of that name; the problem is the line's component and
    category. A refusal names the checklist line. (The checklists page warns of a room the
    library does not have: `selectors.library_room_names`.)"""
    from ..models.tickets import Location
    from ..tickets.services import ticket_create

    label = f"{line.room} {line.item}"
    if not line.component_id or not line.category_id:
        raise ValidationError({"items": [_("%(line)s: choose what the problem is.")
                                         % {"line": label}]})
    location_id = (Location.objects.filter(company_id=handover.batch.project.company_id,
                                           name=line.room, kind=Location.Kind.ROOM,
                                           active=True)
                   .values_list("id", flat=True).first())
    try:
        ticket = ticket_create(
            actor=actor, customer_id=handover.customer_id, unit_id=handover.unit_id,
            ticket_type="repair", channel="handover", location_id=location_id,
            component_id=line.component_id, category_id=line.category_id,
            description=f"{label}：{note}")
    except ValidationError as exc:
        messages = [m for ms in exc.message_dict.values() for m in ms] if hasattr(
            exc, "error_dict") else exc.messages
        raise ValidationError({"items": [f"{label}: {m}" for m in messages]}) from None
    return ticket.pk


@transaction.atomic
def handover_keys(*, actor: Any, handover_id: int, key_count: int | None) -> HandoverUnit:
    handover = _locked_handover(handover_id)
    if handover.stage != HandoverUnit.Stage.INSPECTED:
        raise CareError(_("Inspect the unit before handing over the keys."), "wrong_stage")
    try:
        count = int(key_count)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= 50:
        raise ValidationError({"key_count": [_("Enter how many keys were handed over (1–50).")]})
    handover.stage = HandoverUnit.Stage.KEYS
    handover.key_count = count
    handover.keys_handed_at = timezone.now()
    handover.save(update_fields=["stage", "key_count", "keys_handed_at"])
    _history(handover, HandoverEvent.Kind.KEYS, actor,
             ngettext("%(count)d key handed over.", "%(count)d keys handed over.", count)
             % {"count": count})
    return handover


@transaction.atomic
def handover_sign_off(*, actor: Any, handover_id: int, signed_by: str) -> HandoverUnit:
    """The owner signs the handover form: the unit is handed over in sales too (its live
    deal becomes delivered, the unit `delivered`, through `deal_deliver_for_handover`, which
    keeps the sales rule: paid in full), and the handover survey is sent. A deal not paid in
    full refuses the sign-off (`not_paid`, naming the amount owed) and nothing is written; a
    unit without a deal in Anju (sold before Anju, imported owners) is signed off and its
    history says so. One transaction."""
    from anju.sales.deals.services import DealError, deal_deliver_for_handover

    handover = _locked_handover(handover_id)
    if handover.stage != HandoverUnit.Stage.KEYS:
        raise CareError(_("Hand over the keys before signing off."), "wrong_stage")
    signer = _text(signed_by, "signed_by", max_length=50)
    try:
        deal, delivered_now = deal_deliver_for_handover(actor=actor, unit_id=handover.unit_id)
    except ValidationError as exc:
        messages = [m for ms in exc.message_dict.values() for m in ms] if hasattr(
            exc, "error_dict") else exc.messages
        raise CareError(" ".join(str(m) for m in messages), "not_paid") from None
    except DealError as exc:
        raise CareError(exc.message, "deal_state") from None
    handover.signed_by = signer
    handover.stage = HandoverUnit.Stage.SIGNED
    handover.signed_at = timezone.now()
    handover.save(update_fields=["stage", "signed_by", "signed_at"])
    _history(handover, HandoverEvent.Kind.SIGNED, actor,
             _("Signed off by %(name)s.") % {"name": signer})
    if deal is None:
        _history(handover, HandoverEvent.Kind.NO_DEAL, actor,
                 _("This unit has no deal in Anju (sold before Anju or imported): "
                   "nothing was delivered in sales."))
    else:
        _history(handover, HandoverEvent.Kind.DELIVERED, actor,
                 (_("Deal %(deal)s delivered: the unit is handed over.") if delivered_now
                  else _("Deal %(deal)s had already been delivered in sales."))
                 % {"deal": deal.contract_number or f"#{deal.pk}"})
    if handover.customer_id:
        survey_invite(customer=handover.customer, project=handover.batch.project,
                      trigger=SurveyTrigger.HANDOVER, reference=f"handover:{handover.pk}")
    return handover


# --- the inspection checklist, per project ------------------------------------------------------
ROOM_MAX, ITEM_MAX = 30, 50
ROOMS_LIMIT, ITEMS_LIMIT = 30, 40
CHECKLIST_ACTIONS = ("room_add", "room_rename", "room_up", "room_down", "room_remove",
                     "item_add", "item_rename", "item_up", "item_down", "item_remove")


def default_checklist() -> list[dict[str, Any]]:
    """The built-in checklist, in the stored shape."""
    return [{"room": room, "items": list(items)} for room, items in CHECKLIST.items()]


def batch_checklist(batch: HandoverBatch) -> list[dict[str, Any]]:
    """The checklist a batch inspects: its copy (a batch made before checklists were data
    has none: the built-in one)."""
    return batch.checklist or default_checklist()


def _name(value: Any, field: str, max_length: int) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise ValidationError({field: [_("Enter the name of the room or item.")]})
    if len(text) > max_length:
        raise ValidationError({field: [_("At most %(n)d characters.") % {"n": max_length}]})
    if "|" in text:
        raise ValidationError({field: [_("A name cannot contain “|”.")]})
    return text


@transaction.atomic
def checklist_template_open(*, actor: Any, company: Company,
                            project: Project | None = None) -> ChecklistTemplate:
    """The project's own checklist (or, without a project, the company's default), created
    as a copy of the checklist in force when there is none yet."""
    from .selectors import checklist_in_force

    if project is not None and project.company_id != company.pk:
        raise ValidationError({"project": [_("Choose a project of this company.")]})
    existing = ChecklistTemplate.objects.filter(company=company, project=project).first()
    if existing:
        return existing
    if project is not None:
        rooms, _source = checklist_in_force(project_id=project.pk)
    else:
        rooms = default_checklist()
    try:
        with transaction.atomic():
            return ChecklistTemplate.objects.create(company=company, project=project,
                                                    rooms=rooms,
                                                    updated_by=actor if getattr(
                                                        actor, "pk", None) else None)
    except IntegrityError:  # opened by someone else a moment ago
        return ChecklistTemplate.objects.get(company=company, project=project)


@transaction.atomic
def checklist_change(*, actor: Any, company: Company, project: Project | None = None,
                     action: str, room: str = "", item: str = "",
                     name: str = "") -> ChecklistTemplate:
    """One edit of a project's checklist (or, without a project, the company's default), on
    the locked row: add, rename, move up/down or remove a room (`room`) or an item (`room`,
    `item`); `name` is the new name for add/rename. The first edit of a project that has no
    checklist of its own makes one, a copy of the one in force, in the same transaction.
    Rooms and items are named, not numbered, so an edit never hits the wrong line after
    someone else's. Batches already created keep their copy."""
    if action not in CHECKLIST_ACTIONS:
        raise ValidationError({"action": [_("Choose what to change.")]})
    opened = checklist_template_open(actor=actor, company=company, project=project)
    template = ChecklistTemplate.objects.select_for_update().get(pk=opened.pk)
    rooms = [{"room": r["room"], "items": list(r["items"])} for r in template.rooms]
    names = [r["room"] for r in rooms]

    def find_room() -> dict[str, Any]:
        wanted = " ".join(str(room or "").split())
        for row in rooms:
            if row["room"] == wanted:
                return row
        raise ValidationError({"room": [_("There is no room “%(room)s” on this checklist.")
                                        % {"room": wanted}]})

    def move(rows: list, index: int, step: int) -> None:
        other = index + step
        if 0 <= other < len(rows):
            rows[index], rows[other] = rows[other], rows[index]

    if action == "room_add":
        new = _name(name, "name", ROOM_MAX)
        if new in names:
            raise ValidationError({"name": [_("There is already a room “%(room)s”.")
                                            % {"room": new}]})
        if len(rooms) >= ROOMS_LIMIT:
            raise ValidationError({"name": [_("A checklist has at most %(n)d rooms.")
                                            % {"n": ROOMS_LIMIT}]})
        rooms.append({"room": new, "items": []})
    elif action.startswith("room_"):
        row = find_room()
        index = rooms.index(row)
        if action == "room_rename":
            new = _name(name, "name", ROOM_MAX)
            if new != row["room"] and new in names:
                raise ValidationError({"name": [_("There is already a room “%(room)s”.")
                                                % {"room": new}]})
            row["room"] = new
        elif action == "room_remove":
            rooms.pop(index)
        else:
            move(rooms, index, -1 if action == "room_up" else 1)
    else:
        row = find_room()
        things = row["items"]
        if action == "item_add":
            new = _name(name, "name", ITEM_MAX)
            if new in things:
                raise ValidationError({"name": [_("%(room)s already has “%(item)s”.")
                                                % {"room": row["room"], "item": new}]})
            if len(things) >= ITEMS_LIMIT:
                raise ValidationError({"name": [_("A room has at most %(n)d items.")
                                                % {"n": ITEMS_LIMIT}]})
            things.append(new)
        else:
            wanted = " ".join(str(item or "").split())
            if wanted not in things:
                raise ValidationError({"item": [_("%(room)s has no item “%(item)s”.")
                                                % {"room": row["room"], "item": wanted}]})
            index = things.index(wanted)
            if action == "item_rename":
                new = _name(name, "name", ITEM_MAX)
                if new != wanted and new in things:
                    raise ValidationError({"name": [_("%(room)s already has “%(item)s”.")
                                                    % {"room": row["room"], "item": new}]})
                things[index] = new
            elif action == "item_remove":
                things.pop(index)
            else:
                move(things, index, -1 if action == "item_up" else 1)
    if not any(r["items"] for r in rooms):
        raise ValidationError({"items": [_("A checklist needs at least one item.")]})
    template.rooms = rooms
    template.updated_by = actor if getattr(actor, "pk", None) else None
    template.save(update_fields=["rooms", "updated_by", "updated_at"])
    return template


@transaction.atomic
def checklist_reset(*, actor: Any, company: Company, project: Project | None = None) -> None:
    """Drops a project's own checklist (or a company's default): the next one in line (the
    company's default, then the built-in one) applies to new batches again; batches already
    made keep their copy."""
    template = (ChecklistTemplate.objects.select_for_update()
                .filter(company=company, project=project).first())
    if template is not None:
        template.delete()
