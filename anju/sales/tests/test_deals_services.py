"""Every deal action, legal and illegal, through the services."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from anju.core.models import Notification
from anju.customers.models import Interaction, Stage
from anju.property.models import Unit, UnitStatusChange
from anju.sales.deals import services
from anju.sales.deals.services import DealError, InstalmentLine
from anju.sales.models import (
    Deal,
    DealChangeRequest,
    DealEvent,
    DealStatus,
    Instalment,
    LoanStatus,
    Payment,
)

from .deals_fixtures import *  # noqa: F403
from .deals_fixtures import plan_for

pytestmark = pytest.mark.django_db(transaction=False)


def status_of(unit):
    return Unit.objects.get(pk=unit.pk).status


def test_hold_takes_the_unit_and_writes_history(people, units, customer):
    buyer = customer()
    deal = services.deal_hold(actor=people["consultant"], unit=units["1-101"], customer=buyer)
    assert deal.status == DealStatus.HELD
    assert status_of(units["1-101"]) == "held"
    assert deal.hold_expires_at > timezone.now() + datetime.timedelta(hours=23)
    change = UnitStatusChange.objects.get(unit=units["1-101"])
    assert (change.from_status, change.to_status, change.reference) == (
        "available", "held", f"deal:{deal.pk}")
    assert deal.events.get().kind == DealEvent.Kind.HELD
    buyer.refresh_from_db()
    assert buyer.stage == Stage.PROSPECT


def test_second_hold_on_a_taken_unit_is_refused(people, units, customer):
    services.deal_hold(actor=people["consultant"], unit=units["1-101"], customer=customer())
    with pytest.raises(DealError) as refused:
        services.deal_hold(actor=people["other"], unit=units["1-101"],
                           customer=customer("李四", owner=people["other"]))
    assert refused.value.code == "unit_taken"
    assert "1-101" in refused.value.message
    assert Deal.objects.count() == 1


def test_locked_unit_cannot_be_held(people, units, customer):
    from anju.property.services import unit_transition
    unit_transition(unit_id=units["1-102"].pk, to_status="locked", actor=people["manager"])
    with pytest.raises(DealError) as refused:
        services.deal_hold(actor=people["consultant"], unit=units["1-102"], customer=customer())
    assert refused.value.code == "unit_taken"
    assert Deal.objects.count() == 0


def test_out_of_scope_unit_and_customer_are_refused(org, people, units, customer):
    with pytest.raises(ValidationError) as error:
        services.deal_hold(actor=people["outsider"], unit=units["1-101"],
                           customer=customer(owner=people["outsider"]))
    assert "unit" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.deal_hold(actor=people["consultant"], unit=units["1-101"],
                           customer=customer("别人的", owner=people["other"]))
    assert "customer" in error.value.message_dict


def test_reserve_from_a_hold_records_the_deposit(people, units, customer):
    actor = people["consultant"]
    deal = services.deal_hold(actor=actor, unit=units["1-101"], customer=customer())
    deal = services.deal_reserve(actor=actor, deal=deal, deposit="50000", discount_amount="10000")
    assert deal.status == DealStatus.RESERVED
    assert status_of(units["1-101"]) == "reserved"
    assert deal.final_price == Decimal("1000000.00")
    assert deal.received_amount == Decimal("50000.00")
    payment = deal.payments.get()
    assert payment.receipt_number.startswith("SJ-A-")
    assert payment.instalment is None
    assert deal.reservation_expires_at > timezone.now()


def test_reserve_refuses_bad_input_naming_the_field(people, units, customer):
    actor, buyer = people["consultant"], customer()
    cases = [({"deposit": "abc"}, "deposit"), ({"deposit": "0"}, "deposit"),
             ({"deposit": "2000000"}, "deposit"),
             ({"deposit": "1000", "discount_amount": "200000"}, "discount_amount"),
             ({"deposit": "1000", "expires_on": timezone.localdate()}, "expires_on")]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as error:
            services.deal_reserve(actor=actor, unit=units["1-101"], customer=buyer, **kwargs)
        assert field in error.value.message_dict, kwargs
    assert Deal.objects.count() == 0
    assert status_of(units["1-101"]) == "available"


def test_held_deal_cannot_be_contracted_and_expired_cannot_be_reserved(people, units, customer):
    actor = people["consultant"]
    buyer = customer()
    deal = services.deal_hold(actor=actor, unit=units["1-101"], customer=buyer)
    with pytest.raises(DealError) as refused:
        services.deal_contract(actor=actor, deal=deal, buyers=[(buyer, 100)],
                               payment_method="full", instalments=[])
    assert refused.value.code == "illegal_move"
    services.deals_expire(now=timezone.now() + datetime.timedelta(days=2))
    with pytest.raises(DealError):
        services.deal_reserve(actor=actor, deal=deal, deposit="1000")


def test_contract_with_buyers_plan_and_number(people, units, customer):
    actor = people["consultant"]
    first, second = customer("张三"), customer("李四")
    deal = services.deal_reserve(actor=actor, unit=units["1-101"], customer=first,
                                 deposit="50000")
    deal = services.deal_contract(actor=actor, deal=deal, buyers=[(first, 60), (second, 40)],
                                  payment_method="mortgage",
                                  instalments=plan_for(deal, method="mortgage"))
    assert deal.status == DealStatus.CONTRACTED
    assert deal.contract_number == f"HT-A-{timezone.localdate().year}-0001"
    assert status_of(units["1-101"]) == "contracted"
    lines = list(deal.instalments.all())
    assert [line.kind for line in lines] == ["deposit", "down_payment", "loan"]
    assert sum(line.amount for line in lines) == deal.final_price
    assert lines[0].paid_amount == Decimal("50000.00")
    assert deal.payments.get().instalment == lines[0]
    assert lines[2].loan_status == LoanStatus.APPLIED and lines[2].bank == "建设银行"
    for person in (first, second):
        person.refresh_from_db()
        assert person.stage == Stage.OWNER
    assert {(b.customer_id, b.share) for b in deal.buyers.all()} == {
        (first.pk, Decimal("60.00")), (second.pk, Decimal("40.00"))}


def test_contract_numbers_count_up_per_project(people, units, contracted, customer):
    first = contracted(unit="1-101", buyer=customer("甲"))
    second = contracted(unit="1-102", buyer=customer("乙"))
    assert first.contract_number.endswith("-0001")
    assert second.contract_number.endswith("-0002")


def test_plan_that_does_not_add_up_is_refused(people, units, customer):
    actor, buyer = people["consultant"], customer()
    deal = services.deal_reserve(actor=actor, unit=units["1-101"], customer=buyer,
                                 deposit="50000")
    lines = plan_for(deal)
    short = [*lines[:-1], InstalmentLine(lines[-1].kind, lines[-1].due_date,
                                         lines[-1].amount - Decimal("0.01"))]
    with pytest.raises(ValidationError) as error:
        services.deal_contract(actor=actor, deal=deal, buyers=[(buyer, 100)],
                               payment_method="instalments", instalments=short)
    message = " ".join(error.value.message_dict["instalments"])
    assert "¥0.01" in message
    deal.refresh_from_db()
    assert deal.status == DealStatus.RESERVED
    assert not Instalment.objects.exists()
    assert status_of(units["1-101"]) == "reserved"


def test_plan_row_errors_name_the_row(people, units, customer):
    actor, buyer = people["consultant"], customer()
    deal = services.deal_reserve(actor=actor, unit=units["1-101"], customer=buyer,
                                 deposit="50000")
    today = timezone.localdate()
    with pytest.raises(ValidationError) as error:
        services.deal_contract(actor=actor, deal=deal, buyers=[(buyer, 100)],
                               payment_method="mortgage", instalments=[
                                   InstalmentLine("down_payment", today, Decimal("-1")),
                                   InstalmentLine("loan", today, Decimal("100"), bank="")])
    messages = error.value.message_dict["instalments"]
    assert any("第 1 期" in m and "大于零" in m for m in messages)  # zh-hans by default
    assert any("第 2 期" in m and "银行" in m for m in messages)


def test_shares_must_add_up_to_100(people, units, customer):
    actor, first, second = people["consultant"], customer("张三"), customer("李四")
    deal = services.deal_reserve(actor=actor, unit=units["1-101"], customer=first,
                                 deposit="50000")
    for buyers in ([(first, 60), (second, 30)], [(second, 100)], [(first, 50), (first, 50)]):
        with pytest.raises(ValidationError) as error:
            services.deal_contract(actor=actor, deal=deal, buyers=buyers,
                                   payment_method="full", instalments=plan_for(deal, method="full"))
        assert "buyers" in error.value.message_dict


def test_payments_partial_no_overpayment_receipts(people, contracted):
    deal = contracted()
    actor = people["consultant"]
    down = deal.instalments.get(kind="down_payment")
    first = services.payment_record(actor=actor, instalment=down, amount="100000")
    down.refresh_from_db()
    assert down.paid_amount == Decimal("100000.00") and down.paid_at is None
    with pytest.raises(ValidationError) as error:
        services.payment_record(actor=actor, instalment=down, amount=down.outstanding + 1)
    assert "amount" in error.value.message_dict
    second = services.payment_record(actor=actor, instalment=down, amount=down.outstanding)
    down.refresh_from_db()
    assert down.paid_at is not None and down.outstanding == 0
    assert first.receipt_number != second.receipt_number
    deal.refresh_from_db()
    assert deal.received_amount == Decimal("50000.00") + down.amount


def test_database_refuses_an_overpaid_instalment(contracted):
    line = contracted().instalments.get(kind="down_payment")
    with pytest.raises(IntegrityError), transaction.atomic():
        Instalment.objects.filter(pk=line.pk).update(paid_amount=line.amount + 1)


def test_loan_moves_and_disbursement_pays_the_loan(people, contracted):
    deal = contracted(method="mortgage")
    actor = people["consultant"]
    loan = deal.instalments.get(kind="loan")
    with pytest.raises(DealError):
        services.loan_status_set(actor=actor, instalment=loan, status="disbursed")
    services.loan_status_set(actor=actor, instalment=loan, status="approved")
    loan = services.loan_status_set(actor=actor, instalment=loan, status="disbursed")
    assert loan.loan_status == LoanStatus.DISBURSED
    assert loan.paid_amount == loan.amount
    assert Payment.objects.filter(instalment=loan, method="loan").count() == 1
    with pytest.raises(DealError):
        services.loan_status_set(actor=actor, instalment=loan, status="applied")


def test_deliver_only_when_paid_in_full(people, contracted):
    deal = contracted(method="full")
    actor = people["consultant"]
    with pytest.raises(ValidationError):
        services.deal_deliver(actor=actor, deal=deal)
    line = deal.instalments.get(kind="full")
    services.payment_record(actor=actor, instalment=line, amount=line.amount)
    deal = services.deal_deliver(actor=actor, deal=deal)
    assert deal.status == DealStatus.DELIVERED
    assert Unit.objects.get(pk=deal.unit_id).status == "delivered"


def test_cancellation_needs_an_approver_and_frees_the_unit(people, contracted):
    deal = contracted()
    request = services.change_request_create(actor=people["consultant"], deal=deal,
                                             kind="cancellation", reason="资金不足",
                                             refund_amount="30000")
    assert Notification.objects.filter(recipient=people["manager"],
                                       kind="sales.change_requested").exists()
    with pytest.raises(PermissionDenied):
        services.change_request_decide(actor=people["other"], request=request, approve=True)
    with pytest.raises(DealError):
        services.change_request_create(actor=people["consultant"], deal=deal,
                                       kind="cancellation", reason="again")
    services.change_request_decide(actor=people["manager"], request=request, approve=True,
                                   comment="同意")
    deal.refresh_from_db()
    assert deal.status == DealStatus.CANCELLED
    assert deal.refunded_amount == Decimal("30000.00")
    assert Unit.objects.get(pk=deal.unit_id).status == "available"
    assert Notification.objects.filter(recipient=people["consultant"],
                                       kind="sales.change_decided").exists()
    kinds = list(deal.events.order_by("id").values_list("kind", flat=True))
    assert kinds[-3:] == ["change_requested", "cancelled", "change_approved"]


def test_refund_above_received_and_self_approval_are_refused(people, contracted):
    deal = contracted()
    with pytest.raises(ValidationError) as error:
        services.change_request_create(actor=people["consultant"], deal=deal,
                                       kind="cancellation", reason="x", refund_amount="60000")
    assert "refund_amount" in error.value.message_dict
    request = services.change_request_create(actor=people["manager"], deal=deal,
                                             kind="cancellation", reason="x")
    with pytest.raises(PermissionDenied):
        services.change_request_decide(actor=people["manager"], request=request, approve=True)


def test_rejection_needs_a_comment_and_keeps_the_deal(people, contracted):
    deal = contracted()
    request = services.change_request_create(actor=people["consultant"], deal=deal,
                                             kind="cancellation", reason="x")
    with pytest.raises(ValidationError) as error:
        services.change_request_decide(actor=people["manager"], request=request, approve=False)
    assert "comment" in error.value.message_dict
    services.change_request_decide(actor=people["manager"], request=request, approve=False,
                                   comment="合同已签，不予退房")
    request.refresh_from_db()
    deal.refresh_from_db()
    assert request.state == DealChangeRequest.State.REJECTED
    assert deal.status == DealStatus.CONTRACTED


def test_swap_moves_the_deal_and_keeps_history(people, units, contracted):
    deal = contracted()
    request = services.change_request_create(actor=people["consultant"], deal=deal,
                                             kind="swap", reason="换高楼层",
                                             target_unit=units["1-302"])
    request = services.change_request_decide(actor=people["manager"], request=request,
                                             approve=True)
    deal.refresh_from_db()
    new = request.new_deal
    assert deal.status == DealStatus.SWAPPED
    assert new.status == DealStatus.RESERVED and new.swapped_from == deal
    assert new.received_amount == Decimal("50000.00") == new.deposit
    assert Unit.objects.get(pk=deal.unit_id).status == "available"
    assert Unit.objects.get(pk=units["1-302"].pk).status == "reserved"
    assert new.payments.count() == 1
    assert deal.events.filter(kind="swapped").exists()
    assert UnitStatusChange.objects.filter(reference=f"deal:{deal.pk}").count() == 3
    assert UnitStatusChange.objects.get(reference=f"deal:{new.pk}").to_status == "reserved"


def test_swap_to_a_taken_unit_is_refused_at_approval(people, units, contracted, customer):
    deal = contracted()
    request = services.change_request_create(actor=people["consultant"], deal=deal,
                                             kind="swap", reason="x", target_unit=units["1-302"])
    services.deal_hold(actor=people["other"], unit=units["1-302"],
                       customer=customer("别人", owner=people["other"]))
    with pytest.raises(DealError) as refused:
        services.change_request_decide(actor=people["manager"], request=request, approve=True)
    assert refused.value.code == "unit_taken"
    deal.refresh_from_db()
    assert deal.status == DealStatus.CONTRACTED
    assert Unit.objects.get(pk=deal.unit_id).status == "contracted"


def test_expiry_releases_holds_and_reservations(people, units, customer):
    actor = people["consultant"]
    held = services.deal_hold(actor=actor, unit=units["1-101"], customer=customer("甲"))
    reserved = services.deal_reserve(actor=actor, unit=units["1-102"], customer=customer("乙"),
                                     deposit="1000")
    assert services.deals_expire() == 0
    assert services.deals_expire(now=timezone.now() + datetime.timedelta(days=2)) == 1
    held.refresh_from_db()
    assert held.status == DealStatus.EXPIRED
    assert status_of(units["1-101"]) == "available"
    assert services.deals_expire(now=timezone.now() + datetime.timedelta(days=9)) == 1
    reserved.refresh_from_db()
    assert reserved.status == DealStatus.EXPIRED and status_of(units["1-102"]) == "available"
    assert Notification.objects.filter(recipient=actor, kind="sales.deal_expired").count() == 2
    # the unit can be sold again
    services.deal_hold(actor=actor, unit=units["1-101"], customer=customer("丙"))


def test_overdue_instalments_flagged_daily_to_consultant_and_manager(people, contracted):
    deal = contracted()
    later = timezone.localdate() + datetime.timedelta(days=8)
    assert services.instalments_overdue_flag(today=later) == 1  # the down payment
    assert services.instalments_overdue_flag(today=later) == 0  # once a day
    for person in ("consultant", "manager"):
        notice = Notification.objects.get(recipient=people[person],
                                          kind="sales.instalment_overdue")
        assert "张三" in notice.body and "1-101" in notice.body
    assert not Notification.objects.filter(recipient=people["other"]).exists()
    assert deal.events.filter(kind="overdue").count() == 1
    # the next day it is flagged again (still unpaid), without a second timeline event
    assert services.instalments_overdue_flag(
        today=later + datetime.timedelta(days=1)) == 1
    assert Notification.objects.filter(recipient=people["consultant"],
                                       kind="sales.instalment_overdue").count() == 2
    assert deal.events.filter(kind="overdue").count() == 1
    # paid: no more flags
    line = deal.instalments.get(kind="down_payment")
    services.payment_record(actor=people["consultant"], instalment=line, amount=line.amount)
    assert services.instalments_overdue_flag(today=later + datetime.timedelta(days=2)) == 0


def test_collection_follow_up_is_an_interaction(people, contracted):
    deal = contracted()
    interaction = services.collection_follow_up_log(actor=people["consultant"], deal=deal,
                                                    outcome="答应月底付清")
    assert interaction.customer_id == deal.customer_id
    assert "答应月底付清" in interaction.outcome
    assert Interaction.objects.filter(customer=deal.customer).count() == 1
    assert deal.events.filter(kind="collection").exists()


def test_database_refuses_a_second_live_deal(people, units, customer):
    """Whatever writes the row (admin, import, a raw create): one live deal per unit."""
    deal = services.deal_hold(actor=people["consultant"], unit=units["1-101"],
                              customer=customer())
    with pytest.raises(IntegrityError), transaction.atomic():
        Deal.objects.create(unit=deal.unit, project=deal.project, customer=deal.customer,
                            consultant=deal.consultant, status=DealStatus.CONTRACTED,
                            list_price=1, final_price=1)
    second = Deal(unit=deal.unit, project=deal.project, customer=deal.customer,
                  consultant=deal.consultant, status=DealStatus.CANCELLED, list_price=1,
                  final_price=1)
    second.save()  # a closed deal on the same unit is history, allowed
    second.status = DealStatus.RESERVED
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()  # an admin-style edit that would revive it


def test_the_customers_opportunity_follows_the_deal(people, units, customer):
    from anju.sales.models import Opportunity

    actor, buyer = people["consultant"], customer()
    deal = services.deal_reserve(actor=actor, unit=units["1-101"], customer=buyer,
                                 deposit="50000")
    opportunity = Opportunity.objects.get(customer=buyer, project=deal.project)
    assert opportunity.stage == "reserved"
    services.deal_contract(actor=actor, deal=deal, buyers=[(buyer, 100)],
                           payment_method="instalments", instalments=plan_for(deal))
    opportunity.refresh_from_db()
    assert opportunity.stage == "contracted"
    change = services.change_request_create(actor=actor, deal=deal, kind="cancellation",
                                            reason="资金不足")
    services.change_request_decide(actor=people["manager"], request=change, approve=True)
    opportunity.refresh_from_db()
    assert opportunity.stage == "lost"


def test_a_hold_is_released_without_approval(people, units, customer):
    deal = services.deal_hold(actor=people["consultant"], unit=units["1-101"],
                              customer=customer())
    services.deal_hold_release(actor=people["consultant"], deal=deal, reason="客户不要了")
    deal.refresh_from_db()
    assert deal.status == DealStatus.CANCELLED and deal.close_reason == "客户不要了"
    assert status_of(units["1-101"]) == "available"
    with pytest.raises(DealError):
        services.deal_hold_release(actor=people["consultant"], deal=deal)
