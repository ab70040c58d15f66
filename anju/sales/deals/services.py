"""Every write of a deal: one function per business action, keyword-only arguments, atomic,
its timeline event and its inbox notices in the same transaction (outside deliveries of a
notice and the board's news are sent on commit, so a rolled-back action tells nobody).
Pages, the API and the periodic jobs all call these.

A unit's state moves only through `anju.property.services.unit_transition` (row lock +
conditional update + history). A new deal row is inserted *before* its unit is moved, so
the partial unique index `deal_one_live_per_unit` is the first gate a racing request meets
(PostgreSQL makes the second insert wait for the first transaction, then refuses it) and the
unit's own state check the second; either refusal is `DealError(code="unit_taken")`, which
the API answers with 409 (docs/decisions/0007-one-live-deal-per-unit.md)."""

import datetime
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.models import Project, User
from anju.core import audit
from anju.core.money import MoneyError, format_yuan, to_fen
from anju.core.notifications import notify
from anju.customers import services as customer_services
from anju.customers.models import Customer, Interaction, Stage
from anju.leads.services import registration_credit_deal
from anju.property.models import Unit
from anju.property.services import UnitTransitionError, unit_transition
from anju.sales.models.deals import (
    LIVE_STATUSES,
    ContractNumberRule,
    Deal,
    DealBuyer,
    DealChangeRequest,
    DealEvent,
    DealPaymentMethod,
    DealStatus,
    Instalment,
    LoanStatus,
    Payment,
)

US = Unit.Status
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")

__all__ = [
    "DealError",
    "InstalmentLine",
    "change_request_create",
    "change_request_decide",
    "collection_follow_up_log",
    "deal_contract",
    "deal_deliver",
    "deal_deliver_for_handover",
    "deal_hold",
    "deal_hold_release",
    "deal_reserve",
    "deals_expire",
    "instalments_overdue_flag",
    "loan_status_set",
    "payment_record",
]


class DealError(Exception):
    """A refused deal action that is not bad input but the state of things: `code` is
    "unit_taken" (someone else holds the unit), "illegal_move" (not from this deal state),
    "state_changed" or "not_found". The API answers 409; pages show `message`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class InstalmentLine:
    kind: str
    due_date: datetime.date
    amount: Decimal
    bank: str = ""


def hold_hours() -> int:
    return int(getattr(settings, "ANJU_DEAL_HOLD_HOURS", 24))


def reservation_days() -> int:
    return int(getattr(settings, "ANJU_DEAL_RESERVATION_DAYS", 7))


# --- helpers --------------------------------------------------------------------------------
def _require_user(actor: Any) -> None:
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", True):
        raise PermissionDenied(_("You are not allowed to do this."))


def _money(value: Any, field: str, *, allow_zero: bool = True) -> Decimal:
    try:
        amount = to_fen(value)
    except MoneyError:
        raise ValidationError({field: _("Enter an amount in yuan, e.g. 20000.00.")}) from None
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError({field: _("Enter an amount above zero.")})
    if amount >= Decimal("1e12"):
        raise ValidationError({field: _("This amount is too large.")})
    return amount


def _visible_unit(actor: User, unit: Unit | int) -> Unit:
    pk = unit.pk if isinstance(unit, Unit) else unit
    found = (Unit.objects.visible_to(actor).select_related("building__project")
             .filter(pk=pk).first())
    if found is None:
        raise ValidationError({"unit": _("There is no such unit among the projects you see.")})
    return found


def _visible_customer(actor: User, customer: Customer | int, field: str = "customer"
                      ) -> Customer:
    pk = customer.pk if isinstance(customer, Customer) else customer
    found = (Customer.objects.visible_to(actor).filter(pk=pk, merged_into__isnull=True)
             .first())
    if found is None:
        raise ValidationError({field: _("Choose one of your customers.")})
    return found


def visible_deal(actor: User, deal: Deal | int, *, lock: bool = True) -> Deal:
    """The deal through the actor's scope, locked for the action (PermissionDenied if out)."""
    _require_user(actor)
    pk = deal.pk if isinstance(deal, Deal) else deal
    queryset = Deal.objects.visible_to(actor).filter(pk=pk)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    found = queryset.select_related("unit", "project", "customer").first()
    if found is None:
        raise PermissionDenied(_("You may not change this deal."))
    return found


def _status_label(status: str) -> str:
    return str(DealStatus(status).label)


def _require_status(deal: Deal, *allowed: str, action: str) -> None:
    if deal.status not in allowed:
        raise DealError(_("This deal is %(status)s: it cannot be %(action)s.") % {
            "status": _status_label(deal.status), "action": action}, "illegal_move")


def _move_deal(deal: Deal, *, from_status: str, changes: dict) -> None:
    """Conditional UPDATE of the deal's status (and other columns): a concurrent action that
    moved it first makes this one fail instead of writing over it."""
    changes = {**changes, "version": F("version") + 1, "updated_at": timezone.now()}
    before = copy(deal)
    if not Deal.objects.filter(pk=deal.pk, status=from_status).update(**changes):
        raise DealError(_("This deal was changed by someone else; reload and try again."),
                        "state_changed")
    deal.refresh_from_db()
    audit.record_update(before=before, after=deal)


def _event(deal: Deal, kind: str, actor: Any, message: str, **data: Any) -> DealEvent:
    return DealEvent.objects.create(
        deal=deal, kind=kind, actor=actor if getattr(actor, "pk", None) else None,
        message=message[:300], data={key: str(value) for key, value in data.items()})


def _transition(deal: Deal, to_status: str, actor: Any, *, expected_from: Iterable[str],
                reason: str = "", unit_id: int | None = None) -> Unit:
    try:
        return unit_transition(unit_id=unit_id or deal.unit_id, to_status=to_status,
                               actor=actor, reason=reason, reference=f"deal:{deal.pk}",
                               expected_from=set(expected_from))
    except UnitTransitionError as error:
        code = "unit_taken" if error.code in {"unit_taken", "state_changed"} else error.code
        raise DealError(error.message, code) from None


