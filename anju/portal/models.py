"""The owner portal's models: owner accounts and one-time login codes.

An owner account belongs to one customer of the ledger and signs in with a phone number and
a one-time code (or a password). It is not a staff login: its session lives in its own
cookie (`anju.portal.auth`), and the staff login refuses it. The account carries a shadow
`accounts.User` (no role, no usable password, no projects) only so that the services of the
apps below, which record an acting user, can record the owner."""

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils.translation import gettext_lazy as _


class OwnerAccount(models.Model):
    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE,
                                    related_name="owner_account", verbose_name=_("customer"))
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="owner_account", verbose_name=_("acting user"))
    phone = models.CharField(_("mobile phone"), max_length=32, unique=True)
    password = models.CharField(_("password"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Set by customer service when they disable the account (kept after re-enabling, with
    # the audit trail holding every change).
    disabled_reason = models.CharField(_("why it was disabled"), max_length=300, blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("disabled by"))
    last_login_at = models.DateTimeField(_("last signed in"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("owner account")
        verbose_name_plural = _("owner accounts")

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.phone[-4:]}"

    def set_password(self, raw: str) -> None:
        self.password = make_password(raw)

    def check_password(self, raw: str) -> bool:
        return bool(self.password) and check_password(raw, self.password)


class OneTimeCode(models.Model):
    """A login code sent by SMS: kept only as a hash, short-lived, a few attempts."""

    phone = models.CharField(max_length=32, db_index=True)
    code_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.phone[-4:]}@{self.created_at:%H:%M}"
