"""Every write of opportunities: one function per business action, keyword-only arguments,
atomic, checked against the acting user's data scope. Pages and the API both call these.

What a write keeps in step, in the same transaction: the stage history
(`OpportunityStageChange`), the funnel's cells (`funnel.py`), and for quotes the approval
notices in the inbox."""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.models import Company, Project, Role, User
from anju.core.locking import VersionConflict, update_versioned
from anju.core.money import MoneyError, format_yuan, percent_of, to_decimal, to_fen
from anju.core.notifications import notify
from anju.customers.models import Customer
from anju.sales.models.opportunities import (
    DiscountPolicy,
    LostReason,
    Opportunity,
    OpportunityStage,
    OpportunityStageChange,
    PaymentMethod,
    Quote,
    QuoteDiscount,
    StageProbability,
)

from . import funnel
from .funnel import MAIN_PATH, RANK

__all__ = [
    "DEFAULT_PROBABILITIES",
    "IllegalMove",
    "VersionConflict",
    "allowed_moves",
    "opportunity_create",
    "opportunity_follow_deal",
    "opportunity_move",
    "opportunity_update",
    "quote_approve",
    "quote_create",
    "quote_price",
    "quote_reject",
    "stage_probability_set",
    "win_probabilities",
]

Stage = OpportunityStage
OPEN_STAGES = (Stage.FIRST_VISIT, Stage.NEEDS_CONFIRMED, Stage.UNITS_RECOMMENDED,
               Stage.NEGOTIATION)
CLOSED_STAGES = (Stage.WON, Stage.LOST)

# Win probability (%) of each stage where no company or global row says otherwise.
DEFAULT_PROBABILITIES = {
    Stage.FIRST_VISIT: 10, Stage.NEEDS_CONFIRMED: 20, Stage.UNITS_RECOMMENDED: 35,
    Stage.NEGOTIATION: 55, Stage.RESERVED: 80, Stage.CONTRACTED: 95, Stage.WON: 100,
    Stage.LOST: 0,
}


def allowed_moves(stage: str) -> tuple[str, ...]:
    """The stages an opportunity in `stage` may move to, in board order.

    Open stages move freely among themselves (forward, or back when the customer
    reconsiders), on to reserved, or to lost; reserved goes on to contracted, back to
    negotiation (the reservation fell through) or to lost; contracted to won or lost (a
    cancelled contract); lost reopens into an open stage; won is final."""
    if stage in OPEN_STAGES:
        return (*(s for s in OPEN_STAGES if s != stage), Stage.RESERVED, Stage.LOST)
    if stage == Stage.RESERVED:
        return (Stage.NEGOTIATION, Stage.CONTRACTED, Stage.LOST)
    if stage == Stage.CONTRACTED:
        return (Stage.WON, Stage.LOST)
    if stage == Stage.LOST:
        return OPEN_STAGES
    return ()


class IllegalMove(ValidationError):
    """A stage move the rules refuse; the message says why (field `stage`)."""

    def __init__(self, message: str) -> None:
        super().__init__({"stage": [ValidationError(message, code="illegal_move")]})


def _label(stage: str) -> str:
    return str(Stage(stage).label) if stage in Stage.values else stage


def _refusal(current: str, target: str) -> str:
    names = {"from": _label(current), "to": _label(target)}
    if current == target:
        return _("The opportunity is already in “%(to)s”.") % names
    if current == Stage.WON:
        return _("A won opportunity is closed; it cannot move to “%(to)s”.") % names
    if target == Stage.CONTRACTED:
        return _("Only a reserved opportunity can be contracted (it is in “%(from)s”).") % names
    if target == Stage.WON:
        return _("Only a contracted opportunity can be won (it is in “%(from)s”).") % names
    if current == Stage.LOST:
        return _("A lost opportunity can only be reopened into an open stage, not “%(to)s”."
                 ) % names
    return _("An opportunity cannot move from “%(from)s” to “%(to)s”.") % names


# --- helpers ----------------------------------------------------------------------------------
def _require_authenticated(actor: Any) -> None:
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", True):
        raise PermissionDenied(_("You are not allowed to do this."))