def _insert_live_deal(**fields: Any) -> Deal:
    """Insert a live deal; a second live deal on the unit is refused by the database."""
    try:
        with transaction.atomic():
            return Deal.objects.create(**fields)
    except IntegrityError:
        unit = fields["unit"]
        raise DealError(_("Unit %(unit)s is already taken by another deal.") % {
            "unit": unit.label}, "unit_taken") from None


def _deal_url(deal: Deal) -> str:
    return reverse("sales:deal_detail", args=[deal.pk])


def _floor_check(unit: Unit, final_price: Decimal, field: str) -> None:
    if unit.floor_price is not None and final_price < unit.floor_price:
        raise ValidationError({field: _("The price would be below the unit's floor price "
                                        "(底价) %(floor)s.") % {
            "floor": format_yuan(unit.floor_price)}})


def _stage_forward(actor: User, customer: Customer, stage: str) -> None:
    """Moves the customer's lifecycle stage forward (never back, never past member)."""
    order = [Stage.POTENTIAL, Stage.PROSPECT, Stage.BUYER, Stage.OWNER, Stage.MEMBER]
    current = customer.stage
    if current in order and order.index(current) >= order.index(stage):
        return
    if current == Stage.LOST or current in order:
        customer_services.customer_stage_set(actor=actor, customer=customer.pk, stage=stage)


def _follow(deal: Deal, actor: Any, event: str, note: str = "") -> None:
    """Carries the customer's opportunity in the project along (opportunities' service)."""
    from anju.sales.opportunities.services import opportunity_follow_deal

    opportunity_follow_deal(actor=actor if getattr(actor, "pk", None) else None,
                            customer=deal.customer_id, project=deal.project_id, event=event,
                            note=note[:500])


# --- numbering ------------------------------------------------------------------------------
def _rule_for(project: Project) -> ContractNumberRule:
    """The project's rule, locked (created with defaults on first use)."""
    rule = ContractNumberRule.objects.select_for_update().filter(project=project).first()
    if rule is None:
        code = project.code.upper().replace("-", "")[:8]
        try:
            with transaction.atomic():
                ContractNumberRule.objects.create(project=project, prefix=f"HT-{code}-",
                                                  receipt_prefix=f"SJ-{code}-")
        except IntegrityError:
            pass  # created by a concurrent first use
        rule = ContractNumberRule.objects.select_for_update().get(project=project)
    return rule


def contract_number_next(*, project: Project, today: datetime.date | None = None) -> str:
    """The next contract number of the project, e.g. HT-A-2026-0001 (row-locked, so two
    contracts signed at once never share a number; it restarts at 1 each year)."""
    year = (today or timezone.localdate()).year
    rule = _rule_for(project)
    number = rule.last_contract + 1 if rule.year == year else 1
    ContractNumberRule.objects.filter(pk=rule.pk).update(year=year, last_contract=number)
    return f"{rule.prefix}{year}-{number:0{rule.digits}d}"


def receipt_number_next(*, project: Project, today: datetime.date | None = None) -> str:
    year = (today or timezone.localdate()).year
    rule = _rule_for(project)
    number = rule.last_receipt + 1 if rule.receipt_year == year else 1
    ContractNumberRule.objects.filter(pk=rule.pk).update(receipt_year=year, last_receipt=number)
    return f"{rule.receipt_prefix}{year}-{number:0{max(rule.digits, 5)}d}"


# --- hold (小订) ------------------------------------------------------------------------------
@transaction.atomic
def deal_hold(*, actor: User, unit: Unit | int, customer: Customer | int,
              hours: int | None = None, note: str = "") -> Deal:
    """Holds an available unit for a customer for `hours` (ANJU_DEAL_HOLD_HOURS by default);
    the periodic job releases it when the hold runs out."""
    _require_user(actor)
    found_unit = _visible_unit(actor, unit)
    found_customer = _visible_customer(actor, customer)
    hours = hold_hours() if hours is None else hours
    if not isinstance(hours, int) or not 1 <= hours <= 72:
        raise ValidationError({"hours": _("A hold lasts from 1 to 72 hours.")})
    now = timezone.now()
    deal = _insert_live_deal(
        unit=found_unit, project=found_unit.building.project, customer=found_customer,
        consultant=actor, status=DealStatus.HELD, list_price=found_unit.list_price,
        final_price=found_unit.list_price, hold_expires_at=now + datetime.timedelta(hours=hours),
        close_reason="")
    _transition(deal, US.HELD, actor, expected_from={US.AVAILABLE},
                reason=note or _("held for %(name)s") % {"name": found_customer.name})
    _event(deal, DealEvent.Kind.HELD, actor,
           _("Held %(unit)s for %(name)s until %(until)s.") % {
               "unit": found_unit.label, "name": found_customer.name,
               "until": timezone.localtime(deal.hold_expires_at).strftime("%Y-%m-%d %H:%M")},
           note=note)
    _stage_forward(actor, found_customer, Stage.PROSPECT)
    return deal


@transaction.atomic
def deal_hold_release(*, actor: User, deal: Deal | int, reason: str = "") -> Deal:
    """Lets a hold go before it runs out (the customer decided against it): no money was
    taken, so no approval is needed; the unit is available again."""
    current = visible_deal(actor, deal)
    _require_status(current, DealStatus.HELD, action=_("released"))
    reason = " ".join((reason or "").split())[:200] or _("hold released")
    _move_deal(current, from_status=DealStatus.HELD, changes={
        "status": DealStatus.CANCELLED, "closed_at": timezone.now(), "close_reason": reason})
    _transition(current, US.AVAILABLE, actor, expected_from={US.HELD}, reason=reason)
    _event(current, DealEvent.Kind.CANCELLED, actor,
           _("Hold released: %(reason)s") % {"reason": reason})
    return current


