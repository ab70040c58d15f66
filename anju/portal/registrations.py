"""What the portal contributes to the shell: the audit of owner accounts (the phone they sign
in with, whether they may)."""

from anju.core.audit import audit_register

from .models import OwnerAccount

audit_register(OwnerAccount, include_fields=["phone", "is_active", "customer"],
               mask_fields=["phone"])
