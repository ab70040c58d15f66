"""A fixed-window rate limit kept in the cache (shared by every process when the cache is
Redis; per process with the local-memory cache of the embedded setup)."""

import time

from django.core.cache import cache


def allow(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Counts one hit of `key`; False once more than `limit` hits fall in the window."""
    bucket = int(time.time() // window_seconds)
    cache_key = f"ratelimit:{scope}:{key}:{bucket}"
    if cache.add(cache_key, 1, timeout=window_seconds + 1):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds + 1)
        return True
    return count <= limit


def client_ip(request) -> str:
    """REMOTE_ADDR (the proxy in front sets it; X-Forwarded-For is not trusted here)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"
