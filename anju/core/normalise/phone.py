"""Phone numbers: anything a person types → E.164, with a clear error for what is not a number.

Mainland numbers are read without a country code (`138-0013-8000`, `010-8888 6666`);
full-width digits and stray spaces are fine. An extension (`转 123`, `ext 123`, `x123`,
`#123`, `分机123`) is kept in RFC 3966 form: `+861088886666;ext=123`, so store phones in a
field of at least 32 characters."""

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

DEFAULT_REGION = "CN"
MAX_LENGTH = 32  # E.164 (16) + ";ext=" + a generous extension

_EXTENSION = re.compile(r"\s*(?:;\s*ext=|转|分机|ext\.?|x|#)\s*(\d{1,8})\s*$", re.IGNORECASE)
_ALLOWED = re.compile(r"^[(\s]*\+?[\d\s\-().\u00a0/]+$")
MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


@dataclass(frozen=True)
class ParsedPhone:
    e164: str             # +8613800138000
    extension: str        # "" or digits
    is_mobile: bool
    country_code: int

    @property
    def value(self) -> str:
        """The stored form: E.164, plus `;ext=123` when there is an extension."""
        return f"{self.e164};ext={self.extension}" if self.extension else self.e164


def _clean(raw: str) -> str:
    text = unicodedata.normalize("NFKC", str(raw or ""))
    # Dashes and dots of every kind people paste from documents become plain separators.
    text = re.sub(r"[\u2010-\u2015\u2212\u30fc\uff0d]", "-", text)
    return text.strip()


def parse_phone(raw: str) -> ParsedPhone:
    """Reads a phone number; raises ValidationError (code names the problem) when it is not one."""
    text = _clean(raw)
    if not text:
        raise ValidationError(_("Enter a phone number."), code="required")
    extension = ""
    match = _EXTENSION.search(text)
    if match:
        extension = match.group(1)
        text = text[: match.start()].strip()
    if not _ALLOWED.match(text):
        raise ValidationError(
            _("A phone number may contain only digits, spaces, dashes and a leading +."),
            code="invalid_characters",
        )
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):  # international dialling prefix, as in 0086 …
        text = "+" + digits[2:]
        digits = digits[2:]
    if len(digits) < 7:
        raise ValidationError(_("This phone number is too short."), code="too_short")
    if len(digits) > 15:
        raise ValidationError(_("This phone number is too long."), code="too_long")
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("Enter a valid phone number, e.g. 138 0013 8000 or 010 8888 6666."),
            code="invalid",
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("Enter a valid phone number, e.g. 138 0013 8000 or 010 8888 6666."),
            code="invalid",
        )
    number_type = phonenumbers.number_type(number)
    return ParsedPhone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        extension=extension or (number.extension or ""),
        is_mobile=number_type in MOBILE_TYPES,
        country_code=number.country_code,
    )


def normalise_phone(raw: str) -> str:
    """The stored form of a phone number: E.164 (`+8613800138000`), `;ext=…` if it has one."""
    return parse_phone(raw).value


def _split_stored(value: str) -> tuple[str, str]:
    e164, _sep, ext = (value or "").partition(";ext=")
    return e164, ext


def phone_last4(e164: str) -> str:
    """The last four digits of the number itself (not the extension): what people search by."""
    number, _ext = _split_stored(e164)
    return re.sub(r"\D", "", number)[-4:]


def format_phone(value: str) -> str:
    """A stored phone as people read it: national form at home (138 0013 8000), international
    abroad; a value that does not parse is returned unchanged."""
    if not value:
        return ""
    number_text, ext = _split_stored(value)
    try:
        number = phonenumbers.parse(number_text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return value
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 86
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    text = phonenumbers.format_number(number, fmt)
    return f"{text} ext. {ext}" if ext else text
