"""A person already in the ledger who comes in as a lead: the lead goes to the record's own
consultant when they work the lead's project, the contact is logged on the record (as that
consultant when they may see it), and the consultant is told when someone else got the
lead. One capture (`services.lead_capture`) and a batch of the API's intake
(`intake.py`) both go through here, so the two cannot drift apart."""

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from anju.accounts.models import Project
from anju.core.masking import mask_phone
from anju.core.notifications import Message
from anju.customers.contacts import Contact, contacts_log
from anju.customers.models import Customer, Interaction

from .models import Channel, Lead

INTERACTION_KIND = {
    Lead.Method.QR: Interaction.Kind.VISIT,
    Channel.Kind.WALK_IN: Interaction.Kind.VISIT,
    Channel.Kind.CALL_IN: Interaction.Kind.CALL,
}


@dataclass(frozen=True)
class KnownPerson:
    customer: Customer
    # the record's consultant, active and allowed to see the record: the contact is theirs
    logged_as: int | None
    # that consultant (active) works the lead's project: the lead is theirs
    owner_works_here: bool


def known_people(customers: list[Customer], project_id: int) -> dict[int, KnownPerson]:
    """What each record's consultant may do with a lead of `project_id`: two queries per
    distinct consultant (their records among these, the project), none for the rest.
    `customers` come with their `owner` loaded."""
    people = {customer.pk: KnownPerson(customer, None, False) for customer in customers}
    by_owner: dict[int, list[Customer]] = defaultdict(list)
    for customer in customers:
        if customer.owner_id and customer.owner.is_active:
            by_owner[customer.owner_id].append(customer)
    for records in by_owner.values():
        owner = records[0].owner
        visible = set(Customer.objects.visible_to(owner).filter(
            pk__in=[record.pk for record in records]).values_list("pk", flat=True))
        works_here = Project.objects.visible_to(owner).filter(pk=project_id).exists()
        for record in records:
            people[record.pk] = KnownPerson(record, owner.pk if record.pk in visible else None,
                                            works_here)
    return people


def known_contact(lead: Lead, channel: Channel | None, person: KnownPerson) -> Contact:
    """The contact a lead leaves on the known person's record."""
    kind = (INTERACTION_KIND.get(lead.method) or INTERACTION_KIND.get(
        channel.kind if channel else "") or Interaction.Kind.EVENT)
    with translation.override(settings.LANGUAGE_CODE):
        notes = _("Came in again as a lead (%(method)s, %(channel)s).") % {
            "method": lead.get_method_display(),
            "channel": channel.name if channel else _("no channel")}
        # The consultant may work other projects: the interaction names the lead's project
        # only when they may see it (the ledger's rule), the note names it anyway.
        project_hidden = person.logged_as is not None and not person.owner_works_here
        if project_hidden:
            notes += " " + _("Project: %(project)s.") % {"project": lead.project.name}
    return Contact(customer_id=person.customer.pk, kind=kind, notes=notes,
                   user_id=person.logged_as,
                   project_id=None if project_hidden else lead.project_id)


def log_known_contacts(entries: list[tuple[Lead, Channel | None, KnownPerson]]) -> None:
    contacts_log([known_contact(lead, channel, person) for lead, channel, person in entries])


def owner_notice(lead: Lead, customer: Customer, assignee_id: int | None) -> Message | None:
    """The record's consultant hears of the lead when it went to someone else."""
    owner = customer.owner if customer.owner_id else None
    if owner is None or not owner.is_active or owner.pk == assignee_id:
        return None
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Your customer came in as a lead of %(project)s: %(name)s") % {
            "project": lead.project.name, "name": customer.name}
    return Message(recipients=[owner], kind="lead.known_customer", title=str(title),
                   body=mask_phone(lead.phone))
