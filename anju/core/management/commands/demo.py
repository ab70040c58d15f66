from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.core.demo import DEFAULT_SEED, DemoContext, credentials_save, credentials_table, demo_run
from anju.core.management.base import TranslatedCommand


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(TranslatedCommand):
    help = gettext_lazy("Load demo data: every app's demo steps, in order, then print the logins.")

    def add_arguments(self, parser):
        parser.add_argument("--size", type=positive_int, default=1,
                            help=gettext_lazy("how much data: 1 is a small demo (default 1)"))
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                            help=gettext_lazy("random seed, for the same data every time"))
        parser.add_argument("--if-empty", action="store_true",
                            help=gettext_lazy("do nothing if the database already has users"))

    def handle(self, *args, size: int, seed: int, if_empty: bool, **options):
        if if_empty and get_user_model().objects.exists():
            self.stdout.write(_("The database already has users: demo data not loaded."))
            return
        ctx = DemoContext(size=size, seed=seed, stdout=self.stdout)
        try:
            demo_run(ctx=ctx)
        except Exception as error:
            raise CommandError(_("Demo data could not be loaded: %(error)s")
                               % {"error": error}) from error
        self.stdout.write(self.style.SUCCESS(_("Demo data loaded.")))
        if ctx.credentials:
            path = credentials_save(credentials=ctx.credentials)
            self.stdout.write(_("Demo logins (also saved in %(path)s):") % {"path": path})
            self.stdout.write(credentials_table(ctx.credentials))
