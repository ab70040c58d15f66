"""Admin screens for the inventory. Unit status is read-only here: it moves only through
`unit_transition` (the board, the API and the sales deals), so the history stays complete."""

from django.contrib import admin

from .models import Building, Unit, UnitStatusChange, UnitType


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


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["label", "building", "floor", "unit_type", "built_area", "list_price",
                    "status"]
    list_filter = ["status", "building__project"]
    search_fields = ["label", "number"]
    list_select_related = ["building", "unit_type"]
    readonly_fields = ["status", "status_changed_at", "revision", "version"]
    raw_id_fields = ["building", "unit_type"]
    inlines = [UnitStatusChangeInline]


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
