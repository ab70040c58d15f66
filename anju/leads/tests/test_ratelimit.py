"""The rate limit of the public check-in is one count for every process: in the database
when there is no Redis (the embedded setup), atomic on SQLite and PostgreSQL."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from anju.leads import ratelimit, tasks
from anju.leads.models import RateLimitBucket
from anju.leads.views import CHECKIN_LIMIT_PER_MINUTE


def in_thread(function, *args, **kwargs):
    """Runs `function` in another thread, hence on another database connection."""
    result = {}

    def run():
        try:
            result["value"] = function(*args, **kwargs)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    return result.get("value")


def hits(count, **limit):
    return [ratelimit.allow(**limit) for _hit in range(count)]


def test_the_database_keeps_the_count_without_redis(db):
    assert ratelimit.store() == "database"  # the test settings: local-memory cache
    limit = {"scope": "t", "key": "10.0.0.1", "limit": 3, "window_seconds": 60}
    assert hits(4, **limit) == [True, True, True, False]
    assert ratelimit.allow(**{**limit, "key": "10.0.0.2"})  # another address
    assert ratelimit.allow(**{**limit, "scope": "other"})  # another limit
    row = RateLimitBucket.objects.get(scope="t", key="10.0.0.1")
    assert row.count == 4 and row.expires_at > timezone.now()


def test_a_new_window_starts_a_new_count(db, monkeypatch):
    limit = {"scope": "t", "key": "k", "limit": 1, "window_seconds": 60}
    monkeypatch.setattr(ratelimit.time, "time", lambda: 600.0)
    assert hits(2, **limit) == [True, False]
    monkeypatch.setattr(ratelimit.time, "time", lambda: 660.0)
    assert ratelimit.allow(**limit)


@pytest.mark.django_db(transaction=True)
def test_the_limit_holds_across_connections():
    limit = {"scope": "t", "key": "10.0.0.9", "limit": 4, "window_seconds": 3600}
    assert hits(3, **limit) == [True, True, True]
    # another connection (as another web process would have) sees the same count
    assert in_thread(hits, 2, **limit) == [True, False]
    assert not ratelimit.allow(**limit)


@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_are_counted_once_each():
    limit = {"scope": "race", "key": "10.0.0.7", "limit": 5, "window_seconds": 3600}
    answers = []
    barrier = threading.Barrier(8)

    def one():
        barrier.wait(timeout=30)
        answers.append(ratelimit.allow(**limit))

    threads = []
    for _index in range(8):
        thread = threading.Thread(target=lambda: (one(), connection.close()))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [False] * 3 + [True] * 5
    assert RateLimitBucket.objects.get(scope="race").count == 8


def test_ended_windows_are_purged(db):
    now = timezone.now()
    RateLimitBucket.objects.create(scope="t", key="old", window=1, count=9,
                                   expires_at=now - timedelta(minutes=1))
    RateLimitBucket.objects.create(scope="t", key="new", window=2, count=1,
                                   expires_at=now + timedelta(minutes=1))
    assert tasks.ratelimit_purge.enqueue().return_value == 1
    assert list(RateLimitBucket.objects.values_list("key", flat=True)) == ["new"]


def test_with_redis_configured_the_cache_keeps_the_count(db, settings):
    settings.CACHES = {**settings.CACHES, "default": {
        **settings.CACHES["default"],
        "BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    assert ratelimit.store() == "cache"
    settings.ANJU_RATELIMIT_STORE = "cache"  # (the cache itself stays local memory here)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    limit = {"scope": "t", "key": "k", "limit": 2, "window_seconds": 60}
    assert hits(3, **limit) == [True, True, False]
    assert not RateLimitBucket.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_check_in_over_the_limit_counted_by_another_process_is_refused(org, staff):
    ip = "10.0.0.42"
    # another web process took this address's check-ins of the minute
    in_thread(hits, CHECKIN_LIMIT_PER_MINUTE, scope="checkin-m", key=ip,
              limit=CHECKIN_LIMIT_PER_MINUTE, window_seconds=60)
    response = Client(REMOTE_ADDR=ip).post(
        reverse("leads:checkin", args=[org["a"].code]),
        {"name": "林晓", "phone": "13800138000", "consent": "on"})
    assert response.status_code == 429
    assert "该网络登记次数过多。请联系前台，或几分钟后再试。" in response.content.decode()
    # another address is not held back
    other = Client(REMOTE_ADDR="10.0.0.43").get(reverse("leads:checkin", args=[org["a"].code]))
    assert other.status_code == 200
