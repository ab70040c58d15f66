import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from anju.core.models import Notification
from anju.leads import agency, services
from anju.leads.models import AgencyCommission, Lead, Registration

pytestmark = pytest.mark.django_db
S = Registration.Status


def register(agencies, org, who="n1", phone="13800138000", name="张伟", **kwargs):
    return agency.registration_submit(actor=agencies[who], project=kwargs.pop("project", org["a"]),
                                      customer_name=name, phone=phone, **kwargs)


def test_accepted_with_protection_and_a_lead_for_the_contact_consultant(org, staff, agencies):
    answer = register(agencies, org)
    assert answer.status == S.ACCEPTED and answer.claim_key == "138****8000"
    days = (answer.protected_until - answer.created_at).total_seconds() / 86400
    assert round(days) == 30
    lead = Lead.objects.get(registration=answer)
    assert lead.assigned_to == staff["c3"] and lead.method == Lead.Method.REGISTRATION
    assert Notification.objects.filter(recipient=staff["c3"]).exists()


def test_masked_phone_collides_with_a_full_one_and_the_agent_is_told_only_times(
        org, staff, agencies):
    first = register(agencies, org, who="s1", phone="138****8000")
    assert first.status == S.ACCEPTED and first.phone == ""
    second = register(agencies, org, who="n1", phone="13800138000")
    assert second.status == S.REJECTED and second.reason == Registration.Reason.CLAIMED
    message = agency.rejection_message(second)
    assert agencies["south"].name not in message and "经纪人" not in message
    assert "南方" not in message
    own = register(agencies, org, who="s1", phone="138-0013-8000")
    assert own.reason == Registration.Reason.OWN_CLAIM


def test_existing_customer_of_the_project_is_rejected(org, staff, agencies, make_customer):
    make_customer("老客户", phones=["13900139000"], owner=staff["c1"])
    answer = register(agencies, org, phone="139****9000")
    assert answer.status == S.REJECTED
    assert answer.reason == Registration.Reason.EXISTING_CUSTOMER
    # a customer of another project is free to register for this one
    make_customer("别盘客户", phones=["13900139111"], project=org["b"])
    assert register(agencies, org, phone="13900139111").status == S.ACCEPTED


@pytest.mark.parametrize("phone", ["12345", "138**8000", "<script>", "010 8888 6666"])
def test_bad_phone_names_the_field(org, staff, agencies, phone):
    with pytest.raises(ValidationError) as raised:
        register(agencies, org, phone=phone)
    assert "phone" in raised.value.message_dict
    assert Registration.objects.count() == 0


def test_only_agents_register_and_only_for_their_company(org, staff, agencies):
    with pytest.raises(PermissionDenied):
        register({"x": staff["c1"]}, org, who="x")
    with pytest.raises(ValidationError) as raised:
        register(agencies, org, project=org["c"])
    assert "project" in raised.value.message_dict


def test_visit_confirmation_within_the_window_and_expiry(org, staff, agencies):
    answer = register(agencies, org, phone="138****8001")
    agency.registration_confirm_visit(actor=staff["c3"], registration=answer)
    answer.refresh_from_db()
    assert answer.status == S.VISITED and answer.visit_confirmed_by == staff["c3"]
    late = register(agencies, org, phone="138****8002")
    with pytest.raises(ValidationError):
        agency.registration_confirm_visit(
            actor=staff["c3"], registration=late,
            now=timezone.now() + datetime.timedelta(days=8))
    with pytest.raises(PermissionDenied):
        agency.registration_confirm_visit(actor=agencies["n1"], registration=late)
    soon = register(agencies, org, phone="138****8003")
    assert agency.registrations_expire(now=timezone.now() + datetime.timedelta(days=8)) >= 1
    soon.refresh_from_db()
    assert soon.status == S.EXPIRED
    # the person is free again: another agency may now register them
    assert register(agencies, org, who="s1", phone="138****8003").status == S.ACCEPTED


