"""What the portal does when the apps below it report news (connected in `apps.ready`)."""

import logging
from typing import Any

from django.dispatch import receiver

from anju.aftersales.tickets.signals import ticket_completed

logger = logging.getLogger(__name__)


@receiver(ticket_completed, dispatch_uid="anju.portal.ticket_completed_sms")
def on_ticket_completed(sender: Any, ticket_id: int, **kwargs: Any) -> None:
    """A ticket waits for its owner's confirmation: if the owner has an active portal
    account, text them in the background (the signal comes after commit, so the task sees
    the completed ticket; the request does not wait for the SMS gateway)."""
    from anju.aftersales.models import Ticket

    from .tasks import ticket_completed_sms_send

    if not Ticket.objects.filter(pk=ticket_id, owner_visible=True,
                                 customer__owner_account__is_active=True).exists():
        return
    try:
        ticket_completed_sms_send.enqueue(ticket_id)
    except Exception:
        logger.exception("could not enqueue the completion SMS of ticket %s", ticket_id)
