"""What the leads app contributes to the shell: menu entries and the open-leads tile."""

from django.utils.translation import gettext_lazy as _

from anju.core.registry import MenuEntry, Section, Tile, customer_sections, dashboard, menu

GROUP = _("Leads")


def _staff(user) -> bool:
    role = getattr(user, "role", None)
    return bool(getattr(user, "is_authenticated", False)
                and not (role is not None and role.code == "channel_agent"))


def _agent_or_staff(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _manager(user) -> bool:
    from .services import is_lead_manager

    return is_lead_manager(user)


def _inbox(request) -> dict:
    from .selectors import my_open_leads

    return {"inbox": my_open_leads(user=request.user)}


for entry in (
    MenuEntry(key="leads.queue", label=_("My leads"), url_name="leads:queue", order=150,
              group=GROUP, visible=_staff),
    MenuEntry(key="leads.capture", label=_("New lead"), url_name="leads:capture", order=151,
              group=GROUP, visible=_staff),
    MenuEntry(key="leads.import", label=_("Import leads"), url_name="leads:import",
              order=152, group=GROUP, visible=_staff),
    MenuEntry(key="leads.registrations", label=_("Agency registrations"),
              url_name="leads:registrations", order=153, group=GROUP,
              visible=_agent_or_staff),
    MenuEntry(key="leads.agencies", label=_("Agencies"), url_name="leads:agencies",
              order=154, group=GROUP, visible=_staff),
    MenuEntry(key="leads.channels", label=_("Channels"), url_name="leads:channels",
              order=155, group=GROUP, visible=_staff),
    MenuEntry(key="leads.roster", label=_("Duty roster"), url_name="leads:roster", order=156,
              group=GROUP, visible=_staff),
    MenuEntry(key="leads.rules", label=_("Lead rules"), url_name="leads:rules", order=157,
              group=GROUP, visible=_manager),
    MenuEntry(key="leads.reports", label=_("Lead reports"), url_name="leads:reports",
              order=158, group=GROUP, visible=_staff),
):
    menu.register(entry)

dashboard.register(Tile(key="leads.open", title=_("My open leads"),
                        template_name="leads/tile.html", context=_inbox, order=16, size="s",
                        visible=_staff))


def _section(customer, viewer) -> dict:
    from .selectors import customer_leads_section

    return customer_leads_section(customer=customer, viewer=viewer)


customer_sections.register(Section(key="leads", title=_("Leads and referrals"), order=150,
                                   template_name="leads/_customer_section.html",
                                   context=_section, visible=_staff))
