"""Demo data of opportunities: one for most demo customers with needs, walked through the
stages over the last months (some lost with a reason, a few won), discount policies per role,
issued quotes and a few quotes beyond the consultant's limit waiting for a manager.

Written through the services with each customer's consultant as the actor, moved with
back-dated times so time in stage looks real; the funnel cells are rebuilt at the end
(the opening dates are back-dated too)."""

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.accounts.models import Role
from anju.core.demo import DemoContext, demo_step
from anju.customers.models import Customer
from anju.property.models import Unit
from anju.sales.models.opportunities import DiscountPolicy, Opportunity, OpportunityStageChange

from . import services
from .funnel import funnel_rebuild

S = services.Stage
PATHS = [
    ([], 14), ([S.NEEDS_CONFIRMED], 14), ([S.NEEDS_CONFIRMED, S.UNITS_RECOMMENDED], 14),
    ([S.NEEDS_CONFIRMED, S.UNITS_RECOMMENDED, S.NEGOTIATION], 16),
    ([S.NEEDS_CONFIRMED, S.LOST], 10), ([S.NEEDS_CONFIRMED, S.UNITS_RECOMMENDED, S.LOST], 8),
    ([S.NEEDS_CONFIRMED, S.UNITS_RECOMMENDED, S.NEGOTIATION, S.RESERVED], 8),
    ([S.NEEDS_CONFIRMED, S.UNITS_RECOMMENDED, S.NEGOTIATION, S.RESERVED, S.CONTRACTED], 6),
    ([S.NEEDS_CONFIRMED, S.UNITS_RECOMMENDED, S.NEGOTIATION, S.RESERVED, S.CONTRACTED,
      S.WON], 10),
]
LOST = [("price", ""), ("competitor", "买了隔壁楼盘"), ("location", ""), ("financing", ""),
        ("timing", "孩子明年上学再看"), ("other", "家人意见不一致")]
POLICIES = [  # role, payment method, largest discount %
    (Role.Code.SALES_CONSULTANT, "", "2"), (Role.Code.SALES_CONSULTANT, "full", "3"),
    (Role.Code.SALES_MANAGER, "", "5"), (Role.Code.SALES_MANAGER, "full", "6"),
]


@demo_step(order=35, name="sales: opportunities, quotes and discount approvals")
def build(ctx: DemoContext) -> None:
    if Opportunity.objects.exists():
        ctx.log(_("The demo opportunities exist already; skipped."))
        return
    for code, method, percent in POLICIES:
        role = Role.objects.filter(code=code).first()
        if role is not None:
            DiscountPolicy.objects.update_or_create(
                role=role, payment_method=method,
                defaults={"max_discount_percent": Decimal(percent)})
    customers = list(Customer.objects.filter(project__isnull=False, owner__isnull=False,
                                             merged_into__isnull=True, need__isnull=False)
                     .select_related("owner__role", "project").order_by("id")
                     [: max(30, 60 * ctx.size)])
    now = timezone.now()
    weights = [weight for _path, weight in PATHS]
    opened_at: dict[int, datetime.datetime] = {}
    negotiating = []
    for customer in customers:
        owner = customer.owner
        if not owner.is_active or not Customer.objects.visible_to(owner).filter(
                pk=customer.pk).exists():
            continue
        opportunity = services.opportunity_create(
            actor=owner, customer=customer, project=customer.project,
            expected_value=Decimal(ctx.random.randrange(120, 600) * 10000),
            expected_close_date=(now + datetime.timedelta(days=ctx.random.randint(15, 120))
                                 ).date())
        steps = ctx.random.choices(PATHS, weights)[0][0]
        start = now - datetime.timedelta(days=ctx.random.uniform(5, 300))
        opened_at[opportunity.pk] = start
        at = start
        for step in steps:
            at += datetime.timedelta(hours=ctx.random.expovariate(1 / 150))
            if at >= now:
                break
            reason, note = ctx.random.choice(LOST)
            opportunity = services.opportunity_move(
                actor=owner, opportunity=opportunity, to_stage=step, at=at,
                lost_reason=reason if step == S.LOST else "",
                lost_note=note if step == S.LOST else "")
        if opportunity.stage == S.NEGOTIATION:
            negotiating.append(opportunity)
    # back-date the openings (and the first history row) to the start of each walk
    for pk, start in opened_at.items():
        Opportunity.objects.filter(pk=pk).update(created_at=start)
        OpportunityStageChange.objects.filter(opportunity_id=pk, from_stage="").update(
            changed_at=start)
    funnel_rebuild()
    quotes = pending = 0
    for index, opportunity in enumerate(negotiating):
        unit = (Unit.objects.filter(building__project_id=opportunity.project_id,
                                    status=Unit.Status.AVAILABLE)
                .order_by("id")[index * 3: index * 3 + 1].first())
        if unit is None:
            continue
        beyond = index % 3 == 0  # every third asks for more than a consultant may give
        discounts = [{"label": "一次性付款优惠", "percent": Decimal("2")}]
        if beyond:
            discounts.append({"label": "特批优惠", "percent": Decimal("3")})
        try:
            quote = services.quote_create(
                actor=opportunity.owner, opportunity=opportunity, unit=unit,
                payment_method="full" if not beyond else "mortgage", discounts=discounts,
                valid_until=(now + datetime.timedelta(days=7)).date())
        except (ValidationError, PermissionDenied) as error:  # the demo goes on without it
            ctx.log(f"quote skipped: {error}")
            continue
        quotes += 1
        pending += quote.status == quote.Status.PENDING
    ctx.log(_("%(opportunities)d opportunities, %(quotes)d quotes (%(pending)d awaiting "
              "approval)") % {"opportunities": len(opened_at), "quotes": quotes,
                              "pending": pending})
    ctx.data["sales_opportunities"] = {"opportunities": list(opened_at)}
