"""What the portal contributes to the shell: the staff page of owner accounts in the
customer-service menu, and the audit of owner accounts (the phone they sign in with,
whether they may, and why not)."""

from django.utils.translation import gettext_lazy as _

from anju.core.audit import audit_register
from anju.core.registry import MenuEntry, menu

from .models import OwnerAccount
from .selectors import may_manage_owner_accounts

menu.register(MenuEntry(key="portal.accounts", label=_("Owner portal accounts"),
                        url_name="portal:staff_accounts", icon="users", order=670,
                        visible=may_manage_owner_accounts, group=_("Customer service")))

audit_register(OwnerAccount, include_fields=["phone", "is_active", "customer",
                                             "disabled_reason"],
               mask_fields=["phone"])
