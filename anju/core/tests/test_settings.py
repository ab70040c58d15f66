import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection


def test_default_language_is_simplified_chinese_and_time_is_shanghai():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True


@pytest.mark.only_sqlite
@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode():
    # The in-memory test database cannot use WAL; the configuration is what ships.
    assert "journal_mode=WAL" in settings.DATABASES["default"]["OPTIONS"]["init_command"]
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.only_postgresql
@pytest.mark.django_db
def test_postgresql_has_trigram_extension():
    with connection.cursor() as cursor:
        cursor.execute("SELECT show_trgm('人民币')")
        (trigrams,) = cursor.fetchone()
    assert trigrams, "pg_trgm sees no trigrams in Chinese: the database needs a UTF-8 locale"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": "x" * 64, "ANJU_DEBUG": "true"}, "ANJU_DEBUG"),
    ],
)
def test_production_refuses_unsafe_configuration(env, message):
    script = "import django; django.setup()"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"DJANGO_SETTINGS_MODULE": "anju.settings.production", "PATH": "/usr/bin:/bin",
             **env},
        capture_output=True, text=True, check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr
