from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.core.management.base import TranslatedCommand
from anju.core.serving import watch_supervisor


class Command(TranslatedCommand):
    help = gettext_lazy("Run the background task worker of the configured task backend.")

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true",
                            help=gettext_lazy("run the queued tasks, then stop"))

    def handle(self, *args, burst: bool, **options):
        watch_supervisor()
        backend = settings.TASK_BACKEND
        if backend == "rq":
            call_command("rqworker", "default", job_class="django_tasks_rq.Job", burst=burst)
        elif backend == "db":
            call_command("db_worker", queue_name="*", batch=burst, startup_delay=not burst,
                         reload=False)
        else:
            raise CommandError(_("Tasks run inside the web process with ANJU_TASK_BACKEND="
                                 "%(backend)s: there is no worker to start.")
                               % {"backend": backend})