def test_stale_claim_stops_counting_even_before_the_task_runs(org, staff, agencies):
    old = register(agencies, org, phone="138****8004")
    Registration.objects.filter(pk=old.pk).update(
        visit_deadline=timezone.now() - datetime.timedelta(minutes=1))
    assert register(agencies, org, who="s1", phone="138****8004").status == S.ACCEPTED
    old.refresh_from_db()
    assert old.status == S.EXPIRED


def test_capture_of_a_claimed_person_goes_to_the_agency_contact(org, staff, agencies, roster):
    register(agencies, org, phone="137****1234")
    lead = services.lead_capture(project=org["a"], name="来访", phone="13712341234",
                                 method=Lead.Method.QR).lead
    assert lead.assigned_to == staff["c3"] and lead.registration is not None
    services.lead_visit(actor=staff["c3"], lead=lead)
    assert Registration.objects.get().status == S.VISITED


def test_credit_deal_within_protection_once(org, staff, agencies, make_customer):
    answer = register(agencies, org, phone="13800138000")
    customer = make_customer("张伟", phones=["13800138000"])
    signed = timezone.now() + datetime.timedelta(days=3)
    commission = agency.registration_credit_deal(
        customer_id=customer.pk, project_id=org["a"].pk, deal_reference="HT-001",
        amount=Decimal("3000000"), signed_at=signed)
    assert commission.agency == agencies["north"] and commission.amount == Decimal("30000.00")
    answer.refresh_from_db()
    assert answer.status == S.CONVERTED
    again = services.registration_credit_deal(
        customer_id=customer.pk, project_id=org["a"].pk, deal_reference="HT-001",
        amount=Decimal("3000000"), signed_at=signed)
    assert again.pk == commission.pk and AgencyCommission.objects.count() == 1


def test_no_credit_after_protection_or_for_another_project(org, staff, agencies,
                                                           make_customer):
    register(agencies, org, phone="138****8000")
    customer = make_customer("张伟", phones=["13800138000"])
    assert agency.registration_credit_deal(
        customer_id=customer.pk, project_id=org["a"].pk, deal_reference="HT-2",
        amount=Decimal(100), signed_at=timezone.now() + datetime.timedelta(days=31)) is None
    assert agency.registration_credit_deal(
        customer_id=customer.pk, project_id=org["b"].pk, deal_reference="HT-3",
        amount=Decimal(100), signed_at=timezone.now()) is None


def test_review_mode_holds_the_claim_until_a_manager_answers(org, staff, agencies):
    services.policy_set(actor=staff["manager"], project=org["a"], review_registrations=True)
    answer = register(agencies, org, phone="138****8009")
    assert answer.status == S.PENDING
    assert register(agencies, org, who="s1", phone="138****8009").status == S.REJECTED
    agency.registration_review(actor=staff["manager"], registration=answer, accept=True)
    answer.refresh_from_db()
    assert answer.status == S.ACCEPTED


def test_trail_answers_who_was_first(org, staff, agencies):
    first = register(agencies, org, who="s1", phone="138****8000")
    register(agencies, org, who="n1", phone="13800138000")
    trail = agency.registration_trail(viewer=staff["manager"], project_id=org["a"].pk,
                                      claim_key="138****8000")
    assert trail[0].pk == first.pk
    assert [r.status for r in trail] == [S.ACCEPTED, S.REJECTED]
    assert trail[1].conflict_with_id == first.pk
    with pytest.raises(PermissionDenied):
        agency.registration_trail(viewer=staff["c1"], project_id=org["a"].pk,
                                  claim_key="138****8000")


def test_agent_sees_only_their_own_registrations(org, staff, agencies):
    register(agencies, org, who="n1", phone="138****0001")
    register(agencies, org, who="n2", phone="138****0002")
    register(agencies, org, who="s1", phone="138****0003")
    mine = Registration.objects.visible_to(agencies["n1"])
    assert [r.claim_key for r in mine] == ["138****0001"]
    assert Registration.objects.visible_to(staff["c1"]).count() == 3
    assert Registration.objects.visible_to(staff["cb"]).count() == 0
