"""Tests: the same stack as production, with a fast hasher and tasks run in-process."""

from .base import *  # noqa: F403

# Argon2 is deliberately slow; tests check it is configured (test_security) and then use MD5.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AXES_ENABLED = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not Django's in-memory test database: the live server of the browser tests
    # answers a page's parallel htmx requests in threads, and an in-memory database makes
    # them share one SQLite connection, which fails under concurrent use ("bad parameter or
    # other API misuse") and drops the session. One file per test process.
    import os
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"anju-test-{os.getpid()}.sqlite3")}