# --- reservation (认购) -----------------------------------------------------------------------
def _reservation_terms(unit: Unit, *, deposit: Any, discount_amount: Any, expires_on: Any,
                       now: datetime.datetime) -> tuple[Decimal, Decimal, Decimal,
                                                        datetime.datetime]:
    deposit = _money(deposit, "deposit", allow_zero=False)
    discount = _money(discount_amount or 0, "discount_amount")
    final_price = unit.list_price - discount
    if final_price <= 0:
        raise ValidationError({"discount_amount": _("The discount cannot reach the price.")})
    _floor_check(unit, final_price, "discount_amount")
    if deposit > final_price:
        raise ValidationError({"deposit": _("The deposit cannot exceed the price.")})
    today = timezone.localdate(now)
    if expires_on is None:
        expires_on = today + datetime.timedelta(days=reservation_days())
    if not isinstance(expires_on, datetime.date) or expires_on <= today:
        raise ValidationError({"expires_on": _("The reservation must run until a later day.")})
    if expires_on > today + datetime.timedelta(days=90):
        raise ValidationError({"expires_on": _("A reservation lasts at most 90 days.")})
    # it runs until the end of that day, office time
    end = timezone.make_aware(datetime.datetime.combine(expires_on, datetime.time(23, 59, 59)))
    return deposit, discount, final_price, end


@transaction.atomic
def deal_reserve(*, actor: User, deposit: Any, unit: Unit | int | None = None,
                 customer: Customer | int | None = None, deal: Deal | int | None = None,
                 discount_amount: Any = 0, discount_note: str = "",
                 expires_on: datetime.date | None = None, method: str = Payment.Method.TRANSFER,
                 paid_at: datetime.datetime | None = None) -> Deal:
    """Reserves (认购) with a deposit: either a free unit for a customer (`unit`, `customer`),
    or the unit a held `deal` keeps. The deposit is recorded as a payment with a receipt."""
    _require_user(actor)
    now = timezone.now()
    if method not in Payment.Method.values or method == Payment.Method.LOAN:
        raise ValidationError({"method": _("Select a valid choice.")})
    if deal is not None:
        current = visible_deal(actor, deal)
        _require_status(current, DealStatus.HELD, action=_("reserved"))
        deposit_amount, discount, final_price, end = _reservation_terms(
            current.unit, deposit=deposit, discount_amount=discount_amount,
            expires_on=expires_on, now=now)
        _move_deal(current, from_status=DealStatus.HELD, changes={
            "status": DealStatus.RESERVED, "deposit": deposit_amount,
            "discount_amount": discount, "discount_note": discount_note[:200],
            "final_price": final_price, "reserved_at": now, "reservation_expires_at": end})
        _transition(current, US.RESERVED, actor, expected_from={US.HELD},
                    reason=_("reserved with a deposit"))
        result = current
    else:
        if unit is None or customer is None:
            raise ValidationError({"unit": _("Choose the unit and the customer.")})
        found_unit = _visible_unit(actor, unit)
        found_customer = _visible_customer(actor, customer)
        deposit_amount, discount, final_price, end = _reservation_terms(
            found_unit, deposit=deposit, discount_amount=discount_amount,
            expires_on=expires_on, now=now)
        result = _insert_live_deal(
            unit=found_unit, project=found_unit.building.project, customer=found_customer,
            consultant=actor, status=DealStatus.RESERVED, list_price=found_unit.list_price,
            discount_amount=discount, discount_note=discount_note[:200],
            final_price=final_price, deposit=deposit_amount, reserved_at=now,
            reservation_expires_at=end)
        _transition(result, US.RESERVED, actor, expected_from={US.AVAILABLE},
                    reason=_("reserved for %(name)s") % {"name": found_customer.name})
    receipt = receipt_number_next(project=result.project)
    Payment.objects.create(deal=result, amount=deposit_amount, paid_at=paid_at or now,
                           method=method, receipt_number=receipt, recorded_by=actor,
                           note=_("deposit"))
    Deal.objects.filter(pk=result.pk).update(received_amount=F("received_amount")
                                             + deposit_amount)
    result.refresh_from_db()
    _event(result, DealEvent.Kind.RESERVED, actor,
           _("Reserved %(unit)s for %(name)s: deposit %(deposit)s (receipt %(receipt)s), "
             "price %(price)s, until %(until)s.") % {
               "unit": result.unit.label, "name": result.customer.name,
               "deposit": format_yuan(deposit_amount), "receipt": receipt,
               "price": format_yuan(final_price),
               "until": timezone.localtime(end).strftime("%Y-%m-%d")},
           receipt=receipt)
    _stage_forward(actor, result.customer, Stage.BUYER)
    _follow(result, actor, "reserved", _("reserved %(unit)s") % {"unit": result.unit.label})
    return result


# --- contract (签约) --------------------------------------------------------------------------
def _clean_buyers(actor: User, deal: Deal, buyers: Sequence[tuple[Any, Any]]
                  ) -> list[tuple[Customer, Decimal]]:
    if not buyers:
        raise ValidationError({"buyers": _("Name at least one buyer.")})
    cleaned: list[tuple[Customer, Decimal]] = []
    errors = []
    seen: set[int] = set()
    for index, (customer, share) in enumerate(buyers, start=1):
        prefix = _("Buyer %(row)d: ") % {"row": index}
        try:
            found = _visible_customer(actor, customer)
        except ValidationError:
            errors.append(prefix + _("choose one of your customers."))
            continue
        if found.pk in seen:
            errors.append(prefix + _("this customer is named twice."))
            continue
        seen.add(found.pk)
        try:
            value = Decimal(str(share)).quantize(Decimal("0.01"))
        except (ArithmeticError, ValueError):
            errors.append(prefix + _("enter the share in percent."))
            continue
        if not ZERO < value <= HUNDRED:
            errors.append(prefix + _("a share is above 0 and at most 100 percent."))
            continue
        cleaned.append((found, value))
    if errors:
        raise ValidationError({"buyers": errors})
    total = sum((share for _c, share in cleaned), ZERO)
    if total != HUNDRED:
        raise ValidationError({"buyers": _("The shares add up to %(total)s%%, not 100%%.") % {
            "total": total}})
    if deal.customer_id not in seen:
        raise ValidationError({"buyers": _("The reserving customer must be one of the buyers.")})
    return cleaned


