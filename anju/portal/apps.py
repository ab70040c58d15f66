from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "anju.portal"
    label = "portal"
    verbose_name = _("Owner portal")

    def ready(self) -> None:
        # Texts owners when a ticket of theirs waits for them (tickets' signals).
        from . import receivers  # noqa: F401
