from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.core.backup import (
    BackupError,
    backup_sqlite,
    database_vendor,
    default_backup_path,
    postgresql_commands,
)
from anju.core.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_lazy("Back up the database to a file (SQLite), or print the pg_dump "
                        "command to use (PostgreSQL).")

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", type=Path,
                            help=gettext_lazy("file to write (default: DATA_DIR/backups/"
                                              "anju-<date>-<time>.sqlite3)"))

    def handle(self, *args, path: Path | None, **options):
        if database_vendor() == "postgresql":
            commands = postgresql_commands(path=path)
            self.stdout.write(_("Anju runs on PostgreSQL: back it up with pg_dump, e.g.:"))
            self.stdout.write("  " + commands["backup"])
            self.stdout.write(_("and restore it with:"))
            self.stdout.write("  " + commands["restore"])
            return
        try:
            written = backup_sqlite(destination=path or default_backup_path())
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(_("Backup written to %(path)s") % {"path": written}))