def _clean_plan(deal: Deal, payment_method: str, final_price: Decimal,
                lines: Sequence[InstalmentLine], signed_on: datetime.date
                ) -> list[InstalmentLine]:
    """The plan as given (the deposit line is added by the service); every row is checked and
    the rows plus the deposit must add up to the price exactly, to the fen."""
    if not lines:
        raise ValidationError({"instalments": _("Add the payment plan's instalments.")})
    errors = []
    cleaned = []
    for index, line in enumerate(lines, start=1):
        prefix = _("Instalment %(row)d: ") % {"row": index}
        if line.kind not in Instalment.Kind.values or line.kind == Instalment.Kind.DEPOSIT:
            errors.append(prefix + _("choose the kind."))
            continue
        try:
            amount = to_fen(line.amount)
        except MoneyError:
            errors.append(prefix + _("enter the amount in yuan."))
            continue
        if amount <= 0:
            errors.append(prefix + _("the amount must be above zero."))
            continue
        if not isinstance(line.due_date, datetime.date):
            errors.append(prefix + _("enter the due date."))
            continue
        if line.due_date < signed_on:
            errors.append(prefix + _("the due date is before the contract date."))
            continue
        if line.kind == Instalment.Kind.LOAN and not (line.bank or "").strip():
            errors.append(prefix + _("name the lending bank."))
            continue
        cleaned.append(InstalmentLine(kind=line.kind, due_date=line.due_date, amount=amount,
                                      bank=(line.bank or "").strip()[:100]))
    if errors:
        raise ValidationError({"instalments": errors})
    loans = [line for line in cleaned if line.kind == Instalment.Kind.LOAN]
    if payment_method in (DealPaymentMethod.MORTGAGE, DealPaymentMethod.PROVIDENT_FUND):
        if len(loans) != 1:
            raise ValidationError({"instalments": _(
                "A plan paid by a loan has exactly one loan instalment (the mortgage portion).")})
    elif loans:
        raise ValidationError({"instalments": _(
            "Only a mortgage or provident-fund plan has a loan instalment.")})
    if payment_method == DealPaymentMethod.FULL and len(cleaned) != 1:
        raise ValidationError({"instalments": _(
            "A full payment is one instalment after the deposit.")})
    total = sum((line.amount for line in cleaned), ZERO) + deal.deposit
    if total != final_price:
        raise ValidationError({"instalments": _(
            "The instalments and the deposit add up to %(total)s, but the price is %(price)s "
            "(difference %(diff)s).") % {
            "total": format_yuan(total), "price": format_yuan(final_price),
            "diff": format_yuan(final_price - total)}})
    return cleaned


@transaction.atomic
def deal_contract(*, actor: User, deal: Deal | int, buyers: Sequence[tuple[Any, Any]],
                  payment_method: str, instalments: Sequence[InstalmentLine],
                  discount_amount: Any | None = None, discount_note: str | None = None,
                  signed_on: datetime.date | None = None) -> Deal:
    """Signs the contract (签约) of a reserved deal: buyers with shares adding up to 100%,
    the payment plan adding up exactly to the price (the deposit is its first line), a
    contract number from the project's rule; the buyers become owners in the ledger."""
    current = visible_deal(actor, deal)
    _require_status(current, DealStatus.RESERVED, action=_("contracted"))
    if payment_method not in DealPaymentMethod.values:
        raise ValidationError({"payment_method": _("Select a valid choice.")})
    signed_on = signed_on or timezone.localdate()
    if signed_on > timezone.localdate():
        raise ValidationError({"signed_on": _("The contract cannot be signed in the future.")})
    discount = current.discount_amount if discount_amount is None else _money(
        discount_amount, "discount_amount")
    final_price = current.list_price - discount
    if final_price <= 0:
        raise ValidationError({"discount_amount": _("The discount cannot reach the price.")})
    _floor_check(current.unit, final_price, "discount_amount")
    if final_price < current.received_amount:
        raise ValidationError({"discount_amount": _(
            "The price cannot go below what was already received.")})
    cleaned_buyers = _clean_buyers(actor, current, buyers)
    plan = _clean_plan(current, payment_method, final_price, instalments, signed_on)
    number = contract_number_next(project=current.project, today=signed_on)
    now = timezone.now()
    _move_deal(current, from_status=DealStatus.RESERVED, changes={
        "status": DealStatus.CONTRACTED, "discount_amount": discount,
        "discount_note": (current.discount_note if discount_note is None
                          else discount_note)[:200],
        "final_price": final_price, "payment_method": payment_method,
        "contract_number": number, "contracted_at": now, "reservation_expires_at": None})
    DealBuyer.objects.bulk_create([
        DealBuyer(deal=current, customer=customer, share=share,
                  is_primary=customer.pk == current.customer_id)
        for customer, share in cleaned_buyers])
    deposit_line = Instalment.objects.create(
        deal=current, sequence=1, kind=Instalment.Kind.DEPOSIT, due_date=signed_on,
        amount=current.deposit, paid_amount=current.deposit, paid_at=now) \
        if current.deposit > 0 else None
    if deposit_line is not None:
        current.payments.filter(instalment__isnull=True).update(instalment=deposit_line)
    Instalment.objects.bulk_create([
        Instalment(deal=current, sequence=index, kind=line.kind, due_date=line.due_date,
                   amount=line.amount, bank=line.bank,
                   loan_status=LoanStatus.APPLIED if line.kind == Instalment.Kind.LOAN else "",
                   loan_status_at=now if line.kind == Instalment.Kind.LOAN else None)
        for index, line in enumerate(plan, start=2 if deposit_line else 1)])
    _transition(current, US.CONTRACTED, actor, expected_from={US.RESERVED},
                reason=_("contract %(number)s") % {"number": number})
    _event(current, DealEvent.Kind.CONTRACTED, actor,
           _("Contract %(number)s signed: %(price)s, %(method)s, %(count)d instalments, "
             "buyers %(buyers)s.") % {
               "number": number, "price": format_yuan(final_price),
               "method": DealPaymentMethod(payment_method).label,
               "count": len(plan) + (1 if deposit_line else 0),
               "buyers": ", ".join(f"{c.name} {s}%" for c, s in cleaned_buyers)},
           contract_number=number)
    for customer, _share in cleaned_buyers:
        _stage_forward(actor, customer, Stage.OWNER)
    _follow(current, actor, "contracted", _("contract %(number)s") % {"number": number})
    # the agency whose protected registration brought the customer is owed its commission
    registration_credit_deal(customer_id=current.customer_id, project_id=current.project_id,
                             deal_reference=f"deal:{current.pk}", amount=final_price,
                             signed_at=now)
    return current


