from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "anju.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from . import lead_links
        from .deals.audit import deals_audit_register
        from .opportunities.audit import opportunities_audit_register

        deals_audit_register()
        opportunities_audit_register()
        lead_links.connect()
