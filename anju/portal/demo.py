"""The portal demo step: owner accounts for the first demo owners, with a printed login
(phone number and password); they also sign in with an SMS code (the demo's SMS gateway
writes the code to the log)."""

from django.db.models import F
from django.utils.translation import gettext as _

from anju.aftersales.care.services import OWNER_DEAL_STATUSES
from anju.core.demo import DemoContext, demo_step
from anju.sales.models import DealBuyer

from .models import OwnerAccount
from .services import owner_account_create

DEMO_OWNER_PASSWORD = "owner-demo-2026"  # noqa: S105 (printed on purpose: it is a demo)
DEMO_OWNERS = 3


@demo_step(order=55, name="portal: owner accounts")
def build(ctx: DemoContext) -> None:
    if OwnerAccount.objects.exists():
        ctx.log(_("Owner accounts exist: skipped."))
        return
    made = 0
    # Owners in a handover batch first, so the demo login can book a slot.
    buyers = (DealBuyer.objects.filter(deal__status__in=OWNER_DEAL_STATUSES, is_primary=True)
              .exclude(customer__primary_phone="").select_related("customer")
              .order_by(F("customer__handovers__id").desc(nulls_last=True), "deal_id"))
    seen: set[int] = set()
    for buyer in buyers:
        if made >= DEMO_OWNERS:
            break
        if buyer.customer_id in seen or OwnerAccount.objects.filter(
                phone=buyer.customer.primary_phone).exists():
            continue
        seen.add(buyer.customer_id)
        account = owner_account_create(customer=buyer.customer,
                                       password=DEMO_OWNER_PASSWORD)
        ctx.add_credential(_("owner (portal /owner/)"), account.phone, DEMO_OWNER_PASSWORD)
        made += 1
    ctx.log(_("%(n)d owner accounts") % {"n": made})
