"""Production: PostgreSQL, Redis, HTTPS behind a proxy; refuses to start with unsafe defaults."""

from .base import *  # noqa: F403
from .env import env_bool, env_int

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("ANJU_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("ANJU_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("ANJU_HSTS_PRELOAD", False)

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
