"""The opportunity board and the funnel in a real browser (Chromium) under the CSP: a legal drop
moves the card, a refused drop explains why and the card stays, a drop on "lost" asks for
the reason; the funnel chart draws. Marked `browser`."""

import pytest

from anju.sales.models.opportunities import Opportunity

from .opportunity_fixtures import *  # noqa: F403

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page_for(open_as, people):
    return lambda path: open_as(people["consultant"], path,
                                viewport={"width": 2200, "height": 1000})


def test_board_moves_refuses_and_asks_why_lost(page_for, make_opportunity):
    first = make_opportunity()
    second = make_opportunity()
    page = page_for("/sales/opportunities/board/")
    card = f"#card-{first.pk}"
    # refused: a first visit cannot be won; the reason shows, the card stays
    page.drag_and_drop(card, '.kanban-column[data-stage="won"] .kanban-cards')
    page.wait_for_selector("#kanban-status.message-error")
    assert page.text_content("#kanban-status").strip()
    assert page.locator(f'.kanban-column[data-stage="first_visit"] {card}').count() == 1
    first.refresh_from_db()
    assert first.stage == "first_visit"
    # legal: to negotiation; the card moves and the counts follow
    page.drag_and_drop(card, '.kanban-column[data-stage="negotiation"] .kanban-cards')
    page.wait_for_selector(f'.kanban-column[data-stage="negotiation"] {card}')
    page.wait_for_selector('.kanban-column[data-stage="negotiation"] '
                           '.kanban-count[data-count="1"]')
    first.refresh_from_db()
    assert first.stage == "negotiation"
    # lost: the dialog asks why
    page.drag_and_drop(f"#card-{second.pk}", '.kanban-column[data-stage="lost"] .kanban-cards')
    page.wait_for_selector("#lost-dialog[open]")
    page.select_option("#lost-form select[name=lost_reason]", "price")
    page.click('#lost-form button[value="ok"]')
    page.wait_for_selector(f'.kanban-column[data-stage="lost"] #card-{second.pk}')
    assert Opportunity.objects.get(pk=second.pk).lost_reason == "price"
    assert page.csp_errors == []


def test_funnel_chart_draws_under_csp(page_for, make_opportunity):
    make_opportunity()
    page = page_for("/sales/opportunities/funnel/")
    page.wait_for_selector("#funnel-chart[data-chart-drawn] svg", timeout=10_000)
    assert page.csp_errors == []


def test_board_move_list_for_touch_screens(page_for, make_opportunity):
    opportunity = make_opportunity()
    page = page_for("/sales/opportunities/board/")
    select = f"#card-{opportunity.pk} select.kanban-move"
    page.select_option(select, "needs_confirmed")
    page.wait_for_selector(f'.kanban-column[data-stage="needs_confirmed"] #card-{opportunity.pk}')
    # the list now offers the moves of the new stage
    options = page.eval_on_selector_all(f"{select} option", "nodes => nodes.map(n => n.value)")
    assert "first_visit" in options and "needs_confirmed" not in options
    opportunity.refresh_from_db()
    assert opportunity.stage == "needs_confirmed"
    assert page.csp_errors == []