# --- loan (按揭) -------------------------------------------------------------------------------
LOAN_MOVES = {
    LoanStatus.APPLIED: {LoanStatus.APPROVED, LoanStatus.REFUSED},
    LoanStatus.APPROVED: {LoanStatus.DISBURSED},
    LoanStatus.REFUSED: {LoanStatus.APPLIED},
    LoanStatus.DISBURSED: set(),
}


def _visible_instalment(actor: User, instalment: Instalment | int) -> Instalment:
    pk = instalment.pk if isinstance(instalment, Instalment) else instalment
    found = (Instalment.objects.select_for_update(of=("self",))
             .filter(pk=pk, deal__in=Deal.objects.visible_to(actor))
             .select_related("deal").first())
    if found is None:
        raise PermissionDenied(_("You may not change this deal."))
    return found


@transaction.atomic
def loan_status_set(*, actor: User, instalment: Instalment | int, status: str,
                    bank: str | None = None) -> Instalment:
    """Moves the mortgage portion applied → approved → disbursed (or refused → applied again).
    Disbursed records the loan's money as a payment of the loan instalment."""
    _require_user(actor)
    line = _visible_instalment(actor, instalment)
    deal = visible_deal(actor, line.deal_id)
    _require_status(deal, DealStatus.CONTRACTED, DealStatus.DELIVERED, action=_("changed"))
    if line.kind != Instalment.Kind.LOAN:
        raise ValidationError({"status": _("Only the loan instalment has a loan status.")})
    if status not in LoanStatus.values:
        raise ValidationError({"status": _("Select a valid choice.")})
    if status not in LOAN_MOVES[line.loan_status]:
        raise DealError(_("The loan cannot go from %(from)s to %(to)s.") % {
            "from": LoanStatus(line.loan_status).label, "to": LoanStatus(status).label},
            "illegal_move")
    now = timezone.now()
    changes: dict[str, Any] = {"loan_status": status, "loan_status_at": now}
    if bank is not None and bank.strip():
        changes["bank"] = bank.strip()[:100]
    if not Instalment.objects.filter(pk=line.pk, loan_status=line.loan_status).update(**changes):
        raise DealError(_("This deal was changed by someone else; reload and try again."),
                        "state_changed")
    line.refresh_from_db()
    _event(deal, DealEvent.Kind.LOAN, actor, _("Loan at %(bank)s: %(status)s.") % {
        "bank": line.bank, "status": LoanStatus(status).label}, instalment=line.pk)
    if status == LoanStatus.DISBURSED and line.outstanding > 0:
        payment_record(actor=actor, instalment=line, amount=line.outstanding,
                       method=Payment.Method.LOAN, note=_("loan disbursed by %(bank)s") % {
                           "bank": line.bank})
        line.refresh_from_db()
    return line


# --- payments (回款) --------------------------------------------------------------------------
@transaction.atomic
def payment_record(*, actor: User, instalment: Instalment | int, amount: Any,
                   method: str = Payment.Method.TRANSFER,
                   paid_at: datetime.datetime | None = None, note: str = "") -> Payment:
    """Records money received against one instalment: partial payments allowed, never more
    than the instalment still owes; a receipt number from the project's rule."""
    _require_user(actor)
    line = _visible_instalment(actor, instalment)
    deal = visible_deal(actor, line.deal_id)
    _require_status(deal, DealStatus.CONTRACTED, DealStatus.DELIVERED,
                    action=_("paid"))
    value = _money(amount, "amount", allow_zero=False)
    if method not in Payment.Method.values:
        raise ValidationError({"method": _("Select a valid choice.")})
    if method == Payment.Method.LOAN and line.kind != Instalment.Kind.LOAN:
        raise ValidationError({"method": _("Only the loan instalment is paid by the loan.")})
    now = timezone.now()
    paid_at = paid_at or now
    if paid_at > now + datetime.timedelta(minutes=5):
        raise ValidationError({"paid_at": _("A payment cannot be in the future.")})
    if value > line.outstanding:
        raise ValidationError({"amount": _(
            "This instalment owes %(owed)s: a payment of %(amount)s would overpay it.") % {
            "owed": format_yuan(line.outstanding), "amount": format_yuan(value)}})
    paid_in_full = line.paid_amount + value == line.amount
    # conditional on what was read: two cashiers at once cannot both fill the same gap
    if not Instalment.objects.filter(pk=line.pk, paid_amount=line.paid_amount).update(
            paid_amount=F("paid_amount") + value, paid_at=paid_at if paid_in_full else None):
        raise DealError(_("This deal was changed by someone else; reload and try again."),
                        "state_changed")
    Deal.objects.filter(pk=deal.pk).update(received_amount=F("received_amount") + value,
                                           version=F("version") + 1)
    receipt = receipt_number_next(project=deal.project)
    payment = Payment.objects.create(deal=deal, instalment=line, amount=value, paid_at=paid_at,
                                     method=method, receipt_number=receipt, recorded_by=actor,
                                     note=(note or "")[:200])
    _event(deal, DealEvent.Kind.PAYMENT, actor,
           _("Received %(amount)s for instalment %(no)d (%(kind)s), receipt %(receipt)s.") % {
               "amount": format_yuan(value), "no": line.sequence,
               "kind": line.get_kind_display(), "receipt": receipt},
           receipt=receipt, instalment=line.pk)
    return payment


