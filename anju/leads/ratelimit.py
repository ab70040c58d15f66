"""A fixed-window rate limit shared by every process.

Where the count lives:
- **Redis** (the default cache when `ANJU_REDIS_URL` is set): `cache.add` then `cache.incr`,
  both atomic on the server, so every web process counts into the same key.
- **The database** otherwise (the embedded setup, whose cache is per-process local memory
  and would multiply the limit by the number of processes): one row per scope, key and
  window (`RateLimitBucket`), counted up by a single
  `INSERT … ON CONFLICT (scope, key, window) DO UPDATE SET count = count + 1 RETURNING count`,
  atomic on SQLite (3.35+) and PostgreSQL alike. Past windows are deleted by
  `tasks.ratelimit_purge`.

`ANJU_RATELIMIT_STORE = "cache" | "database"` forces one; by default Redis is used when the
default cache is Redis, else the database."""

import datetime
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from .models import RateLimitBucket


def store() -> str:
    """"cache" (Redis) or "database": where the counts are kept."""
    forced = getattr(settings, "ANJU_RATELIMIT_STORE", "")
    if forced in ("cache", "database"):
        return forced
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    return "cache" if "redis" in backend.lower() else "database"


def allow(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Counts one hit of `key`; False once more than `limit` hits fall in the window.

    Call it outside a transaction, as the views and the portal's sign-in do: inside one, the
    database's count is written (and its row held) with that transaction, and rolled back
    with it."""
    window = int(time.time() // window_seconds)
    key = key[:200]
    if store() == "cache":
        count = _hit_cache(scope, key, window, window_seconds)
    else:
        count = _hit_database(scope, key, window, window_seconds)
    return count <= limit


def _hit_cache(scope: str, key: str, window: int, window_seconds: int) -> int:
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    if cache.add(cache_key, 1, timeout=window_seconds + 1):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds + 1)
        return 1


# SQLite and PostgreSQL quote names alike; the table name is checked by a test.
UPSERT = ('INSERT INTO "leads_ratelimitbucket" ("scope", "key", "window", "count", '
          '"expires_at") VALUES (%s, %s, %s, 1, %s) '
          'ON CONFLICT ("scope", "key", "window") '
          'DO UPDATE SET "count" = "leads_ratelimitbucket"."count" + 1 '
          'RETURNING "count"')


def _hit_database(scope: str, key: str, window: int, window_seconds: int) -> int:
    expires_at = datetime.datetime.fromtimestamp((window + 1) * window_seconds,
                                                 tz=datetime.UTC)
    params = [scope, key, window, connection.ops.adapt_datetimefield_value(expires_at)]
    with connection.cursor() as cursor:
        cursor.execute(UPSERT, params)
        return int(cursor.fetchone()[0])


def purge(*, now: datetime.datetime | None = None) -> int:
    """Deletes the rows of windows that have ended; returns how many."""
    deleted, _kinds = RateLimitBucket.objects.filter(
        expires_at__lt=now or timezone.now()).delete()
    return deleted


def client_ip(request) -> str:
    """REMOTE_ADDR (the proxy in front sets it; X-Forwarded-For is not trusted here)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"
