"""Masking of phone and ID numbers, the registry of revealable fields, and the reveal itself.

Default output is masked for everyone, everywhere (pages, API, exports, logs). A user who
`may("unmask")` sees a plain value only by asking for it, one value at a time — the reveal
button on pages (`core:sensitive-reveal`), `?unmask=<field>` on the API, the unmask option of
an export — and each of those is written down as a `core.SensitiveAccess` row."""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import phonenumbers
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from anju.core.scoping import Principal

if TYPE_CHECKING:
    from anju.core.models import SensitiveAccess

# This module is imported by LOGGING (MaskingLogFilter) before the app registry is ready:
# models and DRF are imported inside the functions that need them.

PHONE = "phone"
ID_NUMBER = "id_number"
KINDS = (PHONE, ID_NUMBER)


# --- masking ------------------------------------------------------------------------------

def _stars(count: int) -> str:
    return "*" * max(count, 0)


# Fast path for the common case, a stored E.164 Chinese mobile: skip `phonenumbers.parse`
# (~100 us) and ask the library's own type check of the national number directly, so the
# answer is the one the full path gives (anything not classified MOBILE takes the full path).
_CN_MOBILE_E164 = re.compile(r"\+86(1[3-9]\d{9})")
_number_type_helper = getattr(phonenumbers.phonenumberutil, "_number_type_helper", None)
_CN_METADATA = phonenumbers.PhoneMetadata.metadata_for_region("CN")


def _fast_cn_mobile(text: str) -> str | None:
    match = _CN_MOBILE_E164.fullmatch(text)
    if match is None or _number_type_helper is None or _CN_METADATA is None:
        return None
    national = match.group(1)
    if _number_type_helper(national, _CN_METADATA) != phonenumbers.PhoneNumberType.MOBILE:
        return None
    return national[:3] + "****" + national[-4:]


def mask_phone(value: str | None) -> str:
    """`138****8000` for a mobile, `010****6666` for a landline (area code and last four),
    `+44 ******0000` abroad; anything else keeps at most its last four digits."""
    if not value:
        return ""
    text = str(value).partition(";ext=")[0]
    fast = _fast_cn_mobile(text)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        national = str(number.national_number)
        if number.country_code == 86:
            number_type = phonenumbers.number_type(number)
            if number_type == phonenumbers.PhoneNumberType.MOBILE:
                return national[:3] + _stars(len(national) - 7) + national[-4:]
            area_length = phonenumbers.length_of_geographical_area_code(number)
            area = "0" + national[:area_length] if area_length else ""
            rest = national[area_length:]
            return area + _stars(len(rest) - 4) + rest[-4:]
        return f"+{number.country_code} " + _stars(len(national) - 4) + national[-4:]
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 7:
        return _stars(len(digits) - 4) + digits[-4:]
    return _stars(len(digits) or len(text))


def mask_id_number(value: str | None) -> str:
    """First and last character kept, a star for each one between: `1****************4`."""
    if not value:
        return ""
    text = str(value)
    if len(text) <= 2:
        return _stars(len(text))
    return text[0] + _stars(len(text) - 2) + text[-1]


def mask_value(value: str | None, kind: str) -> str:
    if kind == PHONE:
        return mask_phone(value)
    if kind == ID_NUMBER:
        return mask_id_number(value)
    raise ValueError(f"unknown sensitive kind {kind!r}")


def display_value(value: str | None, kind: str) -> str:
    """An unmasked value as people read it (phones in national form)."""
    if not value:
        return ""
    if kind == PHONE:
        from anju.core.normalise.phone import format_phone

        return format_phone(value)
    return str(value)


# --- logs ---------------------------------------------------------------------------------

_LOG_MOBILE = re.compile(r"(?<![\dA-Za-z])((?:\+|00)?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})"
                         r"(?![\dA-Za-z])")
_LOG_ID = re.compile(r"(?<![\dA-Za-z])(\d)\d{16}([\dXx])(?![\dA-Za-z])")


def mask_text(text: str) -> str:
    """Every Chinese mobile number and 18-character ID number in free text, masked."""
    text = _LOG_ID.sub(lambda m: m.group(1) + _stars(16) + m.group(2), text)
    return _LOG_MOBILE.sub(lambda m: (m.group(1) or "") + m.group(2) + "****" + m.group(4), text)


