"""Signals of the tickets part, for the apps above it (the owner portal texts the owner).

`ticket_completed(sender=Ticket, ticket_id=…)`: the work on a ticket was reported done and
the ticket now waits for the owner's confirmation. Sent after the completing transaction
commits (`transaction.on_commit` in `services.ticket_complete`), so a rolled-back completion
tells nobody; receivers must not assume the request is still running (enqueue a task)."""

from django.dispatch import Signal

ticket_completed = Signal()
