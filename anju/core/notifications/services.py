"""Writes of notifications: creating them (with their outside deliveries) and reading them."""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from anju.core.models import Notification, NotificationDelivery
from anju.core.scoping import Principal

from .channels import CHANNELS, enabled_channels
from .selectors import unread_count_cache_key

logger = logging.getLogger(__name__)

TITLE_MAX = Notification._meta.get_field("title").max_length
URL_MAX = Notification._meta.get_field("url").max_length


def _unique_recipients(recipients: Iterable[Any]) -> list[Any]:
    seen: set[int] = set()
    result = []
    for user in recipients:
        if user is None or user.pk in seen or not getattr(user, "is_active", True):
            continue
        seen.add(user.pk)
        result.append(user)
    return result


@dataclass(frozen=True)
class Message:
    """One notice for `notify_many`: the same title and body for each of its recipients."""

    recipients: Sequence[Any]
    kind: str
    title: str
    body: str = ""
    url: str = ""
    level: str = Notification.Level.INFO


def notify(*, recipients: Iterable[Any], kind: str, title: str, body: str = "",
           url: str = "", level: str = Notification.Level.INFO,
           channels: Iterable[str] | None = None) -> list[Notification]:
    """Puts one notification in each recipient's inbox, in the caller's transaction.

    `channels` names outside channels ("email", "sms", "wecom"); None means those that
    settings turn on (`channels.enabled_channels()`), [] the inbox only. Outside deliveries
    are recorded as pending rows now and sent by `tasks.deliver_notification`, enqueued when
    the transaction commits; inactive and repeated recipients are left out."""
    return notify_many([Message(recipients=list(recipients), kind=kind, title=title,
                                body=body, url=url, level=level)], channels=channels)


def notify_many(messages: Iterable[Message], *, channels: Iterable[str] | None = None
                ) -> list[Notification]:
    """`notify` for many notices at once (a batch of captured leads): one INSERT for all of
    them. The arguments are checked before anything is written; the writes take no savepoint
    (two statements fewer a call), so a database error fails the caller's transaction."""
    channel_names = list(dict.fromkeys(enabled_channels() if channels is None else channels))
    unknown = [name for name in channel_names if name not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown notification channel(s): {', '.join(unknown)}")
    rows = []
    for message in messages:
        if message.level not in Notification.Level.values:
            raise ValueError(f"unknown notification level {message.level!r}")
        title = str(message.title)
        if len(title) > TITLE_MAX:
            title = title[: TITLE_MAX - 1] + "…"
        url = str(message.url or "")
        if len(url) > URL_MAX:
            raise ValueError("notification link is too long")
        rows += [Notification(recipient=user, kind=message.kind, level=message.level,
                              title=title, body=str(message.body or ""), url=url)
                 for user in _unique_recipients(message.recipients)]
    if not rows:
        return []
    with transaction.atomic(savepoint=False):
        _unread_changed(sorted({row.recipient.pk for row in rows}))
        created = Notification.objects.bulk_create(rows)
        if channel_names:
            NotificationDelivery.objects.bulk_create([
                NotificationDelivery(notification_id=n.pk, channel=name)
                for n in created for name in channel_names
            ])
            jobs = [(n.pk, name) for n in created for name in channel_names]
            transaction.on_commit(lambda: _enqueue_deliveries(jobs))
    return created


def _unread_changed(user_ids: list[int]) -> None:
    """Drops the kept inbox badges now and again on commit, so that no request reading
    between the two keeps a count from before the change."""
    keys = [unread_count_cache_key(user_id) for user_id in user_ids]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def _enqueue_deliveries(jobs: list[tuple[int, str]]) -> None:
    from .tasks import deliver_notification

    for notification_id, channel in jobs:
        try:
            deliver_notification.enqueue(notification_id, channel)
        except Exception:  # a queue outage must not break the action that was committed
            logger.exception("could not enqueue delivery %s/%s", notification_id, channel)


@transaction.atomic
def notification_mark_read(*, user: Principal, ids: Iterable[int]) -> int:
    """Marks the user's own notifications among `ids` as read; returns how many changed.
    Ids of other users' notifications are ignored (never touched, never revealed)."""
    wanted = {int(i) for i in ids}
    if not wanted or not getattr(user, "is_authenticated", False):
        return 0
    _unread_changed([user.pk])
    return Notification.objects.filter(recipient_id=user.pk, id__in=wanted,
                                       read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def notification_mark_all_read(*, user: Principal) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    _unread_changed([user.pk])
    return Notification.objects.filter(recipient_id=user.pk,
                                       read_at__isnull=True).update(read_at=timezone.now())


def notification_deliver(*, notification_id: int, channel: str) -> NotificationDelivery | None:
    """Sends one notification through one channel and records the outcome on its delivery row.

    Failures are recorded (state failed, error, attempts), not raised; a delivery already
    sent is not sent again. Deliberately not one transaction: the HTTP call to a gateway must
    not hold a database write lock (on SQLite that would stall every writer)."""
    from .channels import DeliverySkipped, get_channel

    delivery = (NotificationDelivery.objects.select_related("notification__recipient")
                .filter(notification_id=notification_id, channel=channel).first())
    if delivery is None:
        if not Notification.objects.filter(pk=notification_id).exists():
            return None
        delivery, _ = NotificationDelivery.objects.get_or_create(
            notification_id=notification_id, channel=channel)
        delivery = NotificationDelivery.objects.select_related(
            "notification__recipient").get(pk=delivery.pk)
    if delivery.state == NotificationDelivery.State.SENT:
        return delivery
    NotificationDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
    delivery.attempts += 1
    notification = delivery.notification
    try:
        get_channel(channel).send(notification, notification.recipient)
    except DeliverySkipped as exc:
        delivery.state, delivery.error = NotificationDelivery.State.SKIPPED, str(exc)
    except Exception as exc:
        logger.warning("notification %s via %s failed: %s", notification_id, channel, exc)
        delivery.state, delivery.error = NotificationDelivery.State.FAILED, str(exc)[:2000]
    else:
        delivery.state, delivery.error = NotificationDelivery.State.SENT, ""
        delivery.sent_at = timezone.now()
    NotificationDelivery.objects.filter(pk=delivery.pk).update(
        state=delivery.state, error=delivery.error, sent_at=delivery.sent_at)
    return delivery
