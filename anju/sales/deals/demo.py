"""The deals demo step: in every demo building, deals in every state, written through the
services (so units, history, receipts, timelines and notices are all real): holds,
reservations, contracts with payments (some instalments overdue), a handover, an approved
cancellation and an approved swap."""

import datetime
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.models import Role, User
from anju.core.demo import DemoContext, demo_step
from anju.customers.models import Customer
from anju.property.models import Building, Unit
from anju.sales.models.deals import Deal

from . import services
from .services import DealError, InstalmentLine

BANKS = ["中国建设银行", "中国工商银行", "招商银行", "杭州银行", "南京银行"]
REASONS_CANCEL = ["家庭资金安排变化", "贷款未获批", "工作调动去外地"]
REASONS_SWAP = ["想换更高楼层", "更喜欢南向户型"]


def _actor_for(project) -> User | None:
    consultant = (User.objects.filter(role__code=Role.Code.SALES_CONSULTANT, is_active=True,
                                      projects=project).order_by("id").first())
    return consultant or (User.objects.filter(role__code=Role.Code.ADMIN, is_active=True)
                          .order_by("id").first())


def _approver_for(project, requester) -> User | None:
    for user in services.approvers_for(project):
        if user.pk != requester.pk:
            return user
    return None


def _plan(deal: Deal, method: str, signed_on: datetime.date, rng) -> list[InstalmentLine]:
    rest = deal.final_price - deal.deposit
    down = (deal.final_price * Decimal("0.3")).quantize(Decimal("0.01")) - deal.deposit
    first_due = signed_on + datetime.timedelta(days=rng.choice([10, 15, 30]))
    if method == "full":
        return [InstalmentLine("full", first_due, rest)]
    if method in ("mortgage", "provident_fund"):
        return [InstalmentLine("down_payment", first_due, down),
                InstalmentLine("loan", signed_on + datetime.timedelta(days=75), rest - down,
                               bank=rng.choice(BANKS))]
    half = ((rest - down) / 2).quantize(Decimal("0.01"))
    return [InstalmentLine("down_payment", first_due, down),
            InstalmentLine("instalment", signed_on + datetime.timedelta(days=90), half),
            InstalmentLine("instalment", signed_on + datetime.timedelta(days=180),
                           rest - down - half)]


def _contract(ctx, actor, unit, customer, *, method, days_ago) -> Deal:
    rng = ctx.random
    deal = services.deal_reserve(actor=actor, unit=unit, customer=customer,
                                 deposit=Decimal(rng.choice([20000, 50000, 100000])),
                                 discount_amount=Decimal(rng.choice([0, 0, 5000, 10000])))
    signed_on = timezone.localdate() - datetime.timedelta(days=days_ago)
    return services.deal_contract(actor=actor, deal=deal, buyers=[(customer, 100)],
                                  payment_method=method,
                                  instalments=_plan(deal, method, signed_on, rng),
                                  signed_on=signed_on)


def _pay_due(actor, deal: Deal, *, leave_overdue: bool) -> None:
    """Pays the instalments already due (all of them but one when `leave_overdue`)."""
    today = timezone.localdate()
    due = [line for line in deal.instalments.order_by("sequence")
           if line.paid_at is None and line.due_date <= today and line.kind != "loan"]
    for index, line in enumerate(due):
        if leave_overdue and index == len(due) - 1:
            # a part payment; the rest is overdue
            services.payment_record(actor=actor, instalment=line,
                                    amount=(line.amount / 3).quantize(Decimal("0.01")))
            continue
        paid_at = timezone.make_aware(datetime.datetime.combine(
            line.due_date, datetime.time(10, 30)))
        services.payment_record(actor=actor, instalment=line, amount=line.amount,
                                paid_at=min(paid_at, timezone.now()))


@demo_step(order=30, name="sales: deals in every state")
def build(ctx: DemoContext) -> None:
    buildings = list((ctx.data.get("property") or {}).get("buildings") or [])
    if not buildings:
        buildings = list(Building.objects.order_by("id"))
    if not buildings:
        ctx.log(_("No demo buildings: deals demo skipped."))
        return
    if Deal.objects.filter(unit__building__in=buildings).exists():
        ctx.log(_("The demo deals exist already; skipped."))
        return
    for building in buildings:
        project = building.project
        actor = _actor_for(project)
        if actor is None:
            continue
        customers = list(Customer.objects.visible_to(actor).filter(
            merged_into__isnull=True, project=project).order_by("id")[:40]) or list(
            Customer.objects.visible_to(actor).filter(merged_into__isnull=True)
            .order_by("id")[:40])
        free = list(Unit.objects.filter(building=building, status="available")
                    .order_by("-floor", "position"))
        if len(customers) < 12 or len(free) < 14:
            continue
        ctx.random.shuffle(free)
        people = iter(customers)
        units = iter(free)
        try:
            for _hold in range(2):
                services.deal_hold(actor=actor, unit=next(units), customer=next(people))
            for _reserve in range(2):
                services.deal_reserve(actor=actor, unit=next(units), customer=next(people),
                                      deposit=Decimal(ctx.random.choice([20000, 50000])))
            for method, days_ago, overdue in (("mortgage", 120, True),
                                              ("instalments", 200, True),
                                              ("provident_fund", 30, False),
                                              ("instalments", 100, False)):
                deal = _contract(ctx, actor, next(units), next(people), method=method,
                                 days_ago=days_ago)
                _pay_due(actor, deal, leave_overdue=overdue)
                loan = deal.instalments.filter(kind="loan").first()
                if loan is not None and days_ago > 60:
                    services.loan_status_set(actor=actor, instalment=loan, status="approved")
            delivered = _contract(ctx, actor, next(units), next(people), method="full",
                                  days_ago=60)
            line = delivered.instalments.get(kind="full")
            services.payment_record(actor=actor, instalment=line, amount=line.amount)
            services.deal_deliver(actor=actor, deal=delivered)
            approver = _approver_for(project, actor)
            if approver is not None:
                cancelled = _contract(ctx, actor, next(units), next(people),
                                      method="instalments", days_ago=40)
                request = services.change_request_create(
                    actor=actor, deal=cancelled, kind="cancellation",
                    reason=ctx.random.choice(REASONS_CANCEL),
                    refund_amount=cancelled.received_amount)
                services.change_request_decide(actor=approver, request=request, approve=True,
                                               comment="同意退房，按合同退款")
                swapped = services.deal_reserve(actor=actor, unit=next(units),
                                                customer=next(people), deposit=Decimal(30000))
                request = services.change_request_create(
                    actor=actor, deal=swapped, kind="swap",
                    reason=ctx.random.choice(REASONS_SWAP), target_unit=next(units))
                services.change_request_decide(actor=approver, request=request, approve=True,
                                               comment="同意换房")
                pending = _contract(ctx, actor, next(units), next(people),
                                    method="mortgage", days_ago=20)
                services.change_request_create(actor=actor, deal=pending,
                                               kind="cancellation", reason="客户犹豫，申请退房",
                                               refund_amount=Decimal(10000))
        except (StopIteration, DealError) as error:
            ctx.log(_("Building %(building)s: stopped early (%(error)s).") % {
                "building": building, "error": error})
    services.instalments_overdue_flag()
    counts = dict(Deal.objects.filter(unit__building__in=buildings).values_list("status")
                  .annotate(n=Count("id")).values_list("status", "n"))
    ctx.data["deals"] = {"counts": counts}
    ctx.log(_("Deals: %(counts)s") % {"counts": ", ".join(
        f"{status} {count}" for status, count in sorted(counts.items()))})
