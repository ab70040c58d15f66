"""One row in, a clean person or the reasons it was rejected.

Reasons name the column as the file names it ("手机号: 此电话号码太短。") and are built with
`gettext`, so the caller activates the language of the job's user (`translation.override`).
Nothing here touches the database."""

import datetime
import functools
import re
import time
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core.crypto import lookup_hash
from anju.core.normalise import normalise_id_number, normalise_phone

from ..models import Customer, Gender
from .mapping import field_label

_CN_MOBILE = re.compile(
    phonenumbers.PhoneMetadata.metadata_for_region("CN").mobile.national_number_pattern)
_PHONE_SEPARATORS = re.compile(r"[\s\-().\u00a0]")
_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                        r"(?:[\sT]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_RANGE_SPLIT = re.compile(r"\s*(?:-|~|～|—|–|至|到)\s*")
_PROJECT_SPLIT = re.compile(r"[,，、;；/|]+")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)

GENDER_WORDS = {
    "男": Gender.MALE, "男性": Gender.MALE, "先生": Gender.MALE, "m": Gender.MALE,
    "male": Gender.MALE, "man": Gender.MALE,
    "女": Gender.FEMALE, "女性": Gender.FEMALE, "女士": Gender.FEMALE, "f": Gender.FEMALE,
    "female": Gender.FEMALE, "woman": Gender.FEMALE,
    "未知": Gender.UNKNOWN, "不详": Gender.UNKNOWN, "unknown": Gender.UNKNOWN,
}
MAX_LENGTHS = {name: Customer._meta.get_field(name).max_length
               for name in ("name", "occupation", "address", "source_channel")}
MONEY_LIMIT = Decimal("99999999")
AREA_LIMIT = Decimal("999999")


@dataclass
class CleanRow:
    name: str
    phones: list[str] = field(default_factory=list)  # E.164, primary first, no repeats
    id_number: str = ""
    id_number_hash: str = ""
    gender: str = ""
    birthday: datetime.date | None = None
    source_channel: str = ""
    occupation: str = ""
    address: str = ""
    notes: str = ""
    projects: list[str] = field(default_factory=list)  # names as written
    budget: tuple[Decimal | None, Decimal | None] = (None, None)
    area: tuple[Decimal | None, Decimal | None] = (None, None)

    @property
    def has_need(self) -> bool:
        return bool(self.budget != (None, None) or self.area != (None, None) or self.notes)


def cell_text(value) -> str:
    """A cell as text: numbers without a trailing .0, dates as ISO, None as ""."""
    if type(value) is str:  # every csv cell: the fast path
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


@functools.lru_cache(maxsize=4096)
def _phone(text: str) -> str:
    # Fast path: a plain mainland mobile (what nearly every row holds) is E.164 by pattern,
    # the same pattern phonenumbers uses; anything else goes through the full parser.
    if text.isascii():
        digits = _PHONE_SEPARATORS.sub("", text)
        if digits.startswith("+86"):
            digits = digits[3:]
        if len(digits) == 11 and digits.isdigit() and _CN_MOBILE.fullmatch(digits):
            return "+86" + digits
    return normalise_phone(text)


class _Invalid(ValueError):
    """A cached parser's "no": the caller words the reason in the job's language."""


@functools.lru_cache(maxsize=16384)
def _date_from_text(text: str) -> datetime.date:
    # Cached: the few thousand birthdays of a file repeat; only successes are cached, so
    # reasons are always worded in the language active at the time.
    text = unicodedata.normalize("NFKC", text).strip()
    match = _DATE_TEXT.match(text) or _DATE_COMPACT.match(text)
    if not match:
        raise ValidationError(_("Write the date as 1990-05-01."), code="format")
    try:
        return datetime.date(*(int(part) for part in match.groups()))
    except ValueError as exc:
        raise ValidationError(_("This date does not exist."), code="impossible") from exc


def _date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 100000:  # an Excel serial day number
            return _EXCEL_EPOCH + datetime.timedelta(days=int(value))
        value = cell_text(value)
    return _date_from_text(str(value))


def _surely_past(day: datetime.date) -> bool:
    """True when `day` is before today in every time zone (before two days ago): the common case
    needs no time-zone arithmetic."""
    return day < datetime.date.fromtimestamp(time.time() - 2 * 86400)


def _birthday(value) -> datetime.date:
    day = _date(value)
    if not _surely_past(day) and day > timezone.localdate():
        raise ValidationError(_("A birthday cannot be in the future."), code="future")
    if day.year < 1900:
        raise ValidationError(_("A birthday before 1900 is impossible."), code="impossible")
    return day


@functools.lru_cache(maxsize=16384)
def _number_range(text: str, *, units: tuple[str, ...], limit: Decimal):
    """(low, high) from "300", "200-300", "300万"…; _Invalid when it is not that. Cached:
    the values of a budget or area column repeat all over a file."""
    compact = unicodedata.normalize("NFKC", text).lower().replace(",", "").replace("，", "")
    for unit in units:
        compact = compact.replace(unit, "")
    parts = [part for part in _RANGE_SPLIT.split(compact.strip()) if part != ""]
    if not 1 <= len(parts) <= 2:
        raise _Invalid(text)
    numbers = []
    for part in parts:
        try:
            number = Decimal(part.strip())
        except InvalidOperation as exc:
            raise _Invalid(text) from exc
        if not number.is_finite() or number < 0 or number > limit:
            raise _Invalid(text)
        numbers.append(number.quantize(Decimal("0.01")))
    low, high = numbers[0], numbers[-1]
    if low > high:
        low, high = high, low
    return low, high


