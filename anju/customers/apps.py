from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "anju.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from anju.core.audit import audit_register
        from anju.core.masking import ID_NUMBER, PHONE, register_sensitive_field

        from .models import Customer, CustomerPhone, CustomerTag, Interaction

        audit_register(Customer, include_fields=[
            "name", "gender", "birthday", "id_number", "primary_phone", "owner", "project",
            "source_channel", "stage", "tier", "tier_override", "tier_override_reason",
            "marketing_consent", "occupation", "income_band", "address", "merged_into",
        ], mask_fields=["id_number", "primary_phone"])
        audit_register(CustomerPhone, include_fields=["customer", "e164", "label", "is_primary"],
                       mask_fields=["e164"])
        audit_register(CustomerTag, include_fields=["customer", "tag"])
        audit_register(Interaction, include_fields=["customer", "kind", "occurred_at",
                                                    "outcome", "next_follow_up_at",
                                                    "follow_up_done_at"])

        register_sensitive_field(Customer, "primary_phone", PHONE)
        register_sensitive_field(Customer, "id_number", ID_NUMBER)
        register_sensitive_field(
            CustomerPhone, "e164", PHONE,
            queryset=lambda user: CustomerPhone.objects.filter(
                customer__in=Customer.objects.visible_to(user)))