# --- handover (交付) --------------------------------------------------------------------------
@transaction.atomic
def deal_deliver(*, actor: User, deal: Deal | int) -> Deal:
    """Hands the unit over: a contracted deal paid in full."""
    current = visible_deal(actor, deal)
    _deliver(current, actor)
    return current


def _deliver(current: Deal, actor: Any) -> None:
    """The handover itself, on a locked deal: contracted and paid in full, else refused."""
    _require_status(current, DealStatus.CONTRACTED, action=_("delivered"))
    if current.received_amount != current.final_price:
        raise ValidationError({"deal": _("%(owed)s is still owed: a unit is handed over once "
                                         "it is paid in full.") % {
            "owed": format_yuan(current.outstanding_amount)}})
    _move_deal(current, from_status=DealStatus.CONTRACTED,
               changes={"status": DealStatus.DELIVERED, "delivered_at": timezone.now()})
    _transition(current, US.DELIVERED, actor, expected_from={US.CONTRACTED},
                reason=_("handed over"))
    _event(current, DealEvent.Kind.DELIVERED, actor, _("Unit %(unit)s handed over.") % {
        "unit": current.unit.label})
    _follow(current, actor, "delivered", _("handed over"))


@transaction.atomic
def deal_deliver_for_handover(*, actor: Any, unit_id: int) -> tuple[Deal | None, bool]:
    """Hands a unit over from the customer-service handover (交付 sign-off): the unit's live
    deal is delivered under the same rule as `deal_deliver` (contracted and paid in full;
    otherwise `ValidationError` naming the amount owed, or `DealError`), but found by unit
    instead of through the actor's sales scope.

    The caller is the handover service, which has already checked that the actor may run
    that unit's handover (the handover row is scoped by project); a service agent need not
    see deals in sales. Returns `(deal, delivered_now)`: `(None, False)` when the unit has no
    live deal in Anju, `(deal, False)` when it was already delivered. The actor (a user, or
    None for a system action) is recorded on the deal's timeline and the unit's history."""
    current = (Deal.objects.select_for_update(of=("self",))
               .select_related("unit", "project", "customer")
               .filter(unit_id=unit_id, status__in=LIVE_STATUSES).first())
    if current is None:
        return None, False
    if current.status == DealStatus.DELIVERED:
        return current, False
    _deliver(current, actor)
    return current, True


# --- cancellation (退房) and swap (换房) ------------------------------------------------------
def approvers_for(project: Project) -> list[User]:
    """Active users who may approve deals and see the project."""
    return list(User.objects.filter(is_active=True).filter(
        Q(is_superuser=True)
        | Q(role__can_approve_deals=True) & (
            Q(role__default_scope="all", scope_level="") | Q(scope_level="all")
            | Q(projects=project) | Q(companies=project.company_id))).distinct())


@transaction.atomic
def change_request_create(*, actor: User, deal: Deal | int, kind: str, reason: str,
                          refund_amount: Any = 0, target_unit: Unit | int | None = None
                          ) -> DealChangeRequest:
    """Asks for a cancellation (refund) or a swap to another unit; an approver decides."""
    current = visible_deal(actor, deal)
    _require_status(current, DealStatus.HELD, DealStatus.RESERVED, DealStatus.CONTRACTED,
                    action=_("cancelled or swapped"))
    if kind not in DealChangeRequest.Kind.values:
        raise ValidationError({"kind": _("Select a valid choice.")})
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Say why.")})
    if len(reason) > 300:
        raise ValidationError({"reason": _("At most %(limit)d characters.") % {"limit": 300}})
    refund = ZERO
    target = None
    if kind == DealChangeRequest.Kind.CANCELLATION:
        refund = _money(refund_amount or 0, "refund_amount")
        if refund > current.received_amount:
            raise ValidationError({"refund_amount": _(
                "The refund cannot exceed what was received (%(received)s).") % {
                "received": format_yuan(current.received_amount)}})
    else:
        if current.status == DealStatus.HELD:
            raise ValidationError({"kind": _("A hold is not swapped: cancel it and hold "
                                             "the other unit.")})
        if target_unit is None:
            raise ValidationError({"target_unit": _("Choose the new unit.")})
        target = _visible_unit(actor, target_unit)
        if target.pk == current.unit_id:
            raise ValidationError({"target_unit": _("Choose a different unit.")})
        if target.building.project_id != current.project_id:
            raise ValidationError({"target_unit": _("Choose a unit of the same project.")})
        if target.status != US.AVAILABLE:
            raise ValidationError({"target_unit": _("Unit %(unit)s is not available.") % {
                "unit": target.label}})
    try:
        with transaction.atomic():
            request = DealChangeRequest.objects.create(
                deal=current, kind=kind, reason=reason, refund_amount=refund,
                target_unit=target, requested_by=actor)
    except IntegrityError:
        raise DealError(_("This deal already has a change waiting for approval."),
                        "illegal_move") from None
    label = DealChangeRequest.Kind(kind).label
    _event(current, DealEvent.Kind.CHANGE_REQUESTED, actor,
           _("%(kind)s requested: %(reason)s") % {"kind": label, "reason": reason},
           request=request.pk)
    url = reverse("sales:change_request_detail", args=[request.pk])
    recipients = [user for user in approvers_for(current.project) if user.pk != actor.pk]
    notify(recipients=recipients, kind="sales.change_requested",
           title=_("%(kind)s of %(unit)s waits for your approval") % {
               "kind": label, "unit": current.unit.label},
           body=reason, url=url, level="warning")
    return request


