from django.utils.translation import gettext_lazy

from anju.core.management.base import TranslatedCommand
from anju.core.serving import watch_supervisor


class Command(TranslatedCommand):
    help = gettext_lazy("Run only the web server (waitress). `serve` runs it with the worker "
                        "and the scheduler.")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, host: str, port: int, threads: int, **options):
        watch_supervisor()
        from waitress import serve

        from anju.wsgi import application

        serve(application, host=host, port=port, threads=threads,
              ident="anju", clear_untrusted_proxy_headers=True)
