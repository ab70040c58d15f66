from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "anju.web"
    label = "web"
    verbose_name = _("Web shell")

    def ready(self) -> None:
        # Every app's menu entries, dashboard tiles and 360° sections (registrations.py).
        from anju.core.registry import autodiscover

        autodiscover()
