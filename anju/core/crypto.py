"""Encryption at rest and keyed lookup hashes for sensitive values (ID numbers).

Keys come from settings and are never stored with the data:
- `FIELD_ENCRYPTION_KEY`: a comma-separated list; the first key encrypts, every key decrypts,
  so a key is rotated by putting the new one first and re-encrypting (`rotate_token`).
  Each entry is a Fernet key (`Fernet.generate_key()`) or any long random string, from which
  a key is derived. Unset: keys are derived from SECRET_KEY and SECRET_KEY_FALLBACKS.
- `LOOKUP_HASH_KEY`: the HMAC-SHA256 key of `lookup_hash`. Unset: derived from SECRET_KEY.
  Changing it changes every hash, so production sets it once and keeps it (a new key means
  recomputing the hash columns from the decrypted values)."""

import base64
import binascii
import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class DecryptionError(ValueError):
    """A stored value no configured key can open (a key was removed, or the data is not ours)."""


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"anju", info=purpose).derive(
        secret.encode()
    )


def _fernet_key(entry: str) -> bytes:
    """A Fernet key as given, or one derived from a passphrase-like secret."""
    try:
        if len(base64.urlsafe_b64decode(entry.encode())) == 32:
            return entry.encode()
    except (binascii.Error, ValueError):
        pass
    return base64.urlsafe_b64encode(_derive(entry, b"anju field encryption"))


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _configured_secrets() -> tuple[str, ...]:
    keys = _split(getattr(settings, "FIELD_ENCRYPTION_KEY", ""))
    if keys:
        return keys
    return (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", []))


@functools.lru_cache(maxsize=8)
def _multifernet(secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(secret)) for secret in secrets])


@functools.lru_cache(maxsize=8)
def _hash_key(configured: str, secret_key: str) -> bytes:
    if configured:
        return configured.encode()
    return _derive(secret_key, b"anju lookup hash")


def encrypt(text: str) -> str:
    """Ciphertext (a Fernet token, ASCII) of `text` under the first configured key."""
    return _multifernet(_configured_secrets()).encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of a token made by `encrypt`, under any configured key."""
    try:
        return _multifernet(_configured_secrets()).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError("no configured FIELD_ENCRYPTION_KEY opens this value") from exc


def rotate_token(token: str) -> str:
    """The same plaintext re-encrypted under the first (newest) key."""
    try:
        return _multifernet(_configured_secrets()).rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise DecryptionError("no configured FIELD_ENCRYPTION_KEY opens this value") from exc


def lookup_hash(value: str) -> str:
    """A keyed, stable hash (64 hex characters) to find a record by an encrypted value.

    Hash the *normalised* value (`normalise_id_number`), so every way of typing it matches."""
    configured = _split(getattr(settings, "LOOKUP_HASH_KEY", ""))
    key = _hash_key(configured[0] if configured else "", settings.SECRET_KEY)
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
