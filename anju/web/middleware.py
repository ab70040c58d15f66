"""Language choice: pages are in Simplified Chinese unless the user switched (cookie).

Django's LocaleMiddleware would follow the browser's Accept-Language, so an office PC with an
English Windows would greet consultants in English. Pages ignore that header; the API keeps it,
because machine clients have no cookie and say which language they want in the header."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

API_PREFIX = "/api/"


class AnjuLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if request.path_info.startswith(API_PREFIX):
            return super().process_request(request)
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        try:
            language = translation.get_supported_language_variant(chosen or "")
        except LookupError:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        return None
