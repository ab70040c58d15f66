"""What deals contribute to the shell (menu, 360° section), the board's unit panel, the
ledger's merge, and the demo (demo.py is discovered by the demo framework itself)."""

from django.utils.translation import gettext_lazy as _

from anju.core.registry import (
    MenuEntry,
    Section,
    Tile,
    customer_sections,
    dashboard,
    menu,
    with_right,
)
from anju.customers.merging import merge_handlers
from anju.property.board import UnitAction, unit_actions
from anju.sales.models.deals import DealBuyer

from . import selectors
from .merging import deal_buyers_merge

GROUP = _("Sales")


def _unit_free(user, unit) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and unit.status == "available"


menu.register(MenuEntry(key="sales.deals", label=_("Deals"), url_name="sales:deal_list",
                        icon="file-text", order=240, group=GROUP))
menu.register(MenuEntry(key="sales.deal_changes", label=_("Cancellations and swaps"),
                        url_name="sales:change_request_list", icon="repeat", order=250,
                        group=GROUP, visible=with_right("approve_deals")))

unit_actions.register(UnitAction(key="sales.hold", label=_("Hold for a customer"),
                                 url_name="sales:unit_hold", order=100, visible=_unit_free))
unit_actions.register(UnitAction(key="sales.reserve", label=_("Reserve for a customer"),
                                 url_name="sales:unit_reserve", order=110, visible=_unit_free))

customer_sections.register(Section(
    key="sales-deals", title=_("Deals, units and payments"), order=190,
    template_name="sales/deals/_section.html",
    context=lambda customer, viewer: selectors.customer_deals(viewer=viewer,
                                                              customer=customer)))



def _attention(request) -> dict:
    user = request.user
    return {"overdue_count": selectors.overdue_deal_count(viewer=user),
            "pending_count": (selectors.pending_change_count(viewer=user)
                              if user.may("approve_deals") else None)}


dashboard.register(Tile(key="sales.deals_attention", title=_("Deals needing attention"),
                        template_name="sales/deals/attention_tile.html", context=_attention,
                        order=40, size="s"))

merge_handlers.register(DealBuyer, deal_buyers_merge)