def _swap(actor: User, request: DealChangeRequest, deal: Deal) -> Deal:
    """The old deal ends as swapped, its unit back to available; a new reserved deal takes
    the target unit with the money received so far as its deposit."""
    target = Unit.objects.select_related("building__project").get(pk=request.target_unit_id)
    if target.list_price < deal.received_amount:
        raise ValidationError({"target_unit": _(
            "Unit %(unit)s costs less than what was already received.") % {
            "unit": target.label}})
    now = timezone.now()
    _move_deal(deal, from_status=deal.status, changes={
        "status": DealStatus.SWAPPED, "closed_at": now, "close_reason": request.reason[:200]})
    _transition(deal, US.AVAILABLE, actor, expected_from={US.RESERVED, US.CONTRACTED},
                reason=_("swapped to %(unit)s") % {"unit": target.label})
    new = _insert_live_deal(
        unit=target, project=deal.project, customer=deal.customer,
        consultant=deal.consultant, status=DealStatus.RESERVED,
        list_price=target.list_price, final_price=target.list_price,
        deposit=deal.received_amount, received_amount=deal.received_amount,
        reserved_at=now, swapped_from=deal,
        reservation_expires_at=now + datetime.timedelta(days=reservation_days()))
    _transition(new, US.RESERVED, actor, expected_from={US.AVAILABLE},
                reason=_("swapped from %(unit)s") % {"unit": deal.unit.label})
    # the money paid moves with the customer: the old receipts now count for the new deal
    Payment.objects.filter(deal=deal).update(deal=new, instalment=None)
    Deal.objects.filter(pk=deal.pk).update(received_amount=ZERO)
    _event(deal, DealEvent.Kind.SWAPPED, actor, _("Swapped from %(old)s to %(new)s.") % {
        "old": deal.unit.label, "new": target.label}, new_deal=new.pk)
    _event(new, DealEvent.Kind.RESERVED, actor,
           _("Reserved %(unit)s by a swap from %(old)s (deal #%(deal)d); %(amount)s carried "
             "over as the deposit.") % {"unit": target.label, "old": deal.unit.label,
                                        "deal": deal.pk,
                                        "amount": format_yuan(deal.received_amount)},
           old_deal=deal.pk)
    return new


@transaction.atomic
def change_request_decide(*, actor: User, request: DealChangeRequest | int, approve: bool,
                          comment: str = "") -> DealChangeRequest:
    """Approves or rejects a pending cancellation or swap (`approve_deals` right, not one's
    own request); approval carries it out. The requester gets an inbox notice."""
    _require_user(actor)
    if not actor.may("approve_deals"):
        raise PermissionDenied(_("Only sales managers may approve cancellations and swaps."))
    pk = request.pk if isinstance(request, DealChangeRequest) else request
    found = (DealChangeRequest.objects.visible_to(actor).select_for_update(of=("self",))
             .filter(pk=pk).first())
    if found is None:
        raise PermissionDenied(_("You may not decide this request."))
    if found.state != DealChangeRequest.State.PENDING:
        raise DealError(_("This request was already decided."), "illegal_move")
    if found.requested_by_id == actor.pk:
        raise PermissionDenied(_("Another approver must decide your own request."))
    comment = " ".join((comment or "").split())[:300]
    if not approve and not comment:
        raise ValidationError({"comment": _("Say why the request is rejected.")})
    deal = visible_deal(actor, found.deal_id)
    now = timezone.now()
    new_deal = None
    label = found.get_kind_display()
    if approve:
        if found.kind == DealChangeRequest.Kind.CANCELLATION:
            _require_status(deal, DealStatus.HELD, DealStatus.RESERVED, DealStatus.CONTRACTED,
                            action=_("cancelled"))
            from_unit = {DealStatus.HELD: US.HELD, DealStatus.RESERVED: US.RESERVED,
                         DealStatus.CONTRACTED: US.CONTRACTED}[deal.status]
            _move_deal(deal, from_status=deal.status, changes={
                "status": DealStatus.CANCELLED, "closed_at": now,
                "close_reason": found.reason[:200], "refunded_amount": found.refund_amount})
            _transition(deal, US.AVAILABLE, actor, expected_from={from_unit},
                        reason=_("cancelled: %(reason)s") % {"reason": found.reason})
            _event(deal, DealEvent.Kind.CANCELLED, actor,
                   _("Cancelled; refund %(refund)s.") % {
                       "refund": format_yuan(found.refund_amount)}, request=found.pk)
            if from_unit != US.HELD:
                _follow(deal, actor, "cancelled", found.reason)
        else:
            _require_status(deal, DealStatus.RESERVED, DealStatus.CONTRACTED,
                            action=_("swapped"))
            new_deal = _swap(actor, found, deal)
    DealChangeRequest.objects.filter(pk=found.pk).update(
        state=(DealChangeRequest.State.APPROVED if approve
               else DealChangeRequest.State.REJECTED),
        decided_by=actor, decided_at=now, comment=comment, new_deal=new_deal)
    found.refresh_from_db()
    _event(deal, DealEvent.Kind.CHANGE_APPROVED if approve else DealEvent.Kind.CHANGE_REJECTED,
           actor, (_("%(kind)s approved by %(user)s. %(comment)s") if approve
                   else _("%(kind)s rejected by %(user)s: %(comment)s")) % {
               "kind": label, "user": actor, "comment": comment}, request=found.pk)
    requester = found.requested_by
    url = reverse("sales:change_request_detail", args=[found.pk])
    title = (_("Your %(kind)s request for %(unit)s was approved") if approve
             else _("Your %(kind)s request for %(unit)s was rejected")) % {
        "kind": label, "unit": deal.unit.label}
    notify(recipients=[requester], kind="sales.change_decided", title=title, body=comment,
           url=url)
    return found


