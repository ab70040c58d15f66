"""What a logged contact does to the ledger, for one contact or many at once: the
consultant's earlier open follow-ups of that customer close, `last_contact_at` moves
forward, the tier is recomputed, and each interaction gets its audit entry. A consultant's
own log (`services.interaction_log`, which checks the scope and the fields first) and the
system's (a lead of a known person, one from the app or a whole batch from the API's intake)
both write through `contacts_log`.

No scope check here: the caller has decided whom each contact is logged as (the record's
own consultant when they may see it, else nobody)."""

import datetime
import operator
from dataclasses import dataclass
from functools import reduce

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from anju.core.audit import record_creates

from .models import Customer, Interaction
from .services import customers_tier_recompute


@dataclass(frozen=True)
class Contact:
    customer_id: int
    kind: str
    notes: str
    # the consultant it is logged as; None when nobody may act on the record
    user_id: int | None = None
    # None: the customer's own project (the consultant may not see the lead's)
    project_id: int | None = None
    outcome: str = ""
    next_follow_up_at: datetime.datetime | None = None


@transaction.atomic
def contacts_log(contacts: list[Contact], *, at: datetime.datetime | None = None
                 ) -> list[Interaction]:
    """Logs every contact (in a handful of statements whatever their number) and returns
    the interactions made, in the order given."""
    if not contacts:
        return []
    at = at or timezone.now()
    ids = sorted({contact.customer_id for contact in contacts})
    pairs = {(contact.customer_id, contact.user_id) for contact in contacts if contact.user_id}
    if pairs:
        Interaction.objects.filter(
            reduce(operator.or_, (Q(customer_id=customer, user_id=user)
                                  for customer, user in sorted(pairs))),
            follow_up_done_at__isnull=True, next_follow_up_at__isnull=False,
            occurred_at__lte=at,
        ).update(follow_up_done_at=timezone.now())
    own_projects = {}
    if any(contact.project_id is None for contact in contacts):
        own_projects = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "project_id"))
    interactions = Interaction.objects.bulk_create([
        Interaction(customer_id=contact.customer_id, user_id=contact.user_id,
                    project_id=contact.project_id or own_projects.get(contact.customer_id),
                    kind=contact.kind, occurred_at=at, notes=contact.notes,
                    outcome=contact.outcome, next_follow_up_at=contact.next_follow_up_at)
        for contact in contacts])
    record_creates(interactions)
    Customer.objects.filter(Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=at),
                            pk__in=ids).update(last_contact_at=at)
    customers_tier_recompute(customers=ids)
    return interactions
