from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    name = "anju.aftersales"
    label = "aftersales"
    verbose_name = _("Customer service")