_BUDGET_UNITS = ("万元", "万", "w")
_AREA_UNITS = ("平方米", "平米", "㎡", "m²", "m2", "平")


def _text(value: str, field_name: str) -> str:
    text = " ".join(value.split())
    limit = MAX_LENGTHS[field_name]
    if len(text) > limit:
        raise ValidationError(
            _("At most %(limit)d characters (this has %(count)d).")
            % {"limit": limit, "count": len(text)}, code="too_long")
    return text


class RowValidator:
    """Validates rows of one job: `columns` maps column index -> field, `headers` are the
    file's own header texts (used to name the column in a reason)."""

    def __init__(self, *, columns: dict[str, str], headers: list[str]):
        self.columns = [(int(index), field) for index, field in columns.items() if field]
        self.headers = headers
        # field -> column index (a field mapped twice takes its last column)
        self.index: dict[str, int] = {}
        for index, field_name in self.columns:
            self.index[field_name] = index
        self._has_text = tuple(name for name in ("source_channel", "occupation", "address")
                               if name in self.index)

    def _label(self, index: int, field_name: str) -> str:
        header = self.headers[index] if index < len(self.headers) else ""
        return cell_text(header) or field_label(field_name)

    def validate(self, row: list) -> tuple[CleanRow | None, list[str]]:
        """(clean row, []) or (None, reasons)."""
        reasons: list[str] = []
        clean = CleanRow(name="")
        index_of = self.index
        width = len(row)

        def fail(field_name: str, message: str) -> None:
            index = index_of.get(field_name, -1)
            label = self._label(index, field_name) if index >= 0 else field_label(field_name)
            reasons.append(f"{label}: {message}")

        def value_of(field_name: str):
            index = index_of.get(field_name)
            return row[index] if index is not None and index < width else None

        def text_of(field_name: str) -> str:
            value = value_of(field_name)
            if type(value) is str:
                return value.strip()
            return cell_text(value)

        name = text_of("name")
        if not name:
            fail("name", _("Enter a name."))
        else:
            try:
                clean.name = _text(name, "name")
            except ValidationError as error:
                fail("name", error.messages[0])

        for field_name in ("phone", "phone2"):
            text = text_of(field_name)
            if not text:
                continue
            try:
                phone = _phone(text)
            except ValidationError as error:
                fail(field_name, error.messages[0])
            else:
                if phone not in clean.phones:
                    clean.phones.append(phone)

        id_text = text_of("id_number")
        if id_text:
            try:
                clean.id_number = normalise_id_number(id_text)
            except ValidationError as error:
                fail("id_number", error.messages[0])
            else:
                clean.id_number_hash = lookup_hash(clean.id_number)

        if not reasons and not clean.phones and not clean.id_number:
            fail("phone", _("Enter a phone number or an ID card number: without either, "
                            "the same person could be imported twice."))

        gender_text = text_of("gender")
        if gender_text:
            gender = GENDER_WORDS.get(gender_text.lower())
            if gender is None:
                fail("gender", _("Write 男 or 女."))
            else:
                clean.gender = gender
        elif clean.id_number:
            # the 17th digit is odd for men, even for women
            clean.gender = Gender.MALE if int(clean.id_number[16]) % 2 else Gender.FEMALE

        if "birthday" in index_of and text_of("birthday"):
            try:
                clean.birthday = _birthday(value_of("birthday"))
            except ValidationError as error:
                fail("birthday", error.messages[0])
        elif clean.id_number:
            number = clean.id_number  # valid, so its birth date is a real day
            clean.birthday = datetime.date(int(number[6:10]), int(number[10:12]),
                                           int(number[12:14]))

        for field_name in self._has_text:
            text = text_of(field_name)
            if text:
                try:
                    setattr(clean, field_name, _text(text, field_name))
                except ValidationError as error:
                    fail(field_name, error.messages[0])

        budget = text_of("budget")
        if budget:
            try:
                clean.budget = _number_range(budget, units=_BUDGET_UNITS, limit=MONEY_LIMIT)
            except _Invalid:
                fail("budget", _("Write the budget in 万元 as a number or a range, e.g. 300 or "
                                 "200-300."))
        area = text_of("area")
        if area:
            try:
                clean.area = _number_range(area, units=_AREA_UNITS, limit=AREA_LIMIT)
            except _Invalid:
                fail("area", _("Write the area in m² as a number or a range, e.g. 90 or "
                               "90-120."))

        projects = text_of("projects")
        if projects:
            clean.projects = [part.strip() for part in _PROJECT_SPLIT.split(projects)
                              if part.strip()]
        clean.notes = text_of("notes")
        if reasons:
            return None, reasons
        return clean, []
