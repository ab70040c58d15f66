"""Background delivery of notifications through outside channels."""

from django.tasks import task

from .services import notification_deliver


@task
def deliver_notification(notification_id: int, channel: str) -> str | None:
    """Sends one notification through one channel; returns the delivery's final state."""
    delivery = notification_deliver(notification_id=notification_id, channel=channel)
    return delivery.state if delivery else None
