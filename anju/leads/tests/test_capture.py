import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from anju.core.models import Notification
from anju.customers.models import Customer, Interaction
from anju.leads import grading, services
from anju.leads.models import (
    AssignmentRule,
    GradingRule,
    Lead,
    LeadEvent,
    LeadPolicy,
)

pytestmark = pytest.mark.django_db


def capture(org, **kwargs):
    values = {"project": org["a"], "name": "张伟", "phone": "138 0013 8000",
              "method": Lead.Method.FORM}
    values.update(kwargs)
    return services.lead_capture(**values)


def test_capture_normalises_grades_and_assigns_round_robin_skipping_absentees(
        org, staff, channels, roster):
    services.roster_mark_absent(actor=staff["manager"], roster=roster, consultant=staff["c2"])
    owners = []
    for index in range(4):
        result = capture(org, phone=f"1380013800{index}", channel=channels["douyin"])
        owners.append(result.lead.assigned_to)
        assert result.lead.phone == f"+861380013800{index}"
        assert result.lead.status == Lead.Status.ASSIGNED
    assert owners == [staff["c1"], staff["c3"], staff["c1"], staff["c3"]]
    inbox = Notification.objects.filter(recipient=staff["c1"], kind="lead.assigned")
    assert inbox.count() == 2 and "138****800" in inbox.first().body


def test_grade_is_explained_and_b_for_budget_and_a_visit(org, staff, roster):
    lead = capture(org, budget_wan="300", method=Lead.Method.QR).lead
    assert lead.grade == "B"
    assert lead.grade_reason.startswith("B: ")
    assert lead.grade_reason == "B: 预算符合，未定购房时间，到访 1 次，未选户型"
    assert lead.status == Lead.Status.VISITED and lead.visits == 1
    full = capture(org, phone="13900139000", budget_wan=500, timing="1m",
                   unit_type="三房").lead
    assert full.grade == "A"
    bare = capture(org, phone="13900139001").lead
    assert bare.grade == "C"


def test_grading_explanation_in_english():
    from django.utils import translation

    rules = [GradingRule(field="budget_wan", op="gte", value="200", points=40),
             GradingRule(field="visits", op="gte", value="1", points=20),
             GradingRule(field="timing", op="in", value="1m,3m", points=30)]
    facts = grading.GradeFacts(budget_wan=Decimal(250), timing="", visits=1, unit_type="",
                               channel_kind="")
    with translation.override("en"):
        result = grading.grade_for(facts=facts, rules=rules, policy=LeadPolicy())
    assert result.reason == "B: budget matches, visited once, no date set"


def test_disqualifying_rule_makes_d(org, staff, roster):
    GradingRule.objects.create(field="budget_wan", op="lte", value="10", points=0,
                               disqualifies=True, label_met="预算过低")
    lead = capture(org, budget_wan="5").lead
    assert lead.grade == "D" and "预算过低" in lead.grade_reason


def test_known_person_gets_an_interaction_not_a_second_customer(
        org, staff, roster, make_customer):
    customer = make_customer("老客户", phones=["13800138000"], owner=staff["c2"])
    before = Customer.objects.count()
    result = capture(org, name="老客户", method=Lead.Method.QR)
    assert Customer.objects.count() == before
    assert result.known_customer and result.lead.customer == customer
    assert result.lead.assigned_to == staff["c2"]
    assert Interaction.objects.filter(customer=customer, kind="visit").count() == 1
    assert Notification.objects.filter(recipient=staff["c2"]).exists()


def test_known_person_owned_in_another_project_keeps_one_record(org, staff, roster,
                                                                make_customer):
    customer = make_customer("滨江客户", phones=["13800138000"], owner=staff["cb"],
                             project=org["b"])
    result = capture(org, name="滨江客户")
    # the lead goes round project A's roster; the owner (project B) is told
    assert result.lead.customer == customer and result.lead.assigned_to == staff["c1"]
    assert Notification.objects.filter(recipient=staff["cb"],
                                       kind="lead.known_customer").exists()
    interaction = Interaction.objects.get(customer=customer)
    assert org["a"].name in interaction.notes and interaction.user == staff["cb"]
    assert Customer.objects.count() == 1


