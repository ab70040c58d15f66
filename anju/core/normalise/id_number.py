"""居民身份证号 (18-digit resident ID numbers): validated, then upper-case canonical form.

Checked: length, digits, birth date (a real day, not in the future, not before 1900) and the
ISO 7064 check character. The region code is not checked against a table: new districts
appear every year and a stale table would reject real people."""

import datetime
import re
import time
import unicodedata

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

_SHAPE = re.compile(r"^\d{17}[\dX]$")
_PLAIN = re.compile(r"[0-9]{17}[0-9Xx]")  # already compact ASCII: nothing to normalise
_SEPARATORS = re.compile(r"[\s\-]")


def _compact(raw: str) -> str:
    if type(raw) is str and _PLAIN.fullmatch(raw):
        return raw.upper()
    text = unicodedata.normalize("NFKC", str(raw or ""))
    return _SEPARATORS.sub("", text).upper()


def _birth_date(number: str) -> datetime.date | None:
    try:
        return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def normalise_id_number(raw: str) -> str:
    """The canonical form (18 characters, upper-case X), or a ValidationError naming the fault."""
    number = _compact(raw)
    if not number:
        raise ValidationError(_("Enter an ID card number."), code="required")
    if len(number) != 18:
        raise ValidationError(
            _("An ID card number has 18 characters; this one has %(count)d."),
            code="invalid_length", params={"count": len(number)},
        )
    if not _SHAPE.match(number):
        raise ValidationError(
            _("An ID card number is 17 digits followed by a digit or X."),
            code="invalid_format",
        )
    birth = _birth_date(number)
    if birth is None:
        raise ValidationError(_("The birth date in this ID card number does not exist."),
                              code="invalid_birth_date")
    # Two days ago is before today in every time zone: most birth dates need no more.
    recent = birth >= datetime.date.fromtimestamp(time.time() - 2 * 86400)
    if (recent and birth > timezone.localdate()) or birth.year < 1900:
        raise ValidationError(_("The birth date in this ID card number is impossible."),
                              code="impossible_birth_date")
    if number[-1] != ric.calc_check_digit(number):
        raise ValidationError(
            _("This ID card number is not valid: its check character does not match. "
              "Please check for a typing mistake."),
            code="invalid_checksum",
        )
    return number


def id_number_birth_date(number: str) -> datetime.date:
    """The birth date written in a (valid) ID number; raises ValidationError if it is not valid."""
    normalised = normalise_id_number(number)
    birth = _birth_date(normalised)
    assert birth is not None  # normalise_id_number checked it
    return birth


def id_number_is_male(number: str) -> bool:
    """The 17th digit is odd for men and even for women."""
    return int(normalise_id_number(number)[16]) % 2 == 1
