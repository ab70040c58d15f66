"""Leads meet sales: a converted lead opens the opportunity, a signed contract pays the agency
that registered the customer first."""

from decimal import Decimal

import pytest
from django.db import transaction

from anju.core.normalise import normalise_phone, phone_last4
from anju.customers.models import CustomerPhone
from anju.leads import services as lead_services
from anju.leads.agency import registration_submit
from anju.leads.models import Agency, AgencyAgent, AgencyCommission, Lead, Registration
from anju.sales.deals import services
from anju.sales.models import Opportunity, OpportunityStage

from .deals_fixtures import *  # noqa: F403
from .deals_fixtures import plan_for

pytestmark = pytest.mark.django_db


def _with_phone(customer, raw):
    e164 = normalise_phone(raw)
    CustomerPhone.objects.create(customer=customer, e164=e164, last4=phone_last4(e164),
                                 is_primary=True)
    customer.primary_phone = e164
    customer.save(update_fields=["primary_phone"])
    return customer


@pytest.fixture
def agent(org, people, make_user):
    agency = Agency.objects.create(company=org["first"], name="北城地产",
                                   contact_consultant=people["consultant"])
    user = make_user("agent1", "channel_agent", projects=[org["a"]])
    AgencyAgent.objects.create(agency=agency, user=user)
    return user


def test_a_contract_within_protection_credits_the_registering_agency(org, people, units,
                                                                     customer, agent):
    registration = registration_submit(actor=agent, project=org["a"], customer_name="张三",
                                       phone="138****8000")
    assert registration.status == Registration.Status.ACCEPTED
    buyer = _with_phone(customer("张三"), "13800138000")
    actor = people["consultant"]
    deal = services.deal_reserve(actor=actor, unit=units["1-101"], customer=buyer,
                                 deposit="50000")
    deal = services.deal_contract(actor=actor, deal=deal, buyers=[(buyer, 100)],
                                  payment_method="instalments", instalments=plan_for(deal))
    commission = AgencyCommission.objects.get()
    assert commission.agency.name == "北城地产"
    assert commission.deal_reference == f"deal:{deal.pk}"
    assert commission.deal_amount == deal.final_price
    assert commission.amount > Decimal("0")
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONVERTED


def test_a_contract_without_a_claim_owes_nobody(people, units, customer, agent):
    buyer = _with_phone(customer("李四"), "13900139000")
    actor = people["consultant"]
    deal = services.deal_reserve(actor=actor, unit=units["1-102"], customer=buyer,
                                 deposit="50000")
    services.deal_contract(actor=actor, deal=deal, buyers=[(buyer, 100)],
                           payment_method="full", instalments=plan_for(deal, method="full"))
    assert not AgencyCommission.objects.exists()


def test_a_converted_lead_opens_the_opportunity_once(org, people, customer,
                                                     django_capture_on_commit_callbacks):
    consultant = people["consultant"]
    known = customer("王五", owner=consultant)
    lead = Lead.objects.create(project=org["a"], method=Lead.Method.FORM, name="王五",
                               phone="+8613700137000", assigned_to=consultant,
                               status=Lead.Status.CONTACTED, customer=known)
    with django_capture_on_commit_callbacks(execute=True):
        lead_services.lead_convert(actor=consultant, lead=lead)
    opportunity = Opportunity.objects.get(customer=known, project=org["a"])
    assert opportunity.stage == OpportunityStage.FIRST_VISIT
    assert opportunity.owner == consultant

    second = Lead.objects.create(project=org["a"], method=Lead.Method.FORM, name="王五",
                                 phone="+8613700137000", assigned_to=consultant,
                                 status=Lead.Status.CONTACTED, customer=known)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        lead_services.lead_convert(actor=consultant, lead=second)
    assert Opportunity.objects.filter(customer=known).count() == 1  # the open one is kept