def visible_opportunity(actor: User, opportunity: Opportunity | int, *,
                        lock: bool = False) -> Opportunity:
    """The opportunity through the actor's scope (PermissionDenied when out of it)."""
    _require_authenticated(actor)
    pk = opportunity.pk if isinstance(opportunity, Opportunity) else opportunity
    rows = Opportunity.objects.visible_to(actor)
    if lock:
        rows = rows.select_for_update()
    found = rows.filter(pk=pk).first()
    if found is None:
        raise PermissionDenied(_("You may not change this opportunity."))
    return found


def _clean_money(value: Any, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise ValidationError({field: _("Enter an amount in yuan.")}) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError({field: _("Enter an amount of zero or more.")})
    if amount >= Decimal("1e12"):
        raise ValidationError({field: _("This amount is too large.")})
    return to_fen(amount)


def _clean_date(value: Any, field: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise ValidationError({field: _("Enter a valid date.")})
    return value


def _check_owner(actor: User, owner: User | None, project: Project) -> User:
    if owner is None:
        return actor
    if not User.objects.visible_to(actor).filter(pk=owner.pk, is_active=True).exists():
        raise ValidationError({"owner": _("Choose a consultant you can see.")})
    return owner


# --- create, update, move ------------------------------------------------------------------
@transaction.atomic
def opportunity_create(*, actor: User, customer: Customer | int, project: Project | int,
                       owner: User | None = None, expected_value: Any = None,
                       expected_close_date: datetime.date | None = None,
                       stage: str = Stage.FIRST_VISIT, note: str = "") -> Opportunity:
    """Opens an opportunity for a customer in a project; one open opportunity per customer and
    project. It may start in any open stage (a walk-in whose needs are already clear)."""
    _require_authenticated(actor)
    customer_pk = customer.pk if isinstance(customer, Customer) else customer
    found = (Customer.objects.visible_to(actor).filter(pk=customer_pk, merged_into__isnull=True)
             .first())
    if found is None:
        raise ValidationError({"customer": _("Choose a customer you can see.")})
    project_pk = project.pk if isinstance(project, Project) else project
    project_row = Project.objects.visible_to(actor).filter(pk=project_pk).first()
    if project_row is None:
        raise ValidationError({"project": _("Choose a project you can see.")})
    if project_row.company_id != found.company_id:
        raise ValidationError({"project": _("This project belongs to another company than the "
                                            "customer.")})
    if stage not in OPEN_STAGES:
        raise ValidationError({"stage": _("A new opportunity starts in an open stage.")})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, check in (("expected_value", lambda: _clean_money(expected_value,
                                                                "expected_value")),
                        ("expected_close_date", lambda: _clean_date(expected_close_date,
                                                                    "expected_close_date"))):
        try:
            values[name] = check()
        except ValidationError as error:
            errors.update({key: messages[0] for key, messages in error.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    owner = _check_owner(actor, owner, project_row)
    if Opportunity.objects.filter(customer=found, project=project_row).exclude(
            stage__in=CLOSED_STAGES).exists():
        raise ValidationError({"project": _("This customer already has an open opportunity in "
                                            "this project.")})
    now = timezone.now()
    try:
        with transaction.atomic():
            opportunity = Opportunity.objects.create(
                customer=found, project=project_row, owner=owner, stage=stage,
                stage_entered_at=now, reached_rank=RANK[stage], **values)
    except IntegrityError:
        raise ValidationError({"project": _("This customer already has an open opportunity "
                                            "in this project.")}) from None
    OpportunityStageChange.objects.create(opportunity=opportunity, from_stage="", to_stage=stage,
                                          changed_by=actor, changed_at=now,
                                          note=(note or "")[:500])
    funnel.record_opened(opportunity)
    if not Opportunity.objects.visible_to(actor).filter(pk=opportunity.pk).exists():
        raise ValidationError({"owner": _("You would not be able to see this opportunity: "
                                          "choose yourself or a consultant of your team.")})
    return opportunity


@transaction.atomic
def opportunity_move(*, actor: User, opportunity: Opportunity | int, to_stage: str,
                     lost_reason: str = "", lost_note: str = "", note: str = "",
                     at: datetime.datetime | None = None) -> Opportunity:
    """Moves the opportunity to `to_stage` if the rules allow it from its current stage (read
    under a row lock); a move to lost needs a reason. Writes the history row and the funnel."""
    current = visible_opportunity(actor, opportunity, lock=True)
    if to_stage not in Stage.values:
        raise ValidationError({"stage": _("Select a valid stage.")})
    if to_stage not in allowed_moves(current.stage):
        raise IllegalMove(_refusal(current.stage, to_stage))
    lost_note = " ".join((lost_note or "").split())
    if to_stage == Stage.LOST:
        if not lost_reason:
            raise ValidationError({"lost_reason": _("Say why the opportunity was lost.")})
        if lost_reason not in LostReason.values:
            raise ValidationError({"lost_reason": _("Select a valid reason.")})
        if lost_reason == LostReason.OTHER and not lost_note:
            raise ValidationError({"lost_note": _("Describe the reason in a few words.")})
        if len(lost_note) > 500:
            raise ValidationError({"lost_note": _("At most %(limit)d characters.")
                                   % {"limit": 500}})
    return _apply_move(current, actor=actor, to_stage=to_stage, lost_reason=lost_reason,
                       lost_note=lost_note, note=note, at=at)


def _apply_move(current: Opportunity, *, actor: Any, to_stage: str, lost_reason: str = "",
                lost_note: str = "", note: str = "",
                at: datetime.datetime | None = None) -> Opportunity:
    """The bookkeeping of a checked move on a locked row: the row, the history, the funnel."""
    now = at or timezone.now()
    seconds = max(0, int((now - current.stage_entered_at).total_seconds()))
    from_stage, reached_before = current.stage, current.reached_rank
    current.stage = to_stage
    current.stage_entered_at = now
    current.reached_rank = max(reached_before, RANK.get(to_stage, 0))
    if to_stage == Stage.LOST:
        current.lost_reason, current.lost_note = lost_reason, lost_note
    else:
        current.lost_reason, current.lost_note = "", ""
    current.closed_at = now if to_stage in CLOSED_STAGES else None
    current.version += 1
    try:
        with transaction.atomic():
            current.save(update_fields=["stage", "stage_entered_at", "reached_rank",
                                        "lost_reason", "lost_note", "closed_at", "version",
                                        "updated_at"])
    except IntegrityError:  # reopening while another open opportunity exists
        raise IllegalMove(_("The customer has another open opportunity in this project; "
                            "this one cannot be reopened.")) from None
    OpportunityStageChange.objects.create(
        opportunity=current, from_stage=from_stage, to_stage=to_stage, changed_by=actor,
        changed_at=now, seconds_in_from_stage=seconds, note=(note or "")[:500])
    funnel.record_move(current, from_stage=from_stage, to_stage=to_stage, seconds=seconds,
                       reached_before=reached_before)
    return current


UPDATABLE = ("expected_value", "expected_close_date", "owner")


@transaction.atomic
def opportunity_update(*, actor: User, opportunity: Opportunity | int, expected_version: int,
                       **changes: Any) -> Opportunity:
    """Changes the expected value, the expected close date or the consultant; raises
    `VersionConflict` when someone saved first. The stage changes only by `opportunity_move`."""
    current = visible_opportunity(actor, opportunity)
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise TypeError(f"opportunity_update does not change {sorted(unknown)}")
    values: dict[str, Any] = {}
    if "expected_value" in changes:
        values["expected_value"] = _clean_money(changes["expected_value"], "expected_value")
    if "expected_close_date" in changes:
        values["expected_close_date"] = _clean_date(changes["expected_close_date"],
                                                    "expected_close_date")
    old_owner_id = current.owner_id
    if "owner" in changes:
        values["owner"] = _check_owner(actor, changes["owner"], current.project)
    old_value = current.expected_value
    updated = update_versioned(current, expected_version=expected_version, changes=values)
    if updated.expected_value != old_value:
        funnel.record_value_change(
            Opportunity(pk=updated.pk, created_at=updated.created_at,
                        project_id=updated.project_id, owner_id=old_owner_id,
                        stage=updated.stage, expected_value=updated.expected_value),
            old_value=old_value)
    if updated.owner_id != old_owner_id:
        funnel.record_owner_change(updated, old_owner_id=old_owner_id)
    return updated


# --- win probabilities -----------------------------------------------------------------------
def win_probabilities(*, company_id: int | None) -> dict[str, int]:
    """Stage → win probability (%) for a company: its own rows, else the global rows, else
    the defaults (one query)."""
    result = dict(DEFAULT_PROBABILITIES)
    rows = StageProbability.objects.filter(company__isnull=True)
    if company_id is not None:
        rows = rows | StageProbability.objects.filter(company_id=company_id)
    for _company, stage, probability in sorted(
            rows.values_list("company_id", "stage", "probability"),
            key=lambda row: row[0] is not None):
        result[stage] = probability
    return result


@transaction.atomic
def stage_probability_set(*, actor: User, stage: str, probability: int,
                          company: Company | None = None) -> StageProbability:
    """Sets a stage's win probability for a company (or for all, `company=None`); admins."""
    _require_authenticated(actor)
    if not actor.may("edit_organisation"):
        raise PermissionDenied(_("Only administrators configure win probabilities."))
    if stage not in Stage.values:
        raise ValidationError({"stage": _("Select a valid stage.")})
    try:
        probability = int(probability)
    except (TypeError, ValueError):
        raise ValidationError({"probability": _("Enter a whole number from 0 to 100.")}) from None
    if not 0 <= probability <= 100:
        raise ValidationError({"probability": _("Enter a whole number from 0 to 100.")})
    if company is not None and not Company.objects.visible_to(actor).filter(
            pk=company.pk).exists():
        raise ValidationError({"company": _("Choose a company you can see.")})
    row, _created = StageProbability.objects.update_or_create(
        company=company, stage=stage, defaults={"probability": probability})
    return row


def stage_rank(stage: str) -> int:
    return RANK.get(stage, 0)


MAIN_STAGES = MAIN_PATH


# --- customer merge -----------------------------------------------------------------------------
def opportunities_merge(*, survivor: Customer, merged: Customer, actor: Any,
                        field_choices: dict[str, str]) -> int:
    """Merge handler (`anju.customers.merging.merge_handlers`): the merged customer's
    opportunities move to the survivor. Where both have an open one in the same project, the
    survivor's stays open and the merged one is closed as lost (duplicate) first, through the
    move service, so its history and the funnel stay right."""
    open_projects = set(Opportunity.objects.filter(customer=survivor).exclude(
        stage__in=CLOSED_STAGES).values_list("project_id", flat=True))
    clashing = Opportunity.objects.filter(customer=merged, project_id__in=open_projects).exclude(
        stage__in=CLOSED_STAGES).select_for_update()
    for opportunity in clashing:
        if Stage.LOST not in allowed_moves(opportunity.stage):
            continue  # pragma: no cover (every open stage may be lost)
        _close_as_duplicate(opportunity, actor=actor)
    return Opportunity.objects.filter(customer=merged).update(customer=survivor)


def _close_as_duplicate(opportunity: Opportunity, *, actor: Any) -> None:
    note = _("Customers merged; the survivor's opportunity goes on.")
    _apply_move(opportunity, actor=actor, to_stage=Stage.LOST,
                lost_reason=LostReason.DUPLICATE, lost_note=note, note=note)


# --- quotes and discount approval ----------------------------------------------------------------
MAX_DISCOUNT_LINES = 10


@dataclass(frozen=True)
class QuotePrice:
    """The sums of a quote, each to the fen (half up): discounts are applied in order, a
    percentage of the price so far or an amount off; `discount_percent` is of the list price."""

    list_price: Decimal
    final_price: Decimal
    discount_amount: Decimal
    discount_percent: Decimal
    lines: tuple[dict, ...]


def quote_price(*, list_price: Any, discounts: list[dict]) -> QuotePrice:
    """Prices a quote; raises ValidationError (field `discounts`) on a bad line."""
    base = to_fen(list_price)
    price = base
    lines = []
    errors = []
    if len(discounts) > MAX_DISCOUNT_LINES:
        raise ValidationError({"discounts": _("At most %(limit)d discount lines.")
                               % {"limit": MAX_DISCOUNT_LINES}})
    for index, line in enumerate(discounts, start=1):
        label = " ".join(str(line.get("label") or "").split())[:100]
        percent, amount = line.get("percent"), line.get("amount")
        percent = None if percent in (None, "") else percent
        amount = None if amount in (None, "") else amount
        prefix = _("Discount %(index)d: ") % {"index": index}
        if not label:
            errors.append(prefix + _("give it a name."))
            continue
        if (percent is None) == (amount is None):
            errors.append(prefix + _("give either a percentage or an amount."))
            continue
        try:
            value = to_decimal(percent if percent is not None else amount)
        except MoneyError:
            errors.append(prefix + _("enter a number."))
            continue
        if percent is not None:
            if not Decimal(0) < value < Decimal(100):
                errors.append(prefix + _("a percentage is between 0 and 100."))
                continue
            cut = to_fen(price * value / Decimal(100))
        else:
            if value <= 0:
                errors.append(prefix + _("an amount is above zero."))
                continue
            cut = to_fen(value)
        price -= cut
        lines.append({"label": label, "percent": value if percent is not None else None,
                      "amount": value if amount is not None else None, "cut": cut})
    if errors:
        raise ValidationError({"discounts": errors})
    if price <= 0:
        raise ValidationError({"discounts": _("The discounts leave nothing to pay.")})
    discount = base - price
    percent = (discount * 100 / base).quantize(Decimal("0.0001")) if base else Decimal(0)
    return QuotePrice(list_price=base, final_price=price, discount_amount=discount,
                      discount_percent=percent, lines=tuple(lines))


def discount_allowed(*, actor: User, payment_method: str) -> Decimal:
    """The largest discount (%) the actor's role may give for a payment method without
    approval: the method's policy, else the role's policy for any method, else none."""
    role_id = getattr(actor, "role_id", None)
    if role_id is None:
        return Decimal(0)
    rows = dict(DiscountPolicy.objects.filter(
        role_id=role_id, payment_method__in=[payment_method, ""]).values_list(
        "payment_method", "max_discount_percent"))
    value = rows.get(payment_method, rows.get(""))
    return Decimal(0) if value is None else value


@transaction.atomic
def discount_policy_set(*, actor: User, role: Role, payment_method: str = "",
                        max_discount_percent: Any) -> DiscountPolicy:
    """Admins set a role's discount limit (for one payment method, or '' for any)."""
    _require_authenticated(actor)
    if not actor.may("edit_organisation"):
        raise PermissionDenied(_("Only administrators configure discount policies."))
    if payment_method and payment_method not in PaymentMethod.values:
        raise ValidationError({"payment_method": _("Select a valid payment method.")})
    try:
        value = to_decimal(max_discount_percent)
    except MoneyError:
        raise ValidationError({"max_discount_percent": _("Enter a percentage from 0 to 100."
                                                         )}) from None
    if not Decimal(0) <= value <= Decimal(100):
        raise ValidationError({"max_discount_percent": _("Enter a percentage from 0 to 100.")})
    row, _created = DiscountPolicy.objects.update_or_create(
        role=role, payment_method=payment_method or "",
        defaults={"max_discount_percent": value.quantize(Decimal("0.01"))})
    return row


def approvers_for(quote: Quote) -> list[User]:
    """Active users holding `approve_deals` who can see the quote (its creator left out)."""
    candidates = (User.objects.filter(is_active=True)
                  .filter(Q(role__can_approve_deals=True) | Q(is_superuser=True))
                  .exclude(pk=quote.created_by_id).select_related("role"))
    return [user for user in candidates
            if Quote.objects.visible_to(user).filter(pk=quote.pk).exists()]


def _quote_url(quote: Quote) -> str:
    return reverse("sales:quote_detail", args=[quote.pk])


@transaction.atomic
def quote_create(*, actor: User, opportunity: Opportunity | int, unit: Any,
                 payment_method: str, discounts: list[dict] | None = None,
                 valid_until: datetime.date | None = None, note: str = "") -> Quote:
    """Prices a unit for the opportunity's customer. Within the actor's role limit (and not
    below the unit's floor price) the quote is issued at once; beyond it, it waits for a user
    holding `approve_deals`, who gets an inbox notice."""
    from anju.property.models import Unit

    current = visible_opportunity(actor, opportunity)
    if not current.is_open:
        raise ValidationError({"opportunity": _("The opportunity is closed; reopen it to "
                                                "quote.")})
    unit_pk = getattr(unit, "pk", unit)
    found = (Unit.objects.visible_to(actor).select_related("building")
             .filter(pk=_int_or_none(unit_pk) or 0).first())
    if found is None:
        raise ValidationError({"unit": _("Choose a unit you can see.")})
    if found.building.project_id != current.project_id:
        raise ValidationError({"unit": _("The unit is not in the opportunity's project.")})
    if found.status not in (Unit.Status.AVAILABLE, Unit.Status.HELD):
        raise ValidationError({"unit": _("The unit is not for sale (it is %(status)s).")
                               % {"status": found.get_status_display()}})
    if payment_method not in PaymentMethod.values:
        raise ValidationError({"payment_method": _("Select a valid payment method.")})
    valid_until = _clean_date(valid_until, "valid_until")
    if valid_until is not None and valid_until < timezone.localdate():
        raise ValidationError({"valid_until": _("The date is in the past.")})
    price = quote_price(list_price=found.list_price, discounts=list(discounts or []))
    allowed = discount_allowed(actor=actor, payment_method=payment_method)
    below_floor = found.floor_price is not None and price.final_price < found.floor_price
    within = price.discount_amount <= percent_of(price.list_price, allowed) and not below_floor
    quote = Quote.objects.create(
        opportunity=current, unit=found, payment_method=payment_method,
        list_price=price.list_price, discount_amount=price.discount_amount,
        final_price=price.final_price, discount_percent=price.discount_percent,
        allowed_percent=allowed, below_floor_price=below_floor,
        status=Quote.Status.ISSUED if within else Quote.Status.PENDING,
        valid_until=valid_until, note=" ".join((note or "").split())[:500], created_by=actor)
    QuoteDiscount.objects.bulk_create([
        QuoteDiscount(quote=quote, position=index, label=line["label"], percent=line["percent"],
                      amount=line["amount"])
        for index, line in enumerate(price.lines)])
    if not within:
        approvers = approvers_for(quote)
        if not approvers:
            raise ValidationError({"discounts": _(
                "The discount is beyond your limit and nobody can approve it for this project."
            )})
        notify(recipients=approvers, kind="sales.quote_approval",
               title=_("Discount to approve: %(unit)s, %(percent)s%% off") % {
                   "unit": found.label, "percent": price.discount_percent.normalize()},
               body=_("%(user)s quoted %(price)s for %(unit)s (limit %(allowed)s%%).") % {
                   "user": actor, "price": format_yuan(price.final_price), "unit": found.label,
                   "allowed": allowed.normalize()},
               url=_quote_url(quote), level="warning")
    return quote


def _decide(actor: User, quote: Quote | int, *, approve: bool, comment: str) -> Quote:
    _require_authenticated(actor)
    if not actor.may("approve_deals"):
        raise PermissionDenied(_("You may not approve discounts."))
    pk = getattr(quote, "pk", quote)
    current = (Quote.objects.visible_to(actor).select_for_update().select_related("unit")
               .filter(pk=pk).first())
    if current is None:
        raise PermissionDenied(_("You may not decide on this quote."))
    if current.created_by_id == actor.pk:
        raise PermissionDenied(_("Someone else must approve your own quote."))
    comment = " ".join((comment or "").split())
    if not approve and not comment:
        raise ValidationError({"comment": _("Say why the discount is rejected.")})
    if len(comment) > 500:
        raise ValidationError({"comment": _("At most %(limit)d characters.") % {"limit": 500}})
    if current.status != Quote.Status.PENDING:
        raise ValidationError({"status": _("This quote was already decided (%(status)s).")
                               % {"status": current.get_status_display()}})
    current.status = Quote.Status.ISSUED if approve else Quote.Status.REJECTED
    current.decided_by, current.decided_at = actor, timezone.now()
    current.decision_comment = comment
    current.save(update_fields=["status", "decided_by", "decided_at", "decision_comment",
                                "updated_at"])
    title = (_("Discount approved: %(unit)s") if approve else _("Discount rejected: %(unit)s")
             ) % {"unit": current.unit.label}
    notify(recipients=[current.created_by], kind="sales.quote_decision", title=title,
           body=_("%(user)s: %(comment)s") % {"user": actor, "comment": comment or "—"},
           url=_quote_url(current), level="info" if approve else "warning")
    return current


@transaction.atomic
def quote_approve(*, actor: User, quote: Quote | int, comment: str = "") -> Quote:
    """A user holding `approve_deals` issues a quote that waited for approval."""
    return _decide(actor, quote, approve=True, comment=comment)


@transaction.atomic
def quote_reject(*, actor: User, quote: Quote | int, comment: str) -> Quote:
    """A user holding `approve_deals` refuses the discount, saying why."""
    return _decide(actor, quote, approve=False, comment=comment)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@transaction.atomic
def discount_policies_replace(*, actor: User, limits: dict[tuple[str, str], Any]) -> int:
    """Sets many limits at once (the settings page): {(role code, method or ''): percent or
    None}; None removes the row (the role falls back to its "any method" row, else 0 %).
    All or nothing: one bad value names its cell and nothing is saved."""
    _require_authenticated(actor)
    if not actor.may("edit_organisation"):
        raise PermissionDenied(_("Only administrators configure discount policies."))
    roles = {role.code: role for role in Role.objects.all()}
    changed = 0
    errors = {}
    for (code, method), value in limits.items():
        field = f"limit_{code}_{method or 'any'}"
        if code not in roles or (method and method not in PaymentMethod.values):
            errors[field] = _("Select a valid payment method.")
            continue
        if value in (None, ""):
            changed += DiscountPolicy.objects.filter(role=roles[code],
                                                     payment_method=method).delete()[0]
            continue
        try:
            discount_policy_set(actor=actor, role=roles[code], payment_method=method,
                                max_discount_percent=value)
            changed += 1
        except ValidationError:
            errors[field] = _("Enter a percentage from 0 to 100.")
    if errors:
        raise ValidationError(errors)
    return changed


@transaction.atomic
def stage_probabilities_replace(*, actor: User, company: Company | None,
                                values: dict[str, Any]) -> None:
    """Sets the probabilities of several stages for a company (or globally); None removes the
    row (the stage falls back to the global row, else the default). All or nothing."""
    errors = {}
    for stage, value in values.items():
        if value in (None, ""):
            if not actor.may("edit_organisation"):
                raise PermissionDenied(_("Only administrators configure win probabilities."))
            StageProbability.objects.filter(company=company, stage=stage).delete()
            continue
        try:
            stage_probability_set(actor=actor, stage=stage, probability=value, company=company)
        except ValidationError as error:
            errors[f"probability_{stage}"] = error.messages[0]
    if errors:
        raise ValidationError(errors)


# --- following the deals ------------------------------------------------------------------
DEAL_EVENTS = {"reserved": Stage.RESERVED, "contracted": Stage.CONTRACTED,
               "delivered": Stage.WON}


@transaction.atomic
def opportunity_follow_deal(*, actor: Any, customer: Customer | int, project: Project | int,
                            event: str, note: str = "") -> Opportunity | None:
    """Called by the deal services in their transaction: a reservation, a contract or a
    handover (`event` reserved / contracted / delivered) carries the customer's open
    opportunity in the project forward (never back), through reserved when it skips it; one is
    opened for the customer's consultant when there is none. A cancellation (`cancelled`)
    sends a reserved opportunity back to negotiation and closes a contracted one as lost.
    Bookkeeping of an allowed deal action: the actor's scope was checked by the deal."""
    customer_pk = getattr(customer, "pk", customer)
    project_pk = getattr(project, "pk", project)
    current = (Opportunity.objects.select_for_update()
               .filter(customer_id=customer_pk, project_id=project_pk)
               .exclude(stage__in=CLOSED_STAGES).first())
    if event == "cancelled":
        if current is None:
            return None
        if current.stage == Stage.RESERVED:
            return _apply_move(current, actor=actor, to_stage=Stage.NEGOTIATION,
                               note=note)
        if current.stage == Stage.CONTRACTED:
            return _apply_move(current, actor=actor, to_stage=Stage.LOST,
                               lost_reason=LostReason.OTHER,
                               lost_note=note or _("The contract was cancelled."))
        return current
    target = DEAL_EVENTS.get(event)
    if target is None:
        raise ValueError(f"unknown deal event {event!r}")
    if current is None:
        found = Customer.objects.filter(pk=customer_pk).only("id", "owner_id").first()
        if found is None:
            return None
        now = timezone.now()
        current = Opportunity.objects.create(
            customer_id=customer_pk, project_id=project_pk,
            owner_id=found.owner_id or getattr(actor, "pk", None),
            stage=Stage.FIRST_VISIT, stage_entered_at=now, reached_rank=1)
        OpportunityStageChange.objects.create(opportunity=current, from_stage="",
                                              to_stage=Stage.FIRST_VISIT, changed_by=actor,
                                              changed_at=now, note=(note or "")[:500])
        funnel.record_opened(current)
    for stage in MAIN_PATH[RANK[Stage.RESERVED] - 1: RANK[target]]:
        if RANK.get(current.stage, 0) >= RANK[stage]:
            continue
        current = _apply_move(current, actor=actor, to_stage=stage, note=note)
    return current
