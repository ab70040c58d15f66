from django.core.management.base import BaseCommand


class TranslatedCommand(BaseCommand):
    """A command whose `help` may be lazily translated (argparse needs a plain string)."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        self.help = str(self.help)
        return super().create_parser(prog_name, subcommand, **kwargs)
