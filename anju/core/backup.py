"""Backup and restore of the database.

SQLite: an online copy through SQLite's backup API (`sqlite3.Connection.backup`), consistent
even while Anju runs. PostgreSQL: the pg_dump / pg_restore commands to run are printed, since
the database server's own tools are the right ones there."""

from __future__ import annotations

import shlex
import sqlite3
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message is for the user."""


def database_vendor(alias: str = "default") -> str:
    return connections[alias].vendor


def sqlite_database_path(alias: str = "default") -> Path:
    return Path(settings.DATABASES[alias]["NAME"])


def default_backup_path() -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return Path(settings.DATA_DIR) / "backups" / f"anju-{stamp}.sqlite3"


def backup_sqlite(*, destination: Path, alias: str = "default") -> Path:
    """Copies the live SQLite database to `destination` (a new file)."""
    source_path = sqlite_database_path(alias)
    if not source_path.exists():
        raise BackupError(_("There is no database at %(path)s yet.") % {"path": source_path})
    destination = destination.resolve()
    if destination.exists():
        raise BackupError(_("%(path)s already exists: choose a new file name.")
                          % {"path": destination})
    destination.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(destination)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()
    return destination


def validate_sqlite_backup(path: Path) -> None:
    """Raises BackupError unless `path` is a sound SQLite database of Anju."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise BackupError(_("Cannot read %(path)s: %(error)s")
                          % {"path": path, "error": error.strerror}) from error
    if header != SQLITE_HEADER:
        raise BackupError(_("%(path)s is not an SQLite database.") % {"path": path})
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (verdict,) = db.execute("PRAGMA quick_check").fetchone()
            has_migrations = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='django_migrations'"
            ).fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(_("%(path)s is damaged: %(error)s")
                          % {"path": path, "error": error}) from error
    if verdict != "ok":
        raise BackupError(_("%(path)s is damaged: %(error)s") % {"path": path, "error": verdict})
    if not has_migrations:
        raise BackupError(_("%(path)s is an SQLite database, but not one of Anju.")
                          % {"path": path})


def restore_sqlite(*, source: Path, alias: str = "default") -> None:
    """Replaces the live database's content with the backup at `source`."""
    validate_sqlite_backup(source)
    connections[alias].close()
    target_path = sqlite_database_path(alias)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    target = sqlite3.connect(target_path, timeout=20)
    try:
        backup.backup(target)
    finally:
        target.close()
        backup.close()


def postgresql_commands(*, path: Path | None = None, alias: str = "default") -> dict[str, str]:
    """The pg_dump and pg_restore command lines for the configured PostgreSQL database."""
    db = settings.DATABASES[alias]
    options = []
    if db.get("HOST"):
        options += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        options += ["--port", str(db["PORT"])]
    if db.get("USER"):
        options += ["--username", str(db["USER"])]
    file_name = str(path or Path(settings.DATA_DIR) / "backups" / "anju.dump")
    dump = ["pg_dump", *options, "--format=custom", f"--file={file_name}", str(db["NAME"])]
    restore = ["pg_restore", *options, "--clean", "--if-exists", "--no-owner",
               f"--dbname={db['NAME']}", file_name]
    return {"backup": shlex.join(dump), "restore": shlex.join(restore)}
