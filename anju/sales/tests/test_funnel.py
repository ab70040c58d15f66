"""The funnel: reached counts, conversion between consecutive stages, average and median time
in stage, by consultant, team, project and period (whole months), scoped to the viewer."""

import datetime

import pytest
from django.utils import timezone

from anju.sales.models.opportunities import FunnelCell
from anju.sales.opportunities import selectors, services
from anju.sales.opportunities.funnel import bucket_field, funnel_rebuild, month_of

from .opportunity_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db
S = services.Stage
DAY = 86400


def _walk(opportunity, actor, steps):
    """Moves through (stage, days spent before the move) pairs."""
    at = opportunity.stage_entered_at
    for stage, days in steps:
        at += datetime.timedelta(days=days)
        opportunity = services.opportunity_move(actor=actor, opportunity=opportunity,
                                                to_stage=stage, at=at, lost_reason="price")
    return opportunity


def _row(result, stage):
    return next(row for row in result.stages if row.stage == stage)


def test_counts_conversion_and_time_in_stage(people, make_opportunity):
    consultant = people["consultant"]
    _walk(make_opportunity(), consultant, [(S.NEEDS_CONFIRMED, 2), (S.NEGOTIATION, 4),
                                           (S.RESERVED, 1), (S.CONTRACTED, 3), (S.WON, 10)])
    _walk(make_opportunity(), consultant, [(S.NEEDS_CONFIRMED, 4), (S.NEGOTIATION, 8)])
    _walk(make_opportunity(), consultant, [(S.NEEDS_CONFIRMED, 6), (S.LOST, 1)])
    make_opportunity()
    result = selectors.funnel(viewer=people["manager"])
    assert [row.reached for row in result.stages] == [4, 3, 2, 2, 1, 1, 1]
    assert _row(result, S.FIRST_VISIT).conversion == 75.0
    assert _row(result, S.NEEDS_CONFIRMED).conversion == pytest.approx(66.7)
    assert _row(result, S.UNITS_RECOMMENDED).conversion == 100.0  # skipped stages count
    assert _row(result, S.WON).conversion is None
    first = _row(result, S.FIRST_VISIT)
    assert first.stays == 3 and first.avg_days == 4.0
    # durations 2, 4, 6 days: buckets 2–3 d, 3–5 d, 5–7 d; the median falls in 3–5 d
    assert 3 <= first.median_days <= 5
    assert _row(result, S.NEEDS_CONFIRMED).avg_days == pytest.approx((4 + 8 + 1) / 3, abs=.05)
    assert (result.opened, result.won, result.lost, result.win_rate) == (4, 1, 1, 25.0)
    assert [row.current for row in result.stages] == [1, 0, 0, 1, 0, 0, 1]


def test_filters_by_consultant_team_project_and_period(people, make_opportunity, org):
    consultant, peer, other = people["consultant"], people["peer"], people["consultant_b"]
    make_opportunity(owner=consultant)
    make_opportunity(owner=peer)
    make_opportunity(owner=other, project=org["b"])
    manager = people["manager"]
    opened = lambda **filters: selectors.funnel(viewer=manager, filters=filters).opened  # noqa: E731
    assert opened() == 3
    assert opened(owner=peer.pk) == 1
    assert opened(team=people["team"].pk) == 2
    assert opened(project=org["b"].pk) == 1
    this_month = month_of(timezone.now())
    assert opened(date_from=this_month.isoformat(), date_to=this_month.isoformat()) == 3
    assert opened(date_from=(this_month + datetime.timedelta(days=40)).isoformat()) == 0
    assert opened(date_to="2001-01") == 0
    # scoped: a consultant sees only their own cells, an outsider nothing
    assert selectors.funnel(viewer=consultant).opened == 1
    assert selectors.funnel(viewer=people["outsider"]).opened == 0
    assert selectors.funnel(viewer=people["outsider"], filters={
        "project": org["a"].pk}).opened == 0


def test_buckets_and_median_interpolation():
    assert bucket_field(0) == "b00"
    assert bucket_field(3599) == "b00" and bucket_field(3600) == "b01"
    assert bucket_field(400 * DAY) == "b15"
    counts = [0] * 16
    counts[5] = 2  # two stays of 3–5 days (b05)
    assert selectors._median_seconds(counts) == pytest.approx(4 * DAY)


def test_rebuild_reproduces_the_cells(people, make_opportunity):
    consultant = people["consultant"]
    _walk(make_opportunity(), consultant, [(S.NEGOTIATION, 1), (S.RESERVED, 2),
                                           (S.NEGOTIATION, 1), (S.RESERVED, 2)])
    before = selectors.funnel(viewer=people["admin"])
    FunnelCell.objects.all().delete()
    assert funnel_rebuild() > 0
    after = selectors.funnel(viewer=people["admin"])
    assert after == before
    assert _row(after, S.RESERVED).reached == 1  # reached once, however often re-entered


def test_kanban_totals_from_the_cells_match_the_rows(people, make_opportunity):
    from decimal import Decimal

    from django.db.models import Count, Sum

    from anju.core.money import format_wan
    from anju.sales.models.opportunities import Opportunity

    consultant, peer, manager = people["consultant"], people["peer"], people["manager"]
    first = make_opportunity(expected_value="1500000")
    make_opportunity(expected_value="2000000", owner=peer)
    third = make_opportunity()
    third = services.opportunity_move(actor=consultant, opportunity=third,
                                      to_stage=S.NEGOTIATION)
    third = services.opportunity_update(actor=manager, opportunity=third,
                                        expected_version=third.version,
                                        expected_value="3100000.50")
    first = services.opportunity_update(actor=manager, opportunity=first,
                                        expected_version=first.version, owner=peer,
                                        expected_value="1600000")
    services.opportunity_move(actor=manager, opportunity=make_opportunity(expected_value="9"),
                              to_stage=S.LOST, lost_reason="price")
    for filters in ({}, {"owner": peer.pk}, {"team": people["team"].pk}):
        columns = {column.stage: column for column in selectors.kanban(viewer=manager,
                                                                       filters=filters)}
        rows = selectors.opportunities_filtered(manager, filters)
        expected = {row["stage"]: row for row in rows.order_by().values("stage").annotate(
            n=Count("id"), value=Sum("expected_value"))}
        for stage, column in columns.items():
            row = expected.get(stage) or {"n": 0, "value": Decimal(0)}
            assert column.count == row["n"], (filters, stage)
            assert column.value_wan == format_wan(row["value"] or 0), (filters, stage)
    assert Opportunity.objects.count() == 4
