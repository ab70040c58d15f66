import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.core.demo import credentials_path, credentials_read
from anju.core.management.base import TranslatedCommand
from anju.core.serving import running_server_pid, serve, serve_children


class Command(TranslatedCommand):
    help = gettext_lazy("Run Anju: the web server, the background worker and the scheduler "
                        "together (Ctrl-C stops all of them).")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1",
                            help=gettext_lazy("address to listen on (default 127.0.0.1)"))
        parser.add_argument("--port", type=int, default=8000,
                            help=gettext_lazy("port to listen on (default 8000)"))
        parser.add_argument("--threads", type=int, default=8,
                            help=gettext_lazy("web server threads (default 8)"))
        parser.add_argument("--no-worker", action="store_true",
                            help=gettext_lazy("do not start the background worker"))
        parser.add_argument("--no-scheduler", action="store_true",
                            help=gettext_lazy("do not start the scheduler"))

    def handle(self, *args, host, port, threads, no_worker, no_scheduler, **options):
        other = running_server_pid()
        if other is not None:
            raise CommandError(_("Anju is already running on this data folder (process "
                                 "%(pid)s).") % {"pid": other})
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        if ":" in shown_host:
            shown_host = f"[{shown_host}]"
        self.stdout.write(self.style.SUCCESS(
            _("Anju is starting at http://%(host)s:%(port)s/  (Ctrl-C stops it)")
            % {"host": shown_host, "port": port}))
        credentials = credentials_read()
        if credentials:
            self.stdout.write(_("Demo logins (from %(path)s):") % {"path": credentials_path()})
            self.stdout.write(credentials)
        self.stdout.write(_("Data folder: %(path)s") % {"path": settings.DATA_DIR})
        self.stdout.flush()
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise looks there
        children = serve_children(host=host, port=port, threads=threads,
                                  worker=not no_worker, scheduler=not no_scheduler)
        code = serve(children=children, stdout=self.stdout)
        if code:
            sys.exit(code)
