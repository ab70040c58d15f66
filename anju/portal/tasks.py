"""Background jobs of the owner portal."""

from django.tasks import task

from . import services


@task
def ticket_completed_sms_send(ticket_id: int) -> bool:
    """Texts the owner that their ticket waits for their confirmation (enqueued after the
    completion commits, by `receivers.on_ticket_completed`)."""
    return services.ticket_completed_sms(ticket_id=ticket_id)
