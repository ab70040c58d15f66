import logging

from django.core.management import call_command
from django.utils.translation import gettext_lazy

from anju.core.management.base import TranslatedCommand
from anju.core.serving import watch_supervisor


class Command(TranslatedCommand):
    help = gettext_lazy("Run only the scheduler of periodic tasks (django-crontask). Run "
                        "exactly one, unless Redis is configured (then extra ones wait).")

    def handle(self, *args, **options):
        watch_supervisor()
        # The scheduler logs every run of its lock refresher at INFO: keep the console useful.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        call_command("crontask", no_heartbeat=True)
