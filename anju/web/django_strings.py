"""Django strings its own zh-hans catalogue has not translated yet (Django 6.1). Naming them
here keeps them in anju/web's catalogue, which Django consults before its own."""

from django.utils.translation import gettext_noop

UNTRANSLATED_UPSTREAM = [
    gettext_noop("- Select an option -"),
]
