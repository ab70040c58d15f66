from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.core.backup import (
    BackupError,
    database_vendor,
    postgresql_commands,
    restore_sqlite,
    sqlite_database_path,
    validate_sqlite_backup,
)
from anju.core.management.base import TranslatedCommand
from anju.core.serving import running_server_pid


class Command(TranslatedCommand):
    help = gettext_lazy("Replace the database with a backup (SQLite), or print the "
                        "pg_restore command to use (PostgreSQL).")

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help=gettext_lazy("the backup file"))
        parser.add_argument("--yes", action="store_true",
                            help=gettext_lazy("do not ask for confirmation"))

    def handle(self, *args, path: Path, yes: bool, **options):
        if database_vendor() == "postgresql":
            self.stdout.write(_("Anju runs on PostgreSQL: restore it with pg_restore, e.g.:"))
            self.stdout.write("  " + postgresql_commands(path=path)["restore"])
            return
        pid = running_server_pid()
        if pid is not None:
            raise CommandError(_("Anju is running (process %(pid)s): stop it before "
                                 "restoring.") % {"pid": pid})
        try:
            validate_sqlite_backup(path)
        except BackupError as error:
            raise CommandError(str(error)) from error
        if not yes:
            question = _("This replaces ALL data in %(target)s with %(source)s. "
                         "Type 'yes' to continue: ") % {"target": sqlite_database_path(),
                                                         "source": path}
            if input(question).strip().lower() not in ("yes", "y", _("yes")):
                raise CommandError(_("Restore cancelled; nothing was changed."))
        try:
            restore_sqlite(source=path)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(_("Database restored from %(path)s")
                                             % {"path": path}))