def test_second_capture_of_an_open_lead_adds_to_it(org, staff, roster):
    first = capture(org).lead
    again = capture(org, budget_wan="400", method=Lead.Method.QR)
    assert again.duplicate and again.lead.pk == first.pk
    assert Lead.objects.count() == 1
    lead = Lead.objects.get()
    assert lead.budget_wan == Decimal("400.0") and lead.visits == 1
    assert lead.events.filter(kind=LeadEvent.Kind.CAPTURED_AGAIN).exists()


@pytest.mark.parametrize("field,value", [
    ("name", "<script>alert(1)</script>"), ("name", "12345"), ("phone", "abc"),
    ("phone", "<b>1</b>"), ("budget_wan", "lots"), ("budget_wan", "-5"),
    ("unit_type", "javascript:alert(1)"), ("notes", "看 https://spam.example"),
    ("timing", "tomorrow"), ("name", "aaaaaaa"),
])
def test_junk_is_refused_with_the_field_named_and_nothing_written(org, staff, roster, field,
                                                                  value):
    with pytest.raises(ValidationError) as raised:
        capture(org, **{field: value})
    assert field in raised.value.message_dict
    assert Lead.objects.count() == 0


def test_nobody_on_duty_leaves_the_lead_new_and_tells_the_managers(org, staff):
    lead = capture(org).lead
    assert lead.status == Lead.Status.NEW and lead.assigned_to is None
    assert Notification.objects.filter(recipient=staff["manager"],
                                       kind="lead.unassigned").exists()


def test_assignment_rule_by_channel_and_grade(org, staff, channels, roster):
    services.assignment_rule_create(actor=staff["manager"], project=org["a"], order=1,
                                    channel=channels["call_in"], consultants=[staff["c3"]])
    services.assignment_rule_create(actor=staff["manager"], project=org["a"], order=2,
                                    grade="A", team=staff["team"])
    assert capture(org, phone="13700000001", channel=channels["call_in"]).lead.assigned_to \
        == staff["c3"]
    a_leads = [capture(org, phone=f"1370000001{i}", budget_wan=500, timing="1m",
                       unit_type="三房").lead for i in range(2)]
    assert {lead.assigned_to for lead in a_leads} == {staff["c1"], staff["c2"]}
    assert AssignmentRule.objects.get(order=2).next_position == 2


def test_referral_needs_and_records_the_referrer(org, staff, channels, roster,
                                                 make_customer):
    with pytest.raises(ValidationError) as raised:
        capture(org, channel=channels["owner_ref"])
    assert "referrer" in raised.value.message_dict
    owner = make_customer("业主甲")
    lead = capture(org, channel=channels["owner_ref"], referrer_customer=owner).lead
    assert lead.referrer_customer == owner
    assert list(owner.referred_leads.all()) == [lead]


