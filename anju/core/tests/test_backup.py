"""Backup and restore: a copy of the live SQLite database comes back exactly.

Messages are checked in Chinese, the default language of Anju's users."""

import sqlite3
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from anju.core.backup import postgresql_commands


def sessions() -> set[str]:
    return set(Session.objects.values_list("session_key", flat=True))


def add_session(key: str) -> None:
    Session.objects.create(session_key=key, session_data="",
                           expire_date=timezone.now() + timezone.timedelta(days=1))


@pytest.fixture
def file_database(settings, tmp_path):
    """The test database lives in memory; back up a real file copy of it instead."""
    path = tmp_path / "live.sqlite3"
    connection.ensure_connection()
    memory = connection.connection
    live = sqlite3.connect(path)
    memory.backup(live)
    live.close()
    original = settings.DATABASES["default"]["NAME"]
    # Park the in-memory connection (closing it would drop the test database).
    connection.connection = None
    connection.settings_dict["NAME"] = str(path)
    settings.DATABASES["default"]["NAME"] = str(path)
    yield path
    connection.close()
    connection.settings_dict["NAME"] = original
    settings.DATABASES["default"]["NAME"] = original
    connection.connection = memory


@pytest.mark.only_sqlite
@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_brings_the_data_back(file_database, tmp_path, settings):
    settings.DATA_DIR = tmp_path
    add_session("before-backup")
    out = StringIO()
    call_command("backup", str(tmp_path / "copy.sqlite3"), stdout=out)
    assert "copy.sqlite3" in out.getvalue()

    add_session("after-backup")
    Session.objects.filter(session_key="before-backup").delete()
    assert sessions() == {"after-backup"}

    call_command("restore", str(tmp_path / "copy.sqlite3"), yes=True, stdout=StringIO())
    assert sessions() == {"before-backup"}


@pytest.mark.only_sqlite
@pytest.mark.django_db(transaction=True)
def test_backup_defaults_to_the_data_folder_and_never_overwrites(file_database, tmp_path,
                                                                 settings):
    settings.DATA_DIR = tmp_path
    call_command("backup", stdout=StringIO())
    [written] = (tmp_path / "backups").glob("anju-*.sqlite3")
    with pytest.raises(CommandError, match="已存在"):
        call_command("backup", str(written), stdout=StringIO())


@pytest.mark.only_sqlite
@pytest.mark.django_db(transaction=True)
def test_restore_asks_first_and_does_nothing_unless_confirmed(file_database, tmp_path,
                                                              settings, monkeypatch):
    settings.DATA_DIR = tmp_path
    call_command("backup", str(tmp_path / "copy.sqlite3"), stdout=StringIO())
    add_session("kept")
    asked = []
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or "no")
    with pytest.raises(CommandError, match="已取消恢复"):
        call_command("restore", str(tmp_path / "copy.sqlite3"), stdout=StringIO())
    assert asked and "copy.sqlite3" in asked[0]
    assert "kept" in sessions()


@pytest.mark.only_sqlite
@pytest.mark.django_db
def test_restore_refuses_a_file_that_is_not_an_anju_database(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    with pytest.raises(CommandError, match="不是 SQLite 数据库"):
        call_command("restore", str(text), yes=True)
    other = tmp_path / "other.sqlite3"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(CommandError, match="不是安居的数据库"):
        call_command("restore", str(other), yes=True)
    with pytest.raises(CommandError, match="无法读取"):
        call_command("restore", str(tmp_path / "missing.sqlite3"), yes=True)


@pytest.mark.only_sqlite
@pytest.mark.django_db
def test_restore_refuses_while_anju_is_running(tmp_path, settings):
    import os

    from anju.core.serving import pid_file

    settings.DATA_DIR = tmp_path
    pid_file().write_text(str(os.getpid()))  # a live process claims the data folder
    with pytest.raises(CommandError, match="请先停止再恢复"):
        call_command("restore", str(tmp_path / "x.sqlite3"), yes=True)


@pytest.mark.only_postgresql
@pytest.mark.django_db
def test_postgresql_backup_prints_the_pg_dump_and_pg_restore_commands():
    out = StringIO()
    call_command("backup", "/tmp/anju.dump", stdout=out)
    text = out.getvalue()
    assert "pg_dump" in text and "--format=custom" in text and "/tmp/anju.dump" in text
    assert "pg_restore" in text
    out = StringIO()
    call_command("restore", "/tmp/anju.dump", stdout=out)
    assert "pg_restore" in out.getvalue()


def test_postgresql_commands_name_the_configured_server(settings):
    settings.DATABASES = {"default": {"NAME": "anju", "HOST": "db.local", "PORT": 5433,
                                      "USER": "anju"}}
    commands = postgresql_commands()
    assert commands["backup"].startswith("pg_dump --host db.local --port 5433 --username anju")
    assert commands["backup"].endswith(" anju")
    assert "--dbname=anju" in commands["restore"]
