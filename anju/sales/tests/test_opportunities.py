"""Opportunities: creation, every stage move (legal and refused), lost reasons, history and
time in stage, win probabilities, scope, reassignment and the customer merge."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from anju.customers.merging import customer_merge
from anju.sales.models.opportunities import (
    FunnelCell,
    Opportunity,
    OpportunityStageChange,
    StageProbability,
)
from anju.sales.opportunities import services
from anju.sales.opportunities.funnel import funnel_rebuild
from anju.sales.opportunities.services import allowed_moves

from .opportunity_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db
S = services.Stage


def _cells() -> dict:
    return {(c.month, c.project_id, c.owner_key, c.stage): (
        c.reached, c.current, c.current_value, c.stays, c.stay_seconds,
        tuple(getattr(c, f"b{i:02d}") for i in range(16)))
        for c in FunnelCell.objects.all()
        if c.reached or c.current or c.stays or c.current_value}


def test_create_writes_history_and_funnel(people, make_customer, org):
    consultant = people["consultant"]
    customer = make_customer(owner=consultant)
    opportunity = services.opportunity_create(
        actor=consultant, customer=customer, project=org["a"], expected_value="1,250,000.555",
        expected_close_date=datetime.date(2027, 3, 1), stage=S.NEEDS_CONFIRMED)
    assert opportunity.owner == consultant
    assert opportunity.expected_value == Decimal("1250000.56")  # to the fen, half up
    change = opportunity.stage_changes.get()
    assert (change.from_stage, change.to_stage, change.changed_by) == ("", S.NEEDS_CONFIRMED,
                                                                      consultant)
    reached = {c.stage: c.reached for c in FunnelCell.objects.all()}
    assert reached == {S.FIRST_VISIT: 1, S.NEEDS_CONFIRMED: 1}


def test_one_open_opportunity_per_customer_and_project(people, make_customer, org):
    consultant = people["consultant"]
    customer = make_customer(owner=consultant)
    services.opportunity_create(actor=consultant, customer=customer, project=org["a"])
    with pytest.raises(ValidationError) as error:
        services.opportunity_create(actor=consultant, customer=customer, project=org["a"])
    assert "project" in error.value.message_dict
    assert Opportunity.objects.count() == 1


@pytest.mark.parametrize(("field", "kwargs"), [
    ("expected_value", {"expected_value": "abc"}),
    ("expected_value", {"expected_value": "-5"}),
    ("expected_close_date", {"expected_close_date": "2027-01-01"}),
    ("stage", {"stage": "won"}),
])
def test_create_refuses_bad_input_naming_the_field(people, make_customer, org, field, kwargs):
    consultant = people["consultant"]
    with pytest.raises(ValidationError) as error:
        services.opportunity_create(actor=consultant, customer=make_customer(owner=consultant),
                                    project=org["a"], **kwargs)
    assert field in error.value.message_dict
    assert not Opportunity.objects.exists()
    assert not OpportunityStageChange.objects.exists()


def test_create_refuses_customers_and_projects_out_of_scope(people, make_customer, org):
    consultant = people["consultant"]
    theirs = make_customer(owner=people["peer"])
    with pytest.raises(ValidationError) as error:
        services.opportunity_create(actor=consultant, customer=theirs, project=org["a"])
    assert "customer" in error.value.message_dict
    mine = make_customer(owner=consultant)
    with pytest.raises(ValidationError) as error:
        services.opportunity_create(actor=consultant, customer=mine, project=org["c"])
    assert "project" in error.value.message_dict


LEGAL = [(a, b) for a in S.values for b in allowed_moves(a)]
ILLEGAL = [(a, b) for a in S.values for b in S.values if b not in allowed_moves(a)]


def _bring_to(opportunity, stage, actor):
    path = {
        S.FIRST_VISIT: [], S.NEEDS_CONFIRMED: [S.NEEDS_CONFIRMED],
        S.UNITS_RECOMMENDED: [S.UNITS_RECOMMENDED], S.NEGOTIATION: [S.NEGOTIATION],
        S.RESERVED: [S.RESERVED], S.CONTRACTED: [S.RESERVED, S.CONTRACTED],
        S.WON: [S.RESERVED, S.CONTRACTED, S.WON], S.LOST: [S.LOST],
    }[stage]
    for step in path:
        opportunity = services.opportunity_move(actor=actor, opportunity=opportunity,
                                                to_stage=step, lost_reason="price")
    return opportunity


@pytest.mark.parametrize(("source", "target"), LEGAL)
def test_every_legal_move(people, make_opportunity, source, target):
    consultant = people["consultant"]
    opportunity = _bring_to(make_opportunity(), source, consultant)
    moved = services.opportunity_move(actor=consultant, opportunity=opportunity,
                                      to_stage=target, lost_reason="competitor")
    assert moved.stage == target
    last = moved.stage_changes.order_by("-id").first()
    assert (last.from_stage, last.to_stage, last.changed_by) == (source, target, consultant)
    assert moved.closed_at is not None if target in (S.WON, S.LOST) else moved.closed_at is None


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_every_illegal_move_is_refused_with_a_reason(people, make_opportunity, source,
                                                     target):
    consultant = people["consultant"]
    opportunity = _bring_to(make_opportunity(), source, consultant)
    history = opportunity.stage_changes.count()
    cells = _cells()
    with pytest.raises(services.IllegalMove) as error:
        services.opportunity_move(actor=consultant, opportunity=opportunity, to_stage=target,
                                  lost_reason="price")
    message = error.value.message_dict["stage"][0]
    assert message and "%(" not in message
    opportunity.refresh_from_db()
    assert opportunity.stage == source
    assert opportunity.stage_changes.count() == history
    assert _cells() == cells


def test_refusals_say_why_in_chinese(people, make_opportunity):
    opportunity = make_opportunity()
    with pytest.raises(services.IllegalMove) as error:
        services.opportunity_move(actor=people["consultant"], opportunity=opportunity,
                                  to_stage=S.CONTRACTED)
    assert "认购" in error.value.message_dict["stage"][0]


def test_lost_needs_a_reason(people, make_opportunity):
    consultant = people["consultant"]
    opportunity = make_opportunity()
    with pytest.raises(ValidationError) as error:
        services.opportunity_move(actor=consultant, opportunity=opportunity, to_stage=S.LOST)
    assert "lost_reason" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.opportunity_move(actor=consultant, opportunity=opportunity, to_stage=S.LOST,
                                  lost_reason="nonsense")
    assert "lost_reason" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.opportunity_move(actor=consultant, opportunity=opportunity, to_stage=S.LOST,
                                  lost_reason="other", lost_note="  ")
    assert "lost_note" in error.value.message_dict
    lost = services.opportunity_move(actor=consultant, opportunity=opportunity,
                                     to_stage=S.LOST, lost_reason="other",
                                     lost_note="客户 移民")
    assert (lost.stage, lost.lost_reason, lost.lost_note) == (S.LOST, "other", "客户 移民")
    reopened = services.opportunity_move(actor=consultant, opportunity=lost,
                                         to_stage=S.NEGOTIATION)
    assert (reopened.lost_reason, reopened.lost_note, reopened.closed_at) == ("", "", None)


def test_reopening_is_refused_while_another_opportunity_is_open(people, make_customer,
                                                                make_opportunity):
    consultant = people["consultant"]
    customer = make_customer(owner=consultant)
    first = make_opportunity(customer=customer)
    services.opportunity_move(actor=consultant, opportunity=first, to_stage=S.LOST,
                              lost_reason="timing")
    make_opportunity(customer=customer)
    with pytest.raises(services.IllegalMove):
        services.opportunity_move(actor=consultant, opportunity=first,
                                  to_stage=S.FIRST_VISIT)
    first.refresh_from_db()
    assert first.stage == S.LOST


def test_time_in_stage_is_recorded(people, make_opportunity):
    consultant = people["consultant"]
    opportunity = make_opportunity()
    later = opportunity.stage_entered_at + datetime.timedelta(days=3, hours=2)
    moved = services.opportunity_move(actor=consultant, opportunity=opportunity,
                                      to_stage=S.NEEDS_CONFIRMED, at=later)
    change = moved.stage_changes.order_by("-id").first()
    assert change.seconds_in_from_stage == 3 * 86400 + 7200
    assert moved.stage_entered_at == later


def test_moves_are_scoped(people, make_opportunity):
    opportunity = make_opportunity(owner=people["peer"])
    with pytest.raises(PermissionDenied):
        services.opportunity_move(actor=people["consultant"], opportunity=opportunity,
                                  to_stage=S.NEEDS_CONFIRMED)
    with pytest.raises(PermissionDenied):
        services.opportunity_move(actor=people["outsider"], opportunity=opportunity,
                                  to_stage=S.NEEDS_CONFIRMED)
    moved = services.opportunity_move(actor=people["manager"], opportunity=opportunity,
                                      to_stage=S.NEEDS_CONFIRMED)
    assert moved.stage == S.NEEDS_CONFIRMED


def test_visible_to(people, make_opportunity):
    mine = make_opportunity(owner=people["consultant"])
    theirs = make_opportunity(owner=people["peer"])
    other_project = make_opportunity(owner=people["consultant_b"], project=people[
        "consultant_b"].projects.get())
    seen = lambda user: set(Opportunity.objects.visible_to(user).values_list("id", flat=True))  # noqa: E731
    assert seen(people["consultant"]) == {mine.pk}
    assert seen(people["manager"]) == {mine.pk, theirs.pk, other_project.pk}
    assert seen(people["outsider"]) == set()
    assert seen(people["admin"]) == {mine.pk, theirs.pk, other_project.pk}


def test_update_and_reassign_move_the_funnel(people, make_opportunity):
    consultant, peer = people["consultant"], people["peer"]
    opportunity = make_opportunity(owner=consultant)
    opportunity = services.opportunity_move(actor=consultant, opportunity=opportunity,
                                            to_stage=S.NEGOTIATION)
    with pytest.raises(services.VersionConflict):
        services.opportunity_update(actor=people["manager"], opportunity=opportunity,
                                    expected_version=opportunity.version - 1,
                                    expected_value="1")
    updated = services.opportunity_update(actor=people["manager"], opportunity=opportunity,
                                          expected_version=opportunity.version, owner=peer,
                                          expected_value="2000000")
    assert updated.owner == peer and updated.expected_value == Decimal("2000000.00")
    owners = {c.owner_key for c in FunnelCell.objects.all() if c.reached or c.current or c.stays}
    assert owners == {peer.pk}
    incremental = _cells()
    funnel_rebuild()
    assert _cells() == incremental


def test_incremental_funnel_matches_a_rebuild(people, make_opportunity):
    consultant = people["consultant"]
    start = timezone.now()
    for index in range(6):
        opportunity = make_opportunity()
        at = start
        for step in [S.NEEDS_CONFIRMED, S.UNITS_RECOMMENDED, S.NEEDS_CONFIRMED, S.NEGOTIATION,
                     S.RESERVED, S.NEGOTIATION, S.RESERVED, S.CONTRACTED, S.WON][: index * 2]:
            at += datetime.timedelta(hours=7 * (index + 1))
            opportunity = services.opportunity_move(actor=consultant, opportunity=opportunity,
                                                    to_stage=step, at=at)
    services.opportunity_move(actor=consultant, opportunity=make_opportunity(),
                              to_stage=S.LOST, lost_reason="price")
    incremental = _cells()
    funnel_rebuild()
    assert _cells() == incremental


def test_win_probabilities_default_global_and_per_company(people, org):
    assert services.win_probabilities(company_id=org["first"].pk)[S.NEGOTIATION] == 55
    with pytest.raises(PermissionDenied):
        services.stage_probability_set(actor=people["manager"], stage=S.NEGOTIATION,
                                       probability=60)
    services.stage_probability_set(actor=people["admin"], stage=S.NEGOTIATION, probability=60)
    services.stage_probability_set(actor=people["admin"], stage=S.NEGOTIATION, probability=70,
                                   company=org["first"])
    assert services.win_probabilities(company_id=org["first"].pk)[S.NEGOTIATION] == 70
    assert services.win_probabilities(company_id=org["second"].pk)[S.NEGOTIATION] == 60
    with pytest.raises(ValidationError) as error:
        services.stage_probability_set(actor=people["admin"], stage=S.WON, probability=101)
    assert "probability" in error.value.message_dict
    assert StageProbability.objects.count() == 2


def test_merge_moves_opportunities_to_the_survivor(people, make_customer, make_opportunity,
                                                   org):
    manager = people["manager"]
    consultant = people["consultant"]
    survivor = make_customer("张三", owner=consultant)
    merged = make_customer("张三", owner=consultant)
    kept = make_opportunity(customer=survivor)
    clash = make_opportunity(customer=merged)
    other = make_opportunity(customer=merged, project=org["b"], owner=manager)
    customer_merge(actor=manager, survivor=survivor, merged=merged, reason="同一人")
    assert set(survivor.opportunities.values_list("id", flat=True)) == {kept.pk, clash.pk,
                                                                       other.pk}
    clash.refresh_from_db()
    kept.refresh_from_db()
    assert clash.stage == S.LOST and clash.lost_reason == "duplicate"
    assert kept.stage == S.FIRST_VISIT
    incremental = _cells()
    funnel_rebuild()
    assert _cells() == incremental


def test_deals_carry_the_opportunity_forward(people, make_customer, make_opportunity, org):
    consultant = people["consultant"]
    customer = make_customer(owner=consultant)
    opportunity = make_opportunity(customer=customer)
    services.opportunity_follow_deal(actor=consultant, customer=customer, project=org["a"],
                                     event="contracted")
    opportunity.refresh_from_db()
    assert opportunity.stage == S.CONTRACTED
    assert list(opportunity.stage_changes.order_by("id").values_list("to_stage", flat=True)) \
        == [S.FIRST_VISIT, S.RESERVED, S.CONTRACTED]
    services.opportunity_follow_deal(actor=consultant, customer=customer, project=org["a"],
                                     event="reserved")  # never back
    opportunity.refresh_from_db()
    assert opportunity.stage == S.CONTRACTED
    services.opportunity_follow_deal(actor=consultant, customer=customer, project=org["a"],
                                     event="cancelled")
    opportunity.refresh_from_db()
    assert opportunity.stage == S.LOST and opportunity.lost_reason == "other"
    # no open opportunity: one is opened for the customer's consultant
    fresh = services.opportunity_follow_deal(actor=people["manager"], customer=customer,
                                             project=org["a"], event="reserved")
    assert fresh.pk != opportunity.pk and fresh.owner == consultant
    assert fresh.stage == S.RESERVED
    services.opportunity_follow_deal(actor=consultant, customer=customer, project=org["a"],
                                     event="cancelled")
    fresh.refresh_from_db()
    assert fresh.stage == S.NEGOTIATION
    incremental = _cells()
    funnel_rebuild()
    assert _cells() == incremental


def test_key_changes_are_audited(people, make_opportunity):
    from auditlog.models import LogEntry

    opportunity = make_opportunity(expected_value="1000000")
    updated = services.opportunity_update(actor=people["manager"], opportunity=opportunity,
                                          expected_version=opportunity.version,
                                          expected_value="1200000")
    entry = LogEntry.objects.get_for_object(updated).order_by("-id").first()
    assert "expected_value" in entry.changes_dict
