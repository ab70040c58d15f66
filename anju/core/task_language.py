"""Background tasks speak the installation's language (settings.LANGUAGE_CODE).

Without this, a task runs in whatever language happens to be active: the operator's terminal
locale in a worker started by `anju serve` (the CLI activates it for its own help), or the
visitor's browser language when the immediate backend runs a task inside a request. Owners'
SMS and staff notifications must not change language with either. A task that needs another
language (one person's preference) still chooses it with `translation.override`."""

from asgiref.local import Local
from django.conf import settings
from django.dispatch import receiver
from django.tasks.signals import task_finished, task_started
from django.utils import translation

_previous = Local()


@receiver(task_started, dispatch_uid="anju.core.task_language.started")
def _activate_installation_language(sender, task_result, **kwargs) -> None:
    stack = getattr(_previous, "languages", None)
    if stack is None:
        stack = _previous.languages = []
    stack.append(translation.get_language())
    translation.activate(settings.LANGUAGE_CODE)


@receiver(task_finished, dispatch_uid="anju.core.task_language.finished")
def _restore_language(sender, task_result, **kwargs) -> None:
    stack = getattr(_previous, "languages", None)
    if not stack:
        return
    language = stack.pop()
    if language is None:
        translation.deactivate()
    else:
        translation.activate(language)
