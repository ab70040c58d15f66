"""Model fields for sensitive values: encrypted at rest, found through a keyed hash.

The pattern for an ID number (later apps copy it)::

    id_number = EncryptedTextField(_("ID card number"), blank=True)
    id_number_hash = LookupHashField(source="id_number")

    # services.py: store the normalised value, the hash follows on save()
    person.id_number = normalise_id_number(raw)
    # selectors.py: find by the hash, never by the ciphertext
    Person.objects.filter(id_number_hash=lookup_hash(normalise_id_number(raw)))

`QuerySet.update()` skips `pre_save`, so it would leave the hash stale: write these fields
through `save()` / `bulk_update()` with both field names, or set the hash yourself."""

from django.core.exceptions import FieldError
from django.db import models
from django.utils.translation import gettext_lazy as _

from anju.core.crypto import decrypt, encrypt, lookup_hash


class EncryptedTextField(models.TextField):
    """Stores a Fernet token; the Python value is the plaintext. Only `isnull` can be queried:
    ciphertexts are randomised, so equality would never match (use the hash column)."""

    description = _("Encrypted text")

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.name} is encrypted and cannot be filtered with '{lookup_name}'; "
                "filter on its lookup hash column instead"
            )
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name):
        raise FieldError(f"{self.name} is encrypted and has no '{lookup_name}' transform")


class LookupHashField(models.CharField):
    """The keyed hash (`anju.core.crypto.lookup_hash`) of another field of the same row,
    recomputed on every save; "" when that field is empty. Indexed, not editable."""

    description = _("Lookup hash")

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, default in (("max_length", 64), ("db_index", True), ("editable", False),
                             ("blank", True), ("default", "")):
            if kwargs.get(key) == default:
                kwargs.pop(key)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        plain = getattr(model_instance, self.source)
        value = lookup_hash(plain) if plain else ""
        setattr(model_instance, self.attname, value)
        return value
