from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PropertyConfig(AppConfig):
    name = "anju.property"
    label = "property"
    verbose_name = _("Property")

    def ready(self) -> None:
        from anju.core.audit import audit_register

        from .models import Building, Unit, UnitType

        audit_register(Unit, include_fields=[
            "status", "list_price", "floor_price", "unit_type", "built_area", "usable_area",
            "number", "label", "floor"])
        audit_register(Building, include_fields=["project", "name", "code", "floor_count",
                                                 "units_per_floor"])
        audit_register(UnitType, include_fields=["project", "name", "rooms", "halls",
                                                 "bathrooms", "built_area", "orientation",
                                                 "floor_plan"])
