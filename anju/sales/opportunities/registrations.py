"""What opportunities contribute to the shell (menu, 360° sections) and to the ledger's merge."""

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
from anju.sales.models.opportunities import Opportunity

from . import selectors, services

GROUP = _("Sales")

menu.register(MenuEntry(key="sales.opportunities", label=_("Opportunities"),
                        url_name="sales:opportunity_list", icon="target", order=200,
                        group=GROUP))
menu.register(MenuEntry(key="sales.kanban", label=_("Opportunity board"),
                        url_name="sales:opportunity_kanban", icon="columns", order=210,
                        group=GROUP))
menu.register(MenuEntry(key="sales.funnel", label=_("Sales funnel"),
                        url_name="sales:opportunity_funnel", icon="filter", order=220,
                        group=GROUP))
menu.register(MenuEntry(key="sales.quotes", label=_("Quotes"),
                        url_name="sales:quote_list", icon="file", order=230, group=GROUP))
menu.register(MenuEntry(key="sales.settings", label=_("Discounts and win probabilities"),
                        url_name="sales:settings", icon="sliders", order=850,
                        visible=with_right("edit_organisation"), group=_("Administration")))

dashboard.register(Tile(key="sales.funnel", title=_("Sales funnel"),
                        data_url="sales:opportunity_funnel_chart", order=45, size="m"))

customer_sections.register(Section(
    key="sales-opportunities", title=_("Opportunities"), order=200,
    template_name="sales/opportunities/_customer_section.html",
    context=lambda customer, viewer: selectors.customer_opportunities_section(
        customer=customer, viewer=viewer)))
customer_sections.register(Section(
    key="sales-matching-units", title=_("Matching units"), order=210,
    template_name="sales/opportunities/_matching_section.html",
    context=lambda customer, viewer: selectors.customer_matching_section(
        customer=customer, viewer=viewer)))

merge_handlers.register(Opportunity, services.opportunities_merge)
