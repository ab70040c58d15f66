"""Every write of opportunities: one function per business action, keyword-only arguments,
atomic, checked against the acting user's data scope. Pages and the API both call these.

What a write keeps in step, in the same transaction: the stage history
(`OpportunityStageChange`), the funnel's cells (`funnel.py`), and for quotes the approval
notices in the inbox."""

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.models import Company, Project, User
from anju.core.locking import VersionConflict, update_versioned
from anju.customers.models import Customer
from anju.sales.models.opportunities import (
    LostReason,
    Opportunity,
    OpportunityStage,
    OpportunityStageChange,
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
    "opportunity_move",
    "opportunity_update",
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
    from anju.core.money import to_fen

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
    updated = update_versioned(current, expected_version=expected_version, changes=values)
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
    now = timezone.now()
    seconds = max(0, int((now - opportunity.stage_entered_at).total_seconds()))
    from_stage = opportunity.stage
    opportunity.stage, opportunity.stage_entered_at, opportunity.closed_at = Stage.LOST, now, now
    opportunity.lost_reason = LostReason.DUPLICATE
    opportunity.lost_note = _("Customers merged; the survivor's opportunity goes on.")
    opportunity.version += 1
    opportunity.save(update_fields=["stage", "stage_entered_at", "closed_at", "lost_reason",
                                    "lost_note", "version", "updated_at"])
    OpportunityStageChange.objects.create(
        opportunity=opportunity, from_stage=from_stage, to_stage=Stage.LOST, changed_by=actor,
        changed_at=now, seconds_in_from_stage=seconds, note=opportunity.lost_note[:500])
    funnel.record_move(opportunity, from_stage=from_stage, to_stage=Stage.LOST,
                       seconds=seconds, reached_before=opportunity.reached_rank)
