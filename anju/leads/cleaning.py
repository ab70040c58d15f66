"""Checks of what people type into a lead (the public QR form included): every problem is a
translated message under the field's name, and text that looks like markup, script or a
link is refused outright rather than stored and escaped later."""

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from anju.core.normalise import parse_phone

from .models import Timing

# Markup, script and links have no place in a lead: a visitor's name, needs or notes.
_SUSPICIOUS = re.compile(
    r"[<>{}]|javascript:|data:|vbscript:|on\w+\s*=|https?://|www\.|&#|\\x[0-9a-f]{2}|"
    r"\b(?:select|union|insert|drop|delete)\b\s+\S+\s+\b(?:from|into|table|select)\b",
    re.IGNORECASE)
# A name: letters of any script, spaces, the middle dot of transliterated names, . ' -
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ ·•.'\-])*$")
# The same character five times or more (aaaaa, 11111) is keyboard mashing.
_REPEATS = re.compile(r"(.)\1{4,}")

MAX_BUDGET_WAN = Decimal("100000")


def _plain(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value if value is not None else ""))
    return " ".join(text.split())


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in text)


def clean_text(errors: dict, field: str, value: Any, *, limit: int, required: bool = False,
               multiline: bool = False) -> str:
    raw = str(value if value is not None else "")
    text = raw.strip() if multiline else _plain(raw)
    if multiline:
        text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n")
    if not text:
        if required:
            errors[field] = _("This field is required.")
        return ""
    if _SUSPICIOUS.search(text) or _has_control(text.replace("\n", "")):
        errors[field] = _("Only plain text is allowed here: no markup, script or links.")
    elif len(text) > limit:
        errors[field] = _("At most %(limit)d characters.") % {"limit": limit}
    elif _REPEATS.search(text.replace(" ", "")):
        errors[field] = _("This does not look like real text.")
    return text


def clean_name(errors: dict, value: Any, *, field: str = "name", limit: int = 50) -> str:
    text = clean_text(errors, field, value, limit=limit, required=True)
    if field in errors or not text:
        if field not in errors:
            errors[field] = _("Enter the name.")
        return text
    if not _NAME.match(text):
        errors[field] = _("A name may contain only letters, spaces and · . ' -")
    return text


def clean_phone(errors: dict, value: Any, *, field: str = "phone",
                mobile_only: bool = False) -> str:
    raw = str(value if value is not None else "")
    if not raw.strip():
        errors[field] = _("Enter a phone number.")
        return ""
    if len(raw) > 40 or _SUSPICIOUS.search(raw):
        errors[field] = _("Enter a valid phone number, e.g. 138 0013 8000 or 010 8888 6666.")
        return ""
    try:
        parsed = parse_phone(raw)
    except ValidationError as error:
        errors[field] = error.messages[0]
        return ""
    if mobile_only and not parsed.is_mobile:
        errors[field] = _("Enter a mobile number, e.g. 138 0013 8000.")
        return ""
    return parsed.value


def clean_budget(errors: dict, value: Any, *, field: str = "budget_wan") -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        errors[field] = _("Enter the budget as a number of 万元, e.g. 300.")
        return None
    if not number.is_finite() or number <= 0 or number > MAX_BUDGET_WAN:
        errors[field] = _("Enter a budget between 1 and 100000 万元.")
        return None
    return number.quantize(Decimal("0.1"))


def clean_timing(errors: dict, value: Any, *, field: str = "timing") -> str:
    text = str(value or "").strip()
    if text and text not in Timing.values:
        errors[field] = _("Select a valid choice.")
        return ""
    return text


def raise_if(errors: dict) -> None:
    if errors:
        raise ValidationError({field: [message] for field, message in errors.items()})
