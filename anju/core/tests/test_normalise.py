import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from stdnum.cn import ric

from anju.core.normalise import (
    format_phone,
    id_number_birth_date,
    name_search_keys,
    normalise_id_number,
    normalise_phone,
    parse_phone,
    phone_last4,
)


def with_check(body17: str) -> str:
    """A body of 17 digits completed with its correct check character."""
    return body17 + ric.calc_check_digit(body17 + "0")


# --- phones -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "13800138000",
    "138-0013-8000",
    "+86 138 0013 8000",
    "8613800138000",
    "+8613800138000",
    "0086 138 0013 8000",
    "１３８００１３８０００",          # full-width digits
    "１３８－００１３－８０００",      # full-width dashes too
    "  138 0013   8000 ",          # stray spaces
    "138\u00a00013\u00a08000",     # non-breaking spaces from a web page
    "(+86) 138.0013.8000",
])
def test_every_way_of_typing_a_mobile_gives_the_same_e164(raw):
    assert normalise_phone(raw) == "+8613800138000"


@pytest.mark.parametrize(("raw", "expected"), [
    ("010-8888 6666", "+861088886666"),
    ("(010) 88886666", "+861088886666"),
    ("0755 12345678", "+8675512345678"),
    ("0755-1234-5678", "+8675512345678"),
    ("+86 755 1234 5678", "+8675512345678"),
])
def test_landlines_are_normalised(raw, expected):
    assert normalise_phone(raw) == expected
    assert parse_phone(raw).is_mobile is False


@pytest.mark.parametrize("raw", ["010-8888 6666 转 123", "010-88886666 ext. 123",
                                 "010-88886666 x123", "010 8888 6666#123", "010-88886666分机123"])
def test_landline_extension_is_kept(raw):
    assert normalise_phone(raw) == "+861088886666;ext=123"
    assert phone_last4(normalise_phone(raw)) == "6666"
    assert format_phone(normalise_phone(raw)) == "010 8888 6666 ext. 123"


def test_foreign_number_with_plus_is_kept_in_its_country():
    assert normalise_phone("+1 650 253 0000") == "+16502530000"
    assert format_phone("+16502530000") == "+1 650-253-0000"


@pytest.mark.parametrize(("raw", "code"), [
    ("", "required"),
    ("   ", "required"),
    ("12345", "too_short"),
    ("138001", "too_short"),
    ("abc", "invalid_characters"),
    ("138001380OO", "invalid_characters"),     # letters O for zeros
    ("13800138000abc", "invalid_characters"),
    ("call me", "invalid_characters"),
    ("1380013800", "invalid"),                 # one digit missing
    ("+86 12345678901", "invalid"),
    ("1234567890123456", "too_long"),
    ("<script>", "invalid_characters"),
])
def test_bad_phones_give_a_clear_error(raw, code):
    with pytest.raises(ValidationError) as info:
        normalise_phone(raw)
    assert info.value.code == code
    assert info.value.messages[0]


def test_phone_error_is_in_the_users_language():
    with pytest.raises(ValidationError) as info:
        normalise_phone("12345")
    # The message is lazy: it speaks the language active where it is shown.
    with translation.override("zh-hans"):
        assert info.value.messages == ["电话号码太短。"]
    with translation.override("en"):
        assert info.value.messages == ["This phone number is too short."]


def test_phone_last4_and_display():
    assert phone_last4("+8613800138000") == "8000"
    assert format_phone("+8613800138000") == "138 0013 8000"
    assert format_phone("") == ""


# --- ID numbers -------------------------------------------------------------------------------

def test_valid_id_number_is_normalised_to_upper_case_x():
    assert normalise_id_number("11010519491231002x") == "11010519491231002X"
    assert normalise_id_number(" 110105 19491231 002X ") == "11010519491231002X"
    assert normalise_id_number("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"


def test_id_number_birth_date():
    assert id_number_birth_date("11010519491231002X") == datetime.date(1949, 12, 31)


@pytest.mark.parametrize(("raw", "code"), [
    ("", "required"),
    ("11010519491231002", "invalid_length"),
    ("110105194912310021X", "invalid_length"),
    ("1101051949123100AX", "invalid_format"),
    ("110105194912310021", "invalid_checksum"),      # last digit wrong (X is right)
    (with_check("11010519490230002"), "invalid_birth_date"),   # 30 February
    (with_check("11010519491301002"), "invalid_birth_date"),   # month 13
    (with_check("11010520991231002"), "impossible_birth_date"),  # in the future
    (with_check("11010518500101002"), "impossible_birth_date"),  # before 1900
])
def test_bad_id_numbers_are_refused_with_the_reason(raw, code):
    with pytest.raises(ValidationError) as info:
        normalise_id_number(raw)
    assert info.value.code == code


def test_id_number_error_messages_are_translated():
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as info:
            normalise_id_number(with_check("11010520991231002"))
        assert info.value.messages == ["身份证号中的出生日期不可能。"]
        with pytest.raises(ValidationError) as info:
            normalise_id_number("1101051949")
        assert info.value.messages == ["身份证号应为 18 位，当前为 10 位。"]


# --- names ------------------------------------------------------------------------------------

def test_plain_name_keys():
    keys = name_search_keys("张三")
    assert keys.pinyin_full == ["zhangsan"]
    assert keys.pinyin_spaced == ["zhang san"]
    assert keys.initials == ["zs"]
    assert keys.all() == ["zhangsan", "zhang san", "zs"]


@pytest.mark.parametrize(("name", "readings", "initials"), [
    ("曾伟", {"zengwei", "cengwei"}, {"zw", "cw"}),
    ("单田芳", {"shantianfang", "dantianfang", "chantianfang"}, {"stf", "dtf", "ctf"}),
])
def test_polyphonic_characters_give_every_reading(name, readings, initials):
    keys = name_search_keys(name)
    assert readings <= set(keys.pinyin_full)
    assert initials <= set(keys.initials)


def test_combinations_are_capped():
    keys = name_search_keys("曾单曾单曾单")   # 2*3*2*3*2*3 = 216 readings
    assert len(keys.pinyin_full) == 16
    assert len(keys.initials) <= 16
    assert len(set(keys.pinyin_full)) == 16


def test_names_with_latin_letters_and_separators():
    assert name_search_keys("Anna 李").pinyin_spaced == ["anna li"]
    assert name_search_keys("欧阳·娜娜").initials[0] == "oynn"
    assert name_search_keys("") .all() == []
    assert name_search_keys("   ").all() == []
