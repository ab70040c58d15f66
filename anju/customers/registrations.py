"""What the ledger contributes to the shell: menu entries and the follow-ups tile."""

from django.utils.translation import gettext_lazy as _

from anju.core.registry import MenuEntry, Tile, dashboard, menu

from .merging import may_merge
from .selectors import follow_ups_due_count

GROUP = _("Customers")


def _due(request) -> dict:
    return {"due_count": follow_ups_due_count(user=request.user)}


menu.register(MenuEntry(key="customers.list", label=_("Customers"), url_name="customers:list",
                        icon="users", order=100, group=GROUP))
menu.register(MenuEntry(key="customers.today", label=_("Today's follow-ups"),
                        url_name="customers:today", icon="calendar", order=110, group=GROUP))
menu.register(MenuEntry(key="customers.imports", label=_("Import customers"),
                        url_name="customers:import_list", icon="upload", order=120,
                        group=GROUP))
menu.register(MenuEntry(key="customers.duplicates", label=_("Duplicate candidates"),
                        url_name="customers:duplicates", icon="copy", order=130,
                        visible=may_merge,
                        group=GROUP))
menu.register(MenuEntry(key="customers.export_requests", label=_("Export requests"),
                        url_name="core:export-requests", icon="download", order=840,
                        group=_("Administration")))

dashboard.register(Tile(key="customers.follow_ups_due", title=_("Follow-ups due today"),
                        template_name="customers/follow_ups_tile.html", context=_due,
                        order=15, size="s"))
