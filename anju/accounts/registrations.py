"""What accounts contributes to the shell's navigation (imported by registry.autodiscover)."""

from django.utils.translation import gettext_lazy as _

from anju.core.registry import MenuEntry, menu, with_right

ADMIN_GROUP = _("Administration")

menu.register(MenuEntry(key="accounts.projects", label=_("Projects"),
                        url_name="accounts:project_list", icon="building", order=800,
                        group=ADMIN_GROUP))
menu.register(MenuEntry(key="accounts.users", label=_("Users"), url_name="accounts:user_list",
                        icon="users", order=810, visible=with_right("manage_users"),
                        group=ADMIN_GROUP))
