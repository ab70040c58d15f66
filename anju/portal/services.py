"""Every write of the owner portal: owner accounts, one-time codes, password sign-in.

Codes are six digits, kept only as a keyed hash, valid for CODE_MINUTES, good for
CODE_ATTEMPTS wrong tries; a phone gets one code a minute and CODES_PER_HOUR an hour, an
address ADDRESS_PER_HOUR requests. Whether a number has an account is never revealed: the
request answers the same either way."""

import datetime
import hmac
import logging
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from anju.accounts.models import User
from anju.core.normalise.phone import normalise_phone
from anju.customers.models import Customer
from anju.leads.ratelimit import allow

from .models import OneTimeCode, OwnerAccount

logger = logging.getLogger(__name__)

CODE_MINUTES = 5
CODE_ATTEMPTS = 5
CODES_PER_HOUR = 5
ADDRESS_PER_HOUR = 30
PASSWORD_TRIES_PER_HOUR = 10


def disabled_message() -> str:
    return _("This owner account has been disabled by customer service. Please call the "
             "service centre to have it opened again.")


class PortalError(Exception):
    """A refused portal action: `code` is "rate_limited", "sms_failed", "account_disabled"
    or "not_found"."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


def _phone(raw: str) -> str:
    try:
        value = normalise_phone(str(raw or "").strip())
    except Exception:
        value = ""
    if not value:
        raise ValidationError({"phone": [_("Enter a valid mobile number.")]})
    return value


def _code_hash(phone: str, code: str) -> str:
    return salted_hmac("anju.portal.otp", f"{phone}:{code}", algorithm="sha256").hexdigest()


@transaction.atomic
def owner_account_create(*, customer: Customer, phone: str = "",
                         password: str = "") -> OwnerAccount:
    """Opens the portal to a customer, with a shadow user that acts for them in the
    services of the apps below (no role, no usable password, no projects)."""
    phone = _phone(phone or customer.primary_phone)
    if OwnerAccount.objects.filter(phone=phone).exists():
        raise ValidationError({"phone": [_("This number already has an owner account.")]})
    user = User(username=f"owner-{customer.pk}-{secrets.token_hex(3)}",
                display_name=customer.name, phone=phone, is_staff=False)
    user.set_unusable_password()
    user.save()
    account = OwnerAccount(customer=customer, user=user, phone=phone)
    if password:
        account.set_password(password)
    account.save()
    return account


def otp_request(*, phone: str, address: str) -> None:
    """Sends a login code when the number has an active account. Raises ValidationError
    for a malformed number and PortalError("rate_limited") when asked too often."""
    phone = _phone(phone)
    if not allow(scope="portal-otp-ip", key=address, limit=ADDRESS_PER_HOUR,
                 window_seconds=3600):
        raise PortalError(_("Too many requests. Please try again later."), "rate_limited")
    now = timezone.now()
    recent = OneTimeCode.objects.filter(phone=phone,
                                        created_at__gte=now - datetime.timedelta(hours=1))
    if recent.filter(created_at__gte=now - datetime.timedelta(minutes=1)).exists() or \
            recent.count() >= CODES_PER_HOUR:
        raise PortalError(_("A code was sent a moment ago. Please wait before asking again."),
                          "rate_limited")
    code = f"{secrets.randbelow(10**6):06d}"
    OneTimeCode.objects.create(phone=phone, code_hash=_code_hash(phone, code),
                               expires_at=now + datetime.timedelta(minutes=CODE_MINUTES))
    account = OwnerAccount.objects.filter(phone=phone).only("id", "is_active").first()
    if account is not None and not account.is_active:
        # The page answers as for any number; the phone's holder learns why by SMS.
        _send_text(phone, disabled_message())
    elif account is not None or owner_customer_for(phone=phone) is not None:
        _send_code(phone, code)


def owner_customer_for(*, phone: str) -> Customer | None:
    """The customer behind a number who owns a unit (a buyer of a contracted or delivered
    deal): such an owner may open their portal account with a code, no staff step needed."""
    from anju.aftersales.care.services import OWNER_DEAL_STATUSES
    from anju.customers.models import CustomerPhone

    owners = Customer.objects.filter(merged_into__isnull=True,
                                     deal_shares__deal__status__in=OWNER_DEAL_STATUSES)
    by_phone = CustomerPhone.objects.filter(e164=phone).values("customer_id")
    return (owners.filter(pk__in=by_phone).first()
            or owners.filter(primary_phone=phone).order_by("id").first())


def _send_code(phone: str, code: str) -> None:
    _send_text(phone, _("Your Anju owner login code is %(code)s, valid for %(minutes)d "
                        "minutes. Do not share it.") % {"code": code, "minutes": CODE_MINUTES})


def _send_text(phone: str, text: str) -> None:
    from anju.core.notifications.channels import sms_gateway

    try:
        sms_gateway().send(phone, text)
    except Exception as exc:
        logger.warning("login code SMS failed: %s", exc)
        raise PortalError(_("The code could not be sent. Please try again."),
                          "sms_failed") from exc


def otp_verify(*, phone: str, code: str) -> OwnerAccount:
    """The account of a correct, fresh, unused code. Not one transaction on purpose: a wrong
    try is counted (and kept) against the code; the right one is spent by a conditional
    UPDATE, so two requests with the same code cannot both sign in."""
    phone = _phone(phone)
    code = str(code or "").strip()
    wrong = ValidationError({"code": [_("The code is wrong or has expired.")]})
    current = (OneTimeCode.objects
               .filter(phone=phone, used_at__isnull=True, expires_at__gt=timezone.now(),
                       attempts__lt=CODE_ATTEMPTS).order_by("-created_at", "-id").first())
    if current is None or not code.isdigit():
        raise wrong
    if not hmac.compare_digest(current.code_hash, _code_hash(phone, code)):
        OneTimeCode.objects.filter(pk=current.pk).update(attempts=F("attempts") + 1)
        raise wrong
    if not OneTimeCode.objects.filter(pk=current.pk, used_at__isnull=True,
                                      attempts__lt=CODE_ATTEMPTS).update(used_at=timezone.now()):
        raise wrong
    account = OwnerAccount.objects.filter(phone=phone).first()
    if account is None:
        customer = owner_customer_for(phone=phone)
        if customer is None or OwnerAccount.objects.filter(customer=customer).exists():
            raise wrong
        account = owner_account_create(customer=customer, phone=phone)
    if not account.is_active:
        raise PortalError(disabled_message(), "account_disabled")
    OwnerAccount.objects.filter(pk=account.pk).update(last_login_at=timezone.now())
    return account


def owner_password_sign_in(*, phone: str, password: str, address: str) -> OwnerAccount:
    phone = _phone(phone)
    if not allow(scope="portal-pw", key=f"{phone}|{address}", limit=PASSWORD_TRIES_PER_HOUR,
                 window_seconds=3600):
        raise PortalError(_("Too many attempts. Please try again later or use a code."),
                          "rate_limited")
    account = OwnerAccount.objects.filter(phone=phone).first()
    if account is None or not account.check_password(str(password or "")):
        raise ValidationError({"password": [_("The phone number or password is wrong.")]})
    if not account.is_active:  # told only to whoever knows the password
        raise PortalError(disabled_message(), "account_disabled")
    OwnerAccount.objects.filter(pk=account.pk).update(last_login_at=timezone.now())
    return account


@transaction.atomic
def owner_password_set(*, account: OwnerAccount, password: str) -> None:
    from django.contrib.auth.password_validation import validate_password

    try:
        validate_password(password)
    except ValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from None
    account.set_password(password)
    account.save(update_fields=["password"])


# --- customer service: disabling and re-enabling accounts ---------------------------------------
def _account_in_scope(actor: Any, account_id: int) -> OwnerAccount:
    from .selectors import may_manage_owner_accounts, owner_accounts_for

    if not may_manage_owner_accounts(actor):
        raise PermissionDenied(_("You may not manage owner accounts."))
    account = (owner_accounts_for(user=actor).select_for_update(of=("self",))
               .filter(pk=account_id).first())
    if account is None:
        raise PortalError(_("There is no such owner account among your projects."),
                          "not_found")
    return account


@transaction.atomic
def owner_account_disable(*, actor: Any, account_id: int, reason: str) -> OwnerAccount:
    """Customer service closes an owner's portal: the account stops signing in (code and
    password answer that it is disabled) and its open sessions stop working on their next
    request (every owner request reads the account's `is_active`). The reason is required
    and kept with the account and in the audit trail."""
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationError({"reason": [_("Say why the account is disabled.")]})
    if len(reason) > 300:
        raise ValidationError({"reason": [_("At most %(n)d characters.") % {"n": 300}]})
    account = _account_in_scope(actor, account_id)
    if not account.is_active:
        raise PortalError(_("This owner account is already disabled."), "already_disabled")
    account.is_active = False
    account.disabled_reason = reason
    account.disabled_at = timezone.now()
    account.disabled_by = actor if getattr(actor, "pk", None) else None
    account.save(update_fields=["is_active", "disabled_reason", "disabled_at", "disabled_by"])
    logger.info("owner account %s disabled by user %s", account.pk, getattr(actor, "pk", None))
    return account


@transaction.atomic
def owner_account_enable(*, actor: Any, account_id: int) -> OwnerAccount:
    """Opens a disabled owner account again (the owner signs in anew). The last reason stays
    on the account; the audit trail keeps both changes."""
    account = _account_in_scope(actor, account_id)
    if account.is_active:
        raise PortalError(_("This owner account is already active."), "already_active")
    account.is_active = True
    account.save(update_fields=["is_active"])
    logger.info("owner account %s enabled by user %s", account.pk, getattr(actor, "pk", None))
    return account


# --- SMS to owners when their ticket needs them -------------------------------------------------
def portal_link(path: str) -> str:
    base = getattr(settings, "ANJU_PORTAL_BASE_URL", "") or ""
    return base.rstrip("/") + path


def ticket_completed_sms(*, ticket_id: int) -> bool:
    """Texts the owner that the work on their repair or complaint is done and waits for their
    confirmation, with the link to the ticket in the portal. Only for a ticket the owner
    sees (`owner_visible`) whose customer has an active portal account; in the
    installation's language (`settings.LANGUAGE_CODE`), whoever's request completed it.
    Returns whether a message went out; the log shows the number masked."""
    from anju.aftersales.models import Ticket
    from anju.core.notifications.channels import mask_phone, sms_gateway

    ticket = (Ticket.objects.filter(pk=ticket_id, customer__isnull=False, owner_visible=True,
                                    status="completed")
              .only("id", "number", "customer_id", "status").first())
    if ticket is None:
        return False
    account = (OwnerAccount.objects.filter(customer_id=ticket.customer_id, is_active=True)
               .select_related("customer").first())
    if account is None:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        text = _("Anju: %(name)s, the work on your request %(number)s is done. Please check "
                 "it and confirm, or tell us what is not fixed: %(link)s") % {
            "name": account.customer.name, "number": ticket.number,
            "link": portal_link(reverse("portal:ticket_detail", args=[ticket.pk]))}
    try:
        sms_gateway().send(account.phone, text)
    except Exception as exc:
        logger.warning("ticket %s completion SMS to %s failed: %s", ticket.pk,
                       mask_phone(account.phone), exc)
        return False
    logger.info("ticket %s completion SMS sent to %s", ticket.pk, mask_phone(account.phone))
    return True


def accepted(function: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    import inspect

    parameters = inspect.signature(function).parameters
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in parameters}
