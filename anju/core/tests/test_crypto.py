import hashlib

import pytest
from django.db import connection, models
from django.test.utils import isolate_apps

from anju.core.crypto import DecryptionError, decrypt, encrypt, lookup_hash, rotate_token
from anju.core.fields import EncryptedTextField, LookupHashField

ID = "11010519491231002X"


def test_round_trip_and_ciphertext_is_not_the_plaintext():
    token = encrypt(ID)
    assert token != ID
    assert ID not in token
    assert decrypt(token) == ID
    assert encrypt(ID) != token  # randomised: equal values do not show as equal ciphertexts


def test_chinese_text_round_trips():
    assert decrypt(encrypt("北京市朝阳区")) == "北京市朝阳区"


def test_key_rotation(settings):
    settings.FIELD_ENCRYPTION_KEY = "old-key-" + "a" * 40
    old_token = encrypt(ID)
    settings.FIELD_ENCRYPTION_KEY = "new-key-" + "b" * 40 + ", old-key-" + "a" * 40
    assert decrypt(old_token) == ID                       # old data still opens
    new_token = rotate_token(old_token)
    settings.FIELD_ENCRYPTION_KEY = "new-key-" + "b" * 40  # old key retired
    assert decrypt(new_token) == ID
    with pytest.raises(DecryptionError):
        decrypt(old_token)


def test_fernet_key_is_used_as_given(settings):
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = key
    assert Fernet(key.encode()).decrypt(encrypt(ID).encode()).decode() == ID


def test_key_derived_from_secret_key_when_unset(settings):
    settings.FIELD_ENCRYPTION_KEY = ""
    token = encrypt(ID)
    settings.SECRET_KEY = "another-secret-key-" + "c" * 40
    with pytest.raises(DecryptionError):
        decrypt(token)


def test_lookup_hash_is_stable_and_keyed(settings):
    settings.LOOKUP_HASH_KEY = "hash-key-one"
    first = lookup_hash(ID)
    assert first == lookup_hash(ID)
    assert len(first) == 64
    assert first != hashlib.sha256(ID.encode()).hexdigest()  # not a plain, guessable hash
    assert lookup_hash("11010519491231003X") != first
    settings.LOOKUP_HASH_KEY = "hash-key-two"
    assert lookup_hash(ID) != first


def test_lookup_hash_falls_back_to_secret_key(settings):
    settings.LOOKUP_HASH_KEY = ""
    first = lookup_hash(ID)
    settings.SECRET_KEY = "another-secret-key-" + "d" * 40
    assert lookup_hash(ID) != first


def _create_table(model) -> None:
    """Creates a test-only table inside the test's transaction (works on SQLite and PostgreSQL)."""
    editor = connection.SchemaEditorClass(connection, collect_sql=True)
    editor.deferred_sql = []  # normally set by entering the editor, which SQLite refuses here
    editor.create_model(model)
    with connection.cursor() as cursor:
        for statement in [*editor.collected_sql, *map(str, editor.deferred_sql)]:
            cursor.execute(statement)


@pytest.mark.django_db
@isolate_apps("anju.core")
def test_encrypted_field_stores_ciphertext_and_is_found_by_hash(django_assert_num_queries):
    from anju.core.normalise import normalise_id_number

    class Person(models.Model):
        name = models.CharField(max_length=20)
        id_number = EncryptedTextField(blank=True)
        id_number_hash = LookupHashField(source="id_number")

        class Meta:
            app_label = "core"
            db_table = "test_core_encrypted_person"

        def __str__(self):
            return self.name

    _create_table(Person)
    person = Person.objects.create(name="张三", id_number=normalise_id_number("11010519491231002x"))
    Person.objects.create(name="无名", id_number="")

    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, id_number_hash FROM test_core_encrypted_person "
                       "WHERE name = %s", ["张三"])
        stored, stored_hash = cursor.fetchone()
    assert ID not in stored
    assert stored.startswith("gAAAA")
    assert stored_hash == lookup_hash(ID)

    with django_assert_num_queries(1):
        found = Person.objects.get(id_number_hash=lookup_hash(normalise_id_number(ID.lower())))
    assert found.pk == person.pk
    assert found.id_number == ID
    assert Person.objects.get(name="无名").id_number == ""
    assert Person.objects.get(name="无名").id_number_hash == ""

    found.id_number = ""
    found.save()
    assert Person.objects.get(pk=person.pk).id_number_hash == ""

    from django.core.exceptions import FieldError

    with pytest.raises(FieldError):
        Person.objects.filter(id_number=ID)
    with pytest.raises(FieldError):
        Person.objects.filter(id_number__icontains="1101")


def test_lookup_hash_field_deconstructs_for_migrations():
    field = LookupHashField(source="id_number")
    _name, path, args, kwargs = field.deconstruct()
    assert path == "anju.core.fields.LookupHashField"
    assert kwargs == {"source": "id_number"}
    rebuilt = LookupHashField(*args, **kwargs)
    assert rebuilt.max_length == 64 and rebuilt.db_index and not rebuilt.editable
