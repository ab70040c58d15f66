from decimal import Decimal

import pytest

from anju.core.money import (
    MoneyError,
    amount_in_words,
    format_wan,
    format_yuan,
    percent_of,
    split_evenly,
    to_fen,
    to_wan,
)


@pytest.mark.parametrize(("value", "expected"), [
    ("1.005", "1.01"), ("2.344", "2.34"), ("2.345", "2.35"), (0.1, "0.10"), (3, "3.00"),
    ("1,234.5", "1234.50"), ("-1.005", "-1.01"),
])
def test_rounds_half_up_to_the_fen(value, expected):
    assert to_fen(value) == Decimal(expected)
    assert to_fen(value).as_tuple().exponent == -2


@pytest.mark.parametrize("value", ["", None, "abc", "NaN", "Infinity"])
def test_refuses_what_is_not_an_amount(value):
    with pytest.raises(MoneyError):
        to_fen(value)


def test_split_evenly_adds_up_exactly():
    parts = split_evenly("100", 3)
    assert parts == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert sum(parts) == Decimal("100.00")
    assert sum(split_evenly("1234567.89", 7)) == Decimal("1234567.89")


def test_percent_of_rounds_to_the_fen():
    assert percent_of("1234567.89", 30) == Decimal("370370.37")
    assert percent_of("100", "33.333") == Decimal("33.33")


def test_wan_display():
    assert to_wan("1234567.89") == Decimal("123.46")
    assert format_wan("1234567.89") == "123.46万元"
    assert format_wan("25000000") == "2,500.00万元"
    assert format_wan("5000", places=1) == "0.5万元"


def test_yuan_display():
    assert format_yuan("1234567.891") == "¥1,234,567.89"
    assert format_yuan("-5") == "-¥5.00"


@pytest.mark.parametrize(("value", "expected"), [
    ("1234567.89", "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
    ("100", "壹佰元整"),
    (100, "壹佰元整"),
    ("1000.01", "壹仟元零壹分"),
    ("100000.05", "壹拾万元零伍分"),
    ("1010101.01", "壹佰零壹万零壹佰零壹元零壹分"),
    ("3000000", "叁佰万元整"),
    ("0", "零元整"),
    ("0.10", "壹角"),
    ("1.005", "壹元零壹分"),  # rounded to the fen first
])
def test_amount_in_chinese_capitals(value, expected):
    assert amount_in_words(value) == expected
