"""Reads of the inbox. Every query is limited to the user's own notifications."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from anju.core.models import Notification
from anju.core.scoping import Principal

INBOX_PAGE_SIZE = 20


def inbox_for(*, user: Principal, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first; none for an anonymous user."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    queryset = Notification.objects.filter(recipient_id=user.pk)
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset.order_by("-created_at", "-id")


UNREAD_COUNT_SECONDS = 30


def unread_count_cache_key(user_id: int) -> str:
    return f"core:inbox-unread:{user_id}"


def unread_count(*, user: Principal) -> int:
    """The inbox badge. Every page shows it, so it is kept for half a minute; the services
    that change it (notify, mark read) drop the kept value. Inside a transaction the count
    is read fresh and not kept: it may include rows that are rolled back."""
    if not getattr(user, "is_authenticated", False):
        return 0
    if transaction.get_connection().in_atomic_block:
        return inbox_for(user=user, unread_only=True).count()
    key = unread_count_cache_key(user.pk)
    count = cache.get(key)
    if count is None:
        count = inbox_for(user=user, unread_only=True).count()
        cache.set(key, count, UNREAD_COUNT_SECONDS)
    return count


@dataclass(frozen=True)
class InboxPage:
    items: list[Notification]
    next_cursor: str | None


def _encode_cursor(notification: Notification) -> str:
    return f"{int(notification.created_at.timestamp() * 1_000_000)}.{notification.pk}"


def _decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        micros, pk = cursor.split(".", 1)
        moment = datetime.fromtimestamp(int(micros) / 1_000_000, tz=timezone.UTC)
        return moment, int(pk)
    except (ValueError, OverflowError, OSError):
        return None


def inbox_page(*, user: Principal, unread_only: bool = False, cursor: str | None = None,
               limit: int = INBOX_PAGE_SIZE) -> InboxPage:
    """One page of the inbox by keyset (created_at, id): page 100 costs what page 1 costs.

    An unreadable cursor starts from the newest notification."""
    queryset = inbox_for(user=user, unread_only=unread_only)
    position = _decode_cursor(cursor) if cursor else None
    if position:
        moment, pk = position
        queryset = queryset.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=pk))
    rows = list(queryset[: limit + 1])
    has_more = len(rows) > limit
    items = rows[:limit]
    return InboxPage(items=items,
                     next_cursor=_encode_cursor(items[-1]) if has_more and items else None)


def notifications_per_day(*, user: Principal, days: int = 14) -> list[tuple[date, int]]:
    """How many notifications the user received on each of the last `days` local days,
    oldest first, days without any included as 0."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    rows = (
        inbox_for(user=user)
        .filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    counts = {row["day"]: row["n"] for row in rows}
    return [(first + timedelta(days=i), counts.get(first + timedelta(days=i), 0))
            for i in range(days)]
