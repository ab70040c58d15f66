"""The demo framework: every app contributes demo data through one hook.

An app writes `anju/<app>/demo.py` with functions decorated by `@demo_step(order=..., name=...)`;
`manage.py demo` (or `anju demo`) discovers them, runs them in `order` (one transaction per
step), and prints and saves the logins the steps registered with `ctx.add_credential`.
Steps share a `DemoContext`: its `data` dict carries what one step made to the next ones
(conventionally keyed by app, e.g. `ctx.data["accounts"]["projects"]`)."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from faker import Faker

CREDENTIALS_FILE_NAME = "demo-credentials.txt"
DEFAULT_SEED = 20260101

StepFunction = Callable[["DemoContext"], None]


@dataclass(frozen=True)
class Credential:
    role_label: str
    username: str
    password: str


@dataclass
class DemoContext:
    """What every demo step receives. `size` scales the amount of data (1 = a small demo)."""

    size: int = 1
    seed: int = DEFAULT_SEED
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    data: dict = field(default_factory=dict)
    credentials: list[Credential] = field(default_factory=list)
    faker: Faker = field(init=False)
    random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        from faker import Faker

        self.faker = Faker("zh_CN")
        self.faker.seed_instance(self.seed)
        self.random = random.Random(self.seed)

    def add_credential(self, role_label: str, username: str, password: str) -> None:
        """Registers a login to show at the end (role_label: translated text, e.g. _("sales"))."""
        self.credentials.append(Credential(str(role_label), username, password))

    def log(self, message: str) -> None:
        self.stdout.write(f"  {message}\n")


@dataclass(frozen=True)
class DemoStep:
    order: int
    name: str
    function: StepFunction

    @property
    def key(self) -> str:
        return f"{self.function.__module__}.{self.function.__qualname__}"


_registry: dict[str, DemoStep] = {}


def demo_step(*, order: int, name: str) -> Callable[[StepFunction], StepFunction]:
    """Registers `function(ctx: DemoContext) -> None` as a demo step run in `order` (low first).

    Orders used so far: 10 accounts (organisation and users). Leave gaps of 10."""

    def register(function: StepFunction) -> StepFunction:
        step = DemoStep(order=order, name=name, function=function)
        _registry[step.key] = step
        return function

    return register


def discover_steps() -> list[DemoStep]:
    """Imports every installed app's `demo` module and returns the steps in run order."""
    autodiscover_modules("demo")
    return registered_steps()


def registered_steps() -> list[DemoStep]:
    return sorted(_registry.values(), key=lambda step: (step.order, step.name, step.key))


def unregister_step(function: StepFunction) -> None:
    """Removes a step (for tests that register their own)."""
    _registry.pop(f"{function.__module__}.{function.__qualname__}", None)


def demo_run(*, ctx: DemoContext, steps: list[DemoStep] | None = None) -> DemoContext:
    """Runs the steps in order, each in its own transaction; a failing step stops the run
    (its own writes are rolled back, earlier steps stay)."""
    for step in discover_steps() if steps is None else steps:
        ctx.stdout.write(_("Demo step %(order)s: %(name)s\n") % {"order": step.order,
                                                                  "name": step.name})
        # Data is written in the installation's language (tier reasons, labels), whatever
        # language the console speaks.
        with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
            step.function(ctx)
    return ctx


def credentials_path() -> Path:
    return Path(settings.DATA_DIR) / CREDENTIALS_FILE_NAME


def credentials_table(credentials: list[Credential]) -> str:
    headers = (_("role"), _("user name"), _("password"))
    rows = [headers, *((c.role_label, c.username, c.password) for c in credentials)]
    widths = [max(_display_width(row[i]) for row in rows) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell + " " * (widths[i] - _display_width(cell)) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines) + "\n"


def credentials_save(*, credentials: list[Credential], path: Path | None = None) -> Path:
    """Writes the logins table, readable by the owner only (mode 0600)."""
    path = path or credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(credentials_table(credentials))
    os.chmod(path, 0o600)
    return path


def credentials_read(path: Path | None = None) -> str | None:
    path = path or credentials_path()
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _display_width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters are two wide."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
