"""Where leads meet sales. The leads app sits below sales and may not call it, so sales listens:
a converted lead opens the customer's opportunity in the lead's project; and a signed
contract credits the agency whose protected registration brought the customer
(`deals.services.deal_contract` calls `leads.services.registration_credit_deal`)."""

import logging
from typing import Any

from django.core.exceptions import ValidationError

from anju.leads.signals import lead_converted

from .models import Opportunity
from .opportunities.services import CLOSED_STAGES, opportunity_create

logger = logging.getLogger(__name__)


def open_opportunity_for_converted_lead(sender: Any, *, lead: Any, customer: Any,
                                        project: Any, user: Any, **kwargs: Any
                                        ) -> Opportunity | None:
    """The conversion has committed; an open opportunity of the customer in the project is
    kept as it is, otherwise one is opened at the first visit for the lead's consultant."""
    if project is None or customer is None:
        return None
    if Opportunity.objects.filter(customer=customer, project=project).exclude(
            stage__in=CLOSED_STAGES).exists():
        return None
    try:
        return opportunity_create(actor=user, customer=customer, project=project,
                                  owner=lead.assigned_to or customer.owner or user,
                                  note=f"lead:{lead.pk}")
    except ValidationError as error:
        # The conversion stands; the consultant opens the opportunity by hand. Logged, so the
        # reason is not lost.
        logger.warning("lead %s converted without an opportunity: %s", lead.pk,
                       error.messages)
        return None


def connect() -> None:
    lead_converted.connect(open_opportunity_for_converted_lead,
                           dispatch_uid="sales.open_opportunity_for_converted_lead")
