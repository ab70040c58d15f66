"""Production: PostgreSQL, Redis, HTTPS behind a proxy; refuses to start with unsafe defaults."""

from .base import *  # noqa: F403
from .base import build_mailers
from .env import env_bool, env_int

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("ANJU_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("ANJU_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
MAILERS = build_mailers("django.core.mail.backends.smtp.EmailBackend")
SECURE_HSTS_PRELOAD = env_bool("ANJU_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading is a browser-wide promise for a public domain; most offices run Anju on an
    # intranet name that cannot be preloaded, so it is opt-in (ANJU_HSTS_PRELOAD=true).
    SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]  # noqa: F405

from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from .base import INSECURE_DEFAULT_SECRET_KEY, SECRET_KEY  # noqa: E402

if SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "Production needs its own SECRET_KEY of at least 50 random characters "
        "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )
if env_bool("ANJU_DEBUG", False):
    raise ImproperlyConfigured(
        "ANJU_DEBUG must not be set in production: it leaks data in error pages."
    )
