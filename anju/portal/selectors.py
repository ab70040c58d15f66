"""What an owner may see: only their own units, tickets, surveys and handover bookings.

Every read here starts from the signed-in owner's customer; an id of anything else is a 404
(`owner_*_get`), so neither a URL nor an API id reaches another owner's data."""

import re
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from anju.aftersales.care.services import OWNER_DEAL_STATUSES
from anju.aftersales.models import (
    HandoverBatch,
    HandoverSlot,
    HandoverUnit,
    SurveyInvitation,
)
from anju.core.scoping import Principal
from anju.property.models import Unit

from .models import OwnerAccount


def owner_unit_ids(*, owner: OwnerAccount) -> QuerySet:
    from anju.sales.models import DealBuyer

    return (DealBuyer.objects.filter(customer_id=owner.customer_id,
                                     deal__status__in=OWNER_DEAL_STATUSES)
            .values("deal__unit_id"))


def owner_units(*, owner: OwnerAccount) -> list[Unit]:
    return list(Unit.objects.filter(pk__in=owner_unit_ids(owner=owner))
                .select_related("building__project", "unit_type").order_by("label", "id"))


def owner_unit_get(*, owner: OwnerAccount, unit_id) -> Unit:
    unit = (Unit.objects.filter(pk__in=owner_unit_ids(owner=owner))
            .select_related("building__project").filter(pk=_pk(unit_id)).first())
    if unit is None:
        raise Http404
    return unit


def _pk(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


def owner_tickets(*, owner: OwnerAccount) -> QuerySet:
    from anju.aftersales.tickets.selectors import tickets_for_customer

    return tickets_for_customer(customer_id=owner.customer_id, owner_view=True)


def owner_ticket_get(*, owner: OwnerAccount, ticket_id):
    ticket = owner_tickets(owner=owner).filter(pk=_pk(ticket_id)).first()
    if ticket is None:
        raise Http404
    return ticket


def owner_invitations(*, owner: OwnerAccount) -> QuerySet[SurveyInvitation]:
    return (SurveyInvitation.objects.filter(customer_id=owner.customer_id)
            .select_related("template", "project").order_by("-sent_at", "-id"))


def owner_invitation_get(*, owner: OwnerAccount, invitation_id) -> SurveyInvitation:
    invitation = owner_invitations(owner=owner).filter(pk=_pk(invitation_id)).first()
    if invitation is None:
        raise Http404
    return invitation


def invitation_by_token(*, token: str) -> SurveyInvitation:
    """The survey behind a link: the token (32 random characters) is the key."""
    invitation = (SurveyInvitation.objects.select_related("template", "customer", "project")
                  .filter(token=str(token)[:64]).first())
    if invitation is None:
        raise Http404
    return invitation


def owner_handovers(*, owner: OwnerAccount) -> QuerySet[HandoverUnit]:
    """The owner's units in open handover batches (named as owner, or a buyer of the unit)."""
    return (HandoverUnit.objects
            .filter(Q(customer_id=owner.customer_id) | Q(unit_id__in=owner_unit_ids(owner=owner)),
                    batch__status=HandoverBatch.Status.OPEN)
            .select_related("batch__building", "unit", "slot").order_by("batch__starts_on", "id"))


def owner_handover_get(*, owner: OwnerAccount, handover_id) -> HandoverUnit:
    handover = owner_handovers(owner=owner).filter(pk=_pk(handover_id)).first()
    if handover is None:
        raise Http404
    return handover


def bookable_slots(*, handover: HandoverUnit) -> list[HandoverSlot]:
    return list(HandoverSlot.objects.filter(batch_id=handover.batch_id,
                                            starts_at__gt=timezone.now())
                .order_by("starts_at", "id"))


# --- customer service: the owner accounts of the viewer's projects -----------------------------
def may_manage_owner_accounts(user: Any) -> bool:
    """Customer-service managers and administrators (`is_care_manager`) disable and
    re-enable owner accounts; they see those of the owners of their projects' units."""
    from anju.aftersales.care.views import is_care_manager

    return is_care_manager(user)


def owner_accounts_for(*, user: Principal) -> QuerySet[OwnerAccount]:
    """Accounts of owners (buyers of a contracted or delivered deal) of units in the projects
    the user sees; one subquery, no duplicates."""
    from anju.accounts.models import Project
    from anju.sales.models import DealBuyer

    projects = Project.objects.visible_to(user).values("id")
    owners = DealBuyer.objects.filter(deal__project_id__in=projects,
                                      deal__status__in=OWNER_DEAL_STATUSES).values("customer_id")
    return OwnerAccount.objects.filter(customer_id__in=owners)


ACCOUNTS_PAGE = 50


def owner_accounts_search(*, user: Principal, query: str = "", before_id: int | None = None
                          ) -> list[OwnerAccount]:
    """A page of the accounts in scope, newest first (keyset on id): `query` matches the
    owner's name or the digits of the phone (4 or more). Two queries."""
    accounts = owner_accounts_for(user=user).select_related("customer", "disabled_by")
    text = " ".join(str(query or "").split())[:50]
    if text:
        digits = re.sub(r"\D", "", text)
        condition = Q(customer__name__icontains=text)
        if len(digits) >= 4:
            condition |= Q(phone__contains=digits)
        accounts = accounts.filter(condition)
    if before_id:
        accounts = accounts.filter(pk__lt=before_id)
    return list(accounts.order_by("-id")[:ACCOUNTS_PAGE + 1])