# --- collection follow-ups (催收) --------------------------------------------------------------
@transaction.atomic
def collection_follow_up_log(*, actor: User, deal: Deal | int, kind: str = "call",
                             outcome: str = "", notes: str = "",
                             next_follow_up_at: datetime.datetime | None = None
                             ) -> Interaction:
    """A call or visit about money owed, logged as an interaction in the customer's ledger
    (so the 360° page and the follow-up reminders see it) and on the deal's timeline."""
    current = visible_deal(actor, deal)
    _require_status(current, DealStatus.CONTRACTED, DealStatus.DELIVERED,
                    action=_("followed up"))
    prefix = _("Collection")
    text = f"{prefix}: {outcome}".strip() if outcome else prefix
    interaction = customer_services.interaction_log(
        actor=actor, customer=current.customer_id, kind=kind, outcome=text[:200],
        notes=notes, next_follow_up_at=next_follow_up_at, project=current.project)
    _event(current, DealEvent.Kind.COLLECTION, actor, text, interaction=interaction.pk)
    return interaction


# --- periodic jobs ----------------------------------------------------------------------------
BATCH = 500


def _expire_one(deal_id: int, now: datetime.datetime) -> bool:
    with transaction.atomic():
        deal = Deal.objects.select_for_update(of=("self",)).select_related("unit").filter(
            pk=deal_id).first()
        if deal is None:
            return False
        if deal.status == DealStatus.HELD and deal.hold_expires_at and deal.hold_expires_at <= now:
            unit_from, what = US.HELD, _("hold")
        elif (deal.status == DealStatus.RESERVED and deal.reservation_expires_at
              and deal.reservation_expires_at <= now):
            unit_from, what = US.RESERVED, _("reservation")
        else:
            return False
        _move_deal(deal, from_status=deal.status, changes={
            "status": DealStatus.EXPIRED, "closed_at": now,
            "close_reason": _("the %(what)s ran out") % {"what": what}})
        _transition(deal, US.AVAILABLE, None, expected_from={unit_from},
                    reason=_("the %(what)s ran out") % {"what": what})
        if unit_from == US.RESERVED:
            _follow(deal, None, "cancelled", _("the %(what)s ran out") % {"what": what})
        _event(deal, DealEvent.Kind.EXPIRED, None,
               _("The %(what)s ran out; unit %(unit)s is available again.") % {
                   "what": what, "unit": deal.unit.label})
        consultant = deal.consultant
        url = _deal_url(deal)
        title = _("The %(what)s of %(unit)s ran out") % {"what": what, "unit": deal.unit.label}
        notify(recipients=[consultant], kind="sales.deal_expired", title=title, url=url)
    return True


def deals_expire(*, now: datetime.datetime | None = None) -> int:
    """Holds and reservations past their expiry end as expired and free their units; each
    deal in its own transaction, so one failure does not keep the others."""
    now = now or timezone.now()
    ids = list(Deal.objects.filter(
        Q(status=DealStatus.HELD, hold_expires_at__lte=now)
        | Q(status=DealStatus.RESERVED, reservation_expires_at__lte=now))
        .order_by("id").values_list("pk", flat=True)[:BATCH])
    expired = 0
    for pk in ids:
        try:
            expired += _expire_one(pk, now)
        except DealError:
            continue
    return expired


@transaction.atomic
def instalments_overdue_flag(*, today: datetime.date | None = None) -> int:
    """Once a day: every instalment past its due date and not paid in full is flagged to the
    deal's consultant and their team leader (the manager) — one inbox digest per person per
    day, listing their overdue lines, until the line is paid. The first time a line is
    overdue it also goes on the deal's timeline. Returns how many lines were flagged.

    A line is claimed with a conditional UPDATE of `overdue_flagged_at` (still empty, or from
    an earlier day), so two schedulers running at once never flag it twice in a day."""
    today = today or timezone.localdate()
    now = timezone.now()
    day_start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    stamp = now if timezone.localdate(now) == today else day_start  # a run for another day
    due = Q(overdue_flagged_at__isnull=True) | Q(overdue_flagged_at__lt=day_start)
    rows = list(Instalment.objects.filter(due, paid_at__isnull=True, due_date__lt=today,
                                          deal__status__in=LIVE_STATUSES)
                .order_by("due_date", "id").values_list("pk", "overdue_flagged_at")[:BATCH])
    claimed: dict[int, bool] = {}
    for pk, flagged_at in rows:
        before = Q(overdue_flagged_at__isnull=True) if flagged_at is None else Q(
            overdue_flagged_at=flagged_at)
        if Instalment.objects.filter(before, pk=pk).update(overdue_flagged_at=stamp):
            claimed[pk] = flagged_at is None
    digests: dict[int, tuple[Any, list[str]]] = {}
    for line in (Instalment.objects.filter(pk__in=claimed).order_by("due_date", "id")
                 .select_related("deal__unit", "deal__customer",
                                 "deal__consultant__team__leader")):
        deal = line.deal
        consultant = deal.consultant
        message = _("%(name)s owes %(owed)s on %(unit)s (instalment %(no)d, due %(due)s).") % {
            "name": deal.customer.name, "owed": format_yuan(line.outstanding),
            "unit": deal.unit.label, "no": line.sequence, "due": line.due_date.isoformat()}
        if claimed[line.pk]:
            _event(deal, DealEvent.Kind.OVERDUE, None, message, instalment=line.pk)
        leader = consultant.team.leader if consultant.team_id else None
        for person in (consultant, leader):
            if person is not None and person.is_active:
                digests.setdefault(person.pk, (person, []))[1].append(message)
    url = reverse("sales:deal_list") + "?overdue=on"
    for person, messages in digests.values():
        notify(recipients=[person], kind="sales.instalment_overdue", level="warning",
               title=_("Overdue payments: %(count)d instalments") % {"count": len(messages)},
               body="\n".join(messages[:50]), url=url)
    return len(claimed)
