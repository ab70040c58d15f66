from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "anju.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from anju.core.audit import audit_register
        from anju.core.masking import PHONE, register_sensitive_field

        from . import signals  # noqa: F401  (session bookkeeping on login/logout)
        from .models import Company, Project, Role, Team, User

        register_sensitive_field(User, "phone", PHONE)
        audit_register(User, include_fields=["username", "display_name", "phone", "email",
                                             "role", "team", "scope_level", "is_active",
                                             "is_superuser"],
                       mask_fields=["phone"], m2m_fields=["projects", "companies"])
        audit_register(Project)
        audit_register(Company)
        audit_register(Team)
        audit_register(Role)