def test_lifecycle_first_response_invalid_needs_reason_and_conversion(org, staff, roster):
    received = []

    def on_converted(sender, **kwargs):
        received.append(kwargs)

    from anju.leads.signals import lead_converted

    lead_converted.connect(on_converted)
    try:
        lead = capture(org).lead
        consultant = lead.assigned_to
        services.lead_contact(actor=consultant, lead=lead)
        lead.refresh_from_db()
        assert lead.status == Lead.Status.CONTACTED and lead.first_response_seconds is not None
        with pytest.raises(ValidationError) as raised:
            services.lead_invalidate(actor=consultant, lead=lead, reason="  ")
        assert "reason" in raised.value.message_dict
        with pytest.raises(PermissionDenied):
            services.lead_contact(actor=staff["cb"], lead=lead)
        with pytest.raises(PermissionDenied):
            services.lead_grade_override(actor=consultant, lead=lead, grade="A", reason="x")
        services.lead_grade_override(actor=staff["manager"], lead=lead, grade="A",
                                     reason="全款客户")
        lead.refresh_from_db()
        assert lead.grade_in_force == "A" and lead.grade_override_by == staff["manager"]
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            services.lead_convert(actor=consultant, lead=lead)
        lead.refresh_from_db()
        assert lead.status == Lead.Status.CONVERTED and lead.customer.owner == consultant
        assert lead.customer.primary_phone == "+8613800138000"
        assert received and received[0]["lead"].pk == lead.pk
        assert received[0]["project"] == org["a"] and received[0]["user"] == consultant
        with pytest.raises(ValidationError):
            services.lead_lose(actor=consultant, lead=lead, reason="too late")
    finally:
        lead_converted.disconnect(on_converted)


def test_invalid_lead_is_kept_with_its_reason(org, staff, roster):
    lead = capture(org).lead
    services.lead_invalidate(actor=lead.assigned_to, lead=lead, reason="空号")
    lead.refresh_from_db()
    assert lead.status == "invalid" and lead.invalid_reason == "空号"
    assert lead.events.filter(kind="invalid", detail="空号").exists()


def test_escalation_once_to_managers_and_reassign(org, staff, roster):
    lead = capture(org).lead
    later = timezone.now() + datetime.timedelta(minutes=31)
    assert services.leads_escalate(now=timezone.now()) == 0
    assert services.leads_escalate(now=later) == 1
    assert services.leads_escalate(now=later) == 0
    note = Notification.objects.get(kind="lead.escalated", recipient=staff["manager"])
    assert note.level == "urgent"
    services.lead_reassign(actor=staff["manager"], lead=lead, consultant=staff["c3"],
                           reason="超时")
    lead.refresh_from_db()
    assert lead.assigned_to == staff["c3"] and lead.escalated_at is None
    with pytest.raises(ValidationError) as raised:
        services.lead_reassign(actor=staff["manager"], lead=lead, consultant=staff["cb"])
    assert "consultant" in raised.value.message_dict


def test_contacted_lead_is_not_escalated(org, staff, roster):
    lead = capture(org).lead
    services.lead_contact(actor=lead.assigned_to, lead=lead)
    assert services.leads_escalate(now=timezone.now() + datetime.timedelta(hours=2)) == 0


def test_project_escalation_time_is_configurable(org, staff, roster):
    services.policy_set(actor=staff["manager"], project=org["a"], escalation_minutes=5)
    capture(org)
    assert services.leads_escalate(now=timezone.now() + datetime.timedelta(minutes=6)) == 1


def test_employee_referral_and_the_periodic_tasks(org, staff, channels, roster):
    from anju.leads import tasks
    from anju.leads.models import Channel

    employee = Channel.objects.create(name="员工推荐", code="emp", kind="employee_referral")
    lead = capture(org, channel=employee, referrer_user=staff["marketing"]).lead
    assert lead.referrer_user == staff["marketing"]
    assert tasks.leads_escalate_uncontacted.call() == 0
    assert tasks.registrations_expire_due.call() == 0


def test_a_customer_merge_moves_their_leads_and_referrals(org, staff, roster, channels,
                                                          make_customer):
    from anju.customers.merging import customer_merge

    survivor = make_customer("张伟", owner=staff["c1"])
    merged = make_customer("张伟", phones=["13800138000"], owner=staff["c1"])
    lead = capture(org, name="张伟").lead
    referred = capture(org, name="朋友", phone="13900139000", channel=channels["owner_ref"],
                       referrer_customer=merged).lead
    customer_merge(actor=staff["manager"], survivor=survivor, merged=merged, reason="同一人")
    lead.refresh_from_db()
    referred.refresh_from_db()
    assert lead.customer == survivor and referred.referrer_customer == survivor
