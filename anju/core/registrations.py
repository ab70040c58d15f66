"""What the kernel contributes to the shell: the inbox menu entry and its dashboard tiles.

Imported once by `anju.core.registry.autodiscover()`."""

from django.utils.translation import gettext_lazy as _

from .notifications.selectors import unread_count
from .registry import MenuEntry, Tile, dashboard, menu, with_right


def _unread(request) -> dict:
    return {"unread": unread_count(user=request.user)}


menu.register(MenuEntry(key="core.inbox", label=_("Inbox"), url_name="core:inbox",
                        icon="inbox", order=900, group=""))

menu.register(MenuEntry(key="core.audit", label=_("Audit trail"), url_name="core:audit-search",
                        icon="shield", order=820, visible=with_right("read_audit"),
                        group=_("Administration")))
menu.register(MenuEntry(key="core.api_docs", label=_("API documentation"), url_name="api-docs",
                        icon="code", order=830, visible=with_right("manage_users"),
                        group=_("Administration")))

dashboard.register(Tile(key="core.unread_notifications", title=_("Unread notifications"),
                        template_name="core/inbox_tile.html", context=_unread, order=10,
                        size="s"))
dashboard.register(Tile(key="core.notifications_per_day",
                        title=_("Notifications in the last 14 days"),
                        data_url="core:inbox_chart", order=20, size="m"))
