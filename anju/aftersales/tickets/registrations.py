"""What tickets contribute to the shell (menu, 360° section)."""

from django.utils.translation import gettext_lazy as _

from anju.core.registry import MenuEntry, Section, customer_sections, menu

from . import selectors


def _staff(user) -> bool:
    return selectors.is_service_staff(user)


GROUP = _("Customer service")

menu.register(MenuEntry(key="service.tickets", label=_("Ticket queue"),
                        url_name="aftersales:ticket_queue", order=500, group=GROUP,
                        visible=_staff))
menu.register(MenuEntry(key="service.ticket_new", label=_("Receive a ticket"),
                        url_name="aftersales:ticket_new", order=501, group=GROUP,
                        visible=_staff))
menu.register(MenuEntry(key="service.my_tasks", label=_("My repair tasks"),
                        url_name="aftersales:my_tasks", order=502, group=GROUP,
                        visible=_staff))
menu.register(MenuEntry(key="service.library", label=_("Problem library"),
                        url_name="aftersales:library", order=560, group=GROUP,
                        visible=_staff))
menu.register(MenuEntry(key="service.quality", label=_("Quality feedback"),
                        url_name="aftersales:quality", order=570, group=GROUP,
                        visible=_staff))


def _section_context(customer, viewer) -> dict:
    return {"tickets": selectors.tickets_for_customer_section(viewer=viewer,
                                                              customer_id=customer.pk)}


customer_sections.register(Section(
    key="service-tickets", title=_("Service tickets"), order=300,
    template_name="aftersales/tickets/_section.html", context=_section_context,
    visible=_staff))
