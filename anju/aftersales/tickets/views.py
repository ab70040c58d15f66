"""Pages of tickets: thin, calling the selectors and services."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors


@login_required
def ticket_detail(request, pk: int):
    ticket = selectors.ticket_get(viewer=request.user, ticket_id=pk)
    return render(request, "aftersales/tickets/detail.html", {
        "ticket": ticket, "events": selectors.ticket_timeline(ticket=ticket),
        "photos": selectors.ticket_photos(ticket=ticket)})
