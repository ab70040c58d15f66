"""Normalisation of what people type: phone numbers, ID card numbers, names.

Every app stores these in one canonical form so that search, dedup and masking agree:
phones as E.164 (`+8613800138000`), ID numbers as 18 upper-case characters (encrypted at rest,
found by `lookup_hash`), names with every pinyin reading as search keys."""

from anju.core.crypto import decrypt, encrypt, lookup_hash

from .id_number import id_number_birth_date, normalise_id_number
from .names import NameKeys, name_search_keys
from .phone import ParsedPhone, format_phone, normalise_phone, parse_phone, phone_last4

__all__ = [
    "NameKeys",
    "ParsedPhone",
    "decrypt",
    "encrypt",
    "format_phone",
    "id_number_birth_date",
    "lookup_hash",
    "name_search_keys",
    "normalise_id_number",
    "normalise_phone",
    "parse_phone",
    "phone_last4",
]
