"""Notifications: the in-app inbox, and copies sent through outside channels.

    from anju.core.notifications import notify

    notify(recipients=[user], kind="lead.assigned", title=_("New lead"), url=lead_url)

`notify` writes the inbox rows in the caller's transaction; outside channels (email, SMS,
WeCom) are delivered by a task enqueued only when that transaction commits, so a rolled-back
action never sends anything. Reads are in `selectors`, writes in `services`."""

from .selectors import inbox_for, unread_count
from .services import (
    Message,
    notification_mark_all_read,
    notification_mark_read,
    notify,
    notify_many,
)

__all__ = [
    "Message",
    "inbox_for",
    "notification_mark_all_read",
    "notification_mark_read",
    "notify",
    "notify_many",
    "unread_count",
]
