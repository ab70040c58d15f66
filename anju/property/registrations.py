"""What the property app contributes to the shell: menu entries and its own side-panel
actions on the sales-control board (lock / release, for the `control_sales` right)."""

from django.utils.translation import gettext_lazy as _

from anju.core.registry import MenuEntry, menu, with_right

from .board import UnitAction, unit_actions

GROUP = _("Units")
control = with_right("control_sales")

menu.register(MenuEntry(key="property.board", label=_("Sales control"),
                        url_name="property:building_list", icon="grid", order=200,
                        group=GROUP))
menu.register(MenuEntry(key="property.unit_types", label=_("Unit types"),
                        url_name="property:unit_type_list", icon="layout", order=210,
                        group=GROUP))
menu.register(MenuEntry(key="property.new_building", label=_("New building"),
                        url_name="property:building_create", icon="plus", order=220,
                        visible=control, group=GROUP))
menu.register(MenuEntry(key="property.price_import", label=_("Import a price list"),
                        url_name="property:price_import", icon="upload", order=230,
                        visible=control, group=GROUP))


def _may_lock(user, unit) -> bool:
    return control(user) and unit.status == "available"


def _may_release(user, unit) -> bool:
    return control(user) and unit.status == "locked"


unit_actions.register(UnitAction(key="property.lock", label=_("Lock (sales control)"),
                                 url_name="property:unit_lock", order=900,
                                 visible=_may_lock))
unit_actions.register(UnitAction(key="property.release", label=_("Release for sale"),
                                 url_name="property:unit_release", order=910,
                                 visible=_may_release))
