"""Admin screens for deals, for data fixes by administrators. The pages and the API are the
way to work; here a fix is still held by the database's rules: a second live deal on a unit
is refused by the partial unique index (and reported on the form by the model's constraint
validation), amounts by their check constraints. The timeline is read-only."""

from django.contrib import admin

from anju.sales.models.deals import (
    ContractNumberRule,
    Deal,
    DealBuyer,
    DealChangeRequest,
    DealEvent,
    Instalment,
    Payment,
)


class BuyerInline(admin.TabularInline):
    model = DealBuyer
    extra = 0
    raw_id_fields = ["customer"]


class InstalmentInline(admin.TabularInline):
    model = Instalment
    extra = 0
    readonly_fields = ["paid_amount", "paid_at", "overdue_flagged_at"]


class EventInline(admin.TabularInline):
    model = DealEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "actor", "message", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ["id", "unit", "customer", "status", "final_price", "received_amount",
                    "contract_number", "consultant", "project"]
    list_filter = ["status", "project"]
    search_fields = ["contract_number", "unit__label", "customer__name"]
    list_select_related = ["unit", "customer", "consultant", "project"]
    raw_id_fields = ["unit", "customer", "consultant", "swapped_from"]
    readonly_fields = ["received_amount", "version", "created_at", "updated_at"]
    inlines = [BuyerInline, InstalmentInline, EventInline]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["receipt_number", "deal", "amount", "method", "paid_at", "recorded_by"]
    search_fields = ["receipt_number"]
    list_select_related = ["deal", "recorded_by"]
    raw_id_fields = ["deal", "instalment", "recorded_by"]


@admin.register(DealChangeRequest)
class DealChangeRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "deal", "kind", "state", "requested_by", "decided_by"]
    list_filter = ["kind", "state"]
    raw_id_fields = ["deal", "target_unit", "requested_by", "decided_by", "new_deal"]


@admin.register(ContractNumberRule)
class ContractNumberRuleAdmin(admin.ModelAdmin):
    list_display = ["project", "prefix", "receipt_prefix", "digits", "year", "last_contract",
                    "last_receipt"]
