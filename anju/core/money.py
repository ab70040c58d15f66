"""Money: amounts are `Decimal` with two places (fen, 分), rounded half up like the offices'
calculators; shown in yuan with thousands separators or in 万元 (ten thousand yuan), the way
sales offices quote prices; and written out in Chinese capitals (大写) for contracts,
receipts and quotes.

Nothing here touches the database; use `MoneyField` style columns
(`DecimalField(max_digits=14, decimal_places=2)`) and pass the values through `to_fen`."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import cn2an

FEN = Decimal("0.01")
WAN = Decimal("10000")
MAX_DIGITS = 14  # up to 999,999,999,999.99 yuan: the column width used for money
DECIMAL_PLACES = 2


class MoneyError(ValueError):
    """An amount that is not a number (or not a finite one)."""


def to_decimal(value: "Decimal | int | str | float | None") -> Decimal:
    """Any number-like value as a Decimal; floats go through their shortest repr, so 0.1
    stays 0.1 and does not become 0.1000000000000000055…"""
    if value is None or value == "":
        raise MoneyError("empty amount")
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation as error:
        raise MoneyError(f"not an amount: {value!r}") from error
    if not amount.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    return amount


def to_fen(value: "Decimal | int | str | float") -> Decimal:
    """Round to the fen (0.01), half up: 1.005 → 1.01, 2.344 → 2.34."""
    return to_decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def split_evenly(total: "Decimal | int | str", parts: int) -> list[Decimal]:
    """`total` cut into `parts` amounts to the fen that add up exactly; the last part takes
    the remainder (100 / 3 → 33.33, 33.33, 33.34)."""
    if parts < 1:
        raise MoneyError("parts must be at least 1")
    total = to_fen(total)
    share = (total / parts).quantize(FEN, rounding=ROUND_HALF_UP)
    amounts = [share] * (parts - 1)
    amounts.append(total - share * (parts - 1))
    return amounts


def percent_of(total: "Decimal | int | str", percent: "Decimal | int | str") -> Decimal:
    """`percent` % of `total`, to the fen."""
    return to_fen(to_decimal(total) * to_decimal(percent) / Decimal(100))


def format_yuan(value: "Decimal | int | str") -> str:
    """¥1,234,567.89"""
    amount = to_fen(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def to_wan(value: "Decimal | int | str", places: int = 2) -> Decimal:
    """The amount in 万元, rounded half up to `places` (1234567.89 → 123.46)."""
    quantum = Decimal(1).scaleb(-places)
    return (to_decimal(value) / WAN).quantize(quantum, rounding=ROUND_HALF_UP)


def format_wan(value: "Decimal | int | str", places: int = 2) -> str:
    """1234567.89 → "123.46万元"; the unit is the offices' own and not translated."""
    return f"{to_wan(value, places):,}万元"


def amount_in_words(value: "Decimal | int | str") -> str:
    """The amount in Chinese capitals (大写) as written on contracts and receipts, after
    rounding to the fen: 1234567.89 → 壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分, 100 → 壹佰元整,
    1000.01 → 壹仟元零壹分, 0 → 零元整; a negative amount starts with 负."""
    amount = to_fen(value)
    return cn2an.an2cn(f"{amount:.2f}", "rmb")
