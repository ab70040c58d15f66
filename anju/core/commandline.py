"""`anju <command>`: the management commands an operator needs, under short names, with help
in the user's language (Chinese when LANGUAGE/LC_ALL/LC_MESSAGES/LANG starts with `zh`).

`anju manage <command> ...` runs any other Django management command. Settings default to
`anju.settings.dev` (set DJANGO_SETTINGS_MODULE to change)."""

import os
import sys

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

DEFAULT_SETTINGS = "anju.settings.dev"
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

# name -> (management command, one-line help); the help strings are translated when shown.
COMMANDS: dict[str, tuple[str, object]] = {
    "serve": ("serve", gettext_lazy(
        "run Anju: web server, background worker and scheduler (Ctrl-C stops all)")),
    "demo": ("demo", gettext_lazy("load demo data and print the demo logins (--size N)")),
    "createsuperuser": ("createsuperuser", gettext_lazy("create an administrator account")),
    "migrate": ("migrate", gettext_lazy("create or upgrade the database tables")),
    "worker": ("worker", gettext_lazy("run only the background task worker")),
    "backup": ("backup", gettext_lazy("back up the database to a file")),
    "restore": ("restore", gettext_lazy("restore the database from a backup file")),
    "manage": ("", gettext_lazy("run any other Django management command")),
}


def language_from_environment(environ: os._Environ | dict | None = None) -> str:
    """'zh-hans' if the first set locale variable (POSIX precedence) starts with zh, else 'en'."""
    environ = os.environ if environ is None else environ
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if value:
            return "zh-hans" if value.lower().startswith("zh") else "en"
    return "en"


def usage() -> str:
    lines = [
        _("Usage: anju <command> [options]"),
        "",
        _("Anju (安居): customer relationship management for real-estate developers."),
        "",
        _("Commands:"),
    ]
    width = max(len(name) for name in COMMANDS)
    lines += [f"  {name.ljust(width)}  {text}" for name, (_cmd, text) in COMMANDS.items()]
    lines += [
        "",
        _("`anju <command> --help` shows the options of one command."),
        _("Settings: %(module)s (set DJANGO_SETTINGS_MODULE to change).")
        % {"module": os.environ.get("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS)},
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS)
    import django
    from django.core.management import execute_from_command_line
    from django.utils import translation

    django.setup()
    translation.activate(language_from_environment())

    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name == "manage":
        if not rest:
            execute_from_command_line(["anju", "help"])
            return 0
        execute_from_command_line(["anju", *rest])
        return 0
    if name not in COMMANDS:
        sys.stderr.write(_("Unknown command: %(name)s") % {"name": name} + "\n\n" + usage())
        return 2
    execute_from_command_line(["anju", COMMANDS[name][0], *rest])
    return 0
