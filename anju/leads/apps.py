from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "anju.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from anju.core.audit import audit_register
        from anju.core.masking import register_sensitive_field

        from .models import Agency, Lead, Registration

        audit_register(Lead, include_fields=["status", "grade", "grade_override", "assigned_to",
                                             "invalid_reason", "lost_reason", "customer"])
        audit_register(Registration, include_fields=["status", "protected_until",
                                                     "visited_at", "reason"])
        audit_register(Agency, include_fields=["name", "contact_consultant", "commission_rate",
                                               "is_active"])
        register_sensitive_field(Lead, "phone")
        register_sensitive_field(Registration, "phone")
