"""Admin screens for the inventory. Unit status is read-only here: it moves only through
`unit_transition` (the board, the API and the sales deals), so the history stays complete."""

from django import forms
from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext as _

from .inventory import PRICE_FIELDS, unit_prices_apply
from .models import Building, Unit, UnitStatusChange, UnitType
from .services import building_revision_bump


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "project", "floor_count", "units_per_floor"]
    list_filter = ["project"]
    search_fields = ["name", "code"]
    list_select_related = ["project"]


@admin.register(UnitType)
class UnitTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "rooms", "halls", "bathrooms", "built_area",
                    "orientation"]
    list_filter = ["project"]
    search_fields = ["name"]
    list_select_related = ["project"]


class UnitStatusChangeInline(admin.TabularInline):
    model = UnitStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "reason", "reference",
                       "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class UnitAdminForm(forms.ModelForm):
    class Meta:
        model = Unit
        fields = ["building", "floor", "position", "number", "label", "unit_type", "built_area",
                  "usable_area", "list_price", "floor_price"]

    def clean(self):
        data = super().clean()
        unit = self.instance
        if unit.pk and unit.status not in (Unit.Status.AVAILABLE, Unit.Status.LOCKED) and any(
                name in PRICE_FIELDS for name in self.changed_data):
            raise forms.ValidationError(
                _("Unit %(unit)s is %(status)s; its price cannot change.") % {
                    "unit": unit.label, "status": unit.get_status_display()})
        return data


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    form = UnitAdminForm
    list_display = ["label", "building", "floor", "unit_type", "built_area", "list_price",
                    "status"]
    list_filter = ["status", "building__project"]
    search_fields = ["label", "number"]
    list_select_related = ["building", "unit_type"]
    readonly_fields = ["status", "status_changed_at", "revision", "version"]
    raw_id_fields = ["building", "unit_type"]
    inlines = [UnitStatusChangeInline]

    def save_model(self, request, obj, form, change) -> None:
        """Edits go the services' way: building revision first (the board sees them), prices
        through `unit_prices_apply` (audited, refused for units a deal holds)."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        with transaction.atomic():
            revision = building_revision_bump(building_id=obj.building_id)
            current = Unit.objects.select_for_update(of=("self",)).get(pk=obj.pk)
            prices = {name: getattr(obj, name) for name in form.changed_data
                      if name in PRICE_FIELDS}
            others = [name for name in form.changed_data if name not in PRICE_FIELDS]
            if others:
                for name in others:
                    setattr(current, name, getattr(obj, name))
                current.revision = revision
                current.save(update_fields=[*others, "revision"])
            if prices:
                unit_prices_apply(unit=current, changes=prices, revision=revision)


@admin.register(UnitStatusChange)
class UnitStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["unit", "from_status", "to_status", "actor", "reference", "created_at"]
    list_filter = ["to_status"]
    list_select_related = ["unit", "actor"]
    readonly_fields = ["unit", "from_status", "to_status", "actor", "reason", "reference",
                       "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