class MaskingLogFilter(logging.Filter):
    """Masks mobiles and ID numbers in a record's message (with its arguments) and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        masked = mask_text(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


# --- registry of revealable fields --------------------------------------------------------

@dataclass(frozen=True)
class SensitiveField:
    model: type[models.Model]
    field_name: str
    kind: str
    queryset: Callable[[Principal], models.QuerySet]

    @property
    def target(self) -> str:
        return self.model._meta.label_lower

    @property
    def verbose_name(self) -> str:
        return str(self.model._meta.get_field(self.field_name).verbose_name)


_registry: dict[tuple[str, str], SensitiveField] = {}


def register_sensitive_field(model: type[models.Model], field_name: str, kind: str = PHONE, *,
                             queryset: Callable[[Principal], models.QuerySet] | None = None
                             ) -> SensitiveField:
    """Declares a revealable field (call it in `AppConfig.ready`). Records are looked up through
    `model.objects.visible_to(user)` unless `queryset(user)` is given."""
    if kind not in KINDS:
        raise ImproperlyConfigured(f"sensitive kind must be one of {KINDS}, not {kind!r}")
    model._meta.get_field(field_name)  # fails early on a typo
    if queryset is None:
        manager = model._default_manager
        if not hasattr(manager, "visible_to"):
            raise ImproperlyConfigured(
                f"{model._meta.label} has no objects.visible_to(user): give queryset= "
                "to register_sensitive_field"
            )

        def queryset(user: Principal, _manager=manager) -> models.QuerySet:
            return _manager.visible_to(user)

    spec = SensitiveField(model=model, field_name=field_name, kind=kind, queryset=queryset)
    _registry[(spec.target, field_name)] = spec
    return spec


def unregister_sensitive_field(model: type[models.Model], field_name: str) -> None:
    _registry.pop((model._meta.label_lower, field_name), None)


def get_sensitive_field(target: str, field_name: str) -> SensitiveField | None:
    return _registry.get((target.lower(), field_name))


def sensitive_fields() -> list[SensitiveField]:
    return list(_registry.values())


# --- services: the log and the reveal ------------------------------------------------------

def client_address(request: Any) -> str | None:
    """The address a request came from (REMOTE_ADDR; a proxy in front must set it)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def sensitive_access_record(*, user: Principal, action: str, target: str, object_id: Any = "",
                            field: str = "", detail: dict | None = None,
                            remote_addr: str | None = None) -> "SensitiveAccess":
    """Writes one SensitiveAccess row (action "unmask" or "export")."""
    from anju.core.models import SensitiveAccess

    return SensitiveAccess.objects.create(
        user_id=user.pk, action=action, target=target[:100],
        object_id="" if object_id is None else str(object_id)[:64], field=field[:64],
        detail=detail or {}, remote_addr=remote_addr,
    )


def may_reveal(user: Principal | None) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and user.may("unmask"))


@transaction.atomic
def sensitive_reveal(*, user: Principal, target: str, object_id: str, field: str,
                     remote_addr: str | None = None) -> tuple[SensitiveField, str]:
    """The plain value of one registered field of one record the user can see, logged.

    Raises Http404 for an unknown field or a record outside the user's scope, and
    PermissionDenied when the user may not unmask."""
    spec = get_sensitive_field(target, field)
    if spec is None:
        raise Http404(_("No such sensitive field."))
    if not may_reveal(user):
        raise PermissionDenied(_("You may not see unmasked phone or ID numbers."))
    try:
        record = spec.queryset(user).only("pk", field).get(pk=object_id)
    except (spec.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        # ValueError/ValidationError: a pk the field cannot take ("abc" for an integer).
        raise Http404(_("No such record.")) from exc
    sensitive_access_record(user=user, action="unmask", target=spec.target,
                            object_id=record.pk, field=field, remote_addr=remote_addr)
    return spec, getattr(record, field) or ""


def __getattr__(name: str) -> Any:
    """`MaskedPhoneField` and `MaskedIdNumberField` (DRF) live in anju.core.api.sensitive_api;
    they are reachable from here without importing DRF when logging is configured."""
    if name in ("MaskedPhoneField", "MaskedIdNumberField", "MaskedSensitiveField"):
        from anju.core.api import sensitive_api

        return getattr(sensitive_api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
