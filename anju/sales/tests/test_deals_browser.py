"""A sales consultant reserves a unit from the board (side panel → reserve form → customer
search → deposit) and a second browser session sees that unit change colour without a
reload. Marked `browser` (Chromium)."""

import pytest

from anju.sales.models import Deal

from .deals_fixtures import build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def choose_customer(page, text: str) -> None:
    """Type into the customer search until the results come (a keystroke that lands while
    htmx is still settling the freshly swapped form is typed again)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _attempt in range(4):
        page.fill("#deal-customer-q", "")
        page.fill("#deal-customer-q", text)
        try:
            page.wait_for_selector("#deal-customer-choices input[name=customer]",
                                   timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError("the customer search gave no results")


def test_reserve_from_the_board_and_see_it_in_another_session(org, make_user, open_as):
    from anju.customers.models import Customer

    consultant = make_user("brconsultant", "sales_consultant", projects=[org["a"]],
                           display_name="李顾问")
    manager = make_user("brmanager", "sales_manager", projects=[org["a"]])
    building = build(org["a"], code="8", floors=4, per_floor=2)
    unit = building.units.get(number="401")
    Customer.objects.create(company=org["first"], project=org["a"], owner=consultant,
                            name="张三丰")
    cell = f"#unit-{unit.pk}"

    watcher = open_as(manager, f"/property/buildings/{building.pk}/")
    assert "s-available" in watcher.get_attribute(cell, "class")

    board = open_as(consultant, f"/property/buildings/{building.pk}/")
    board.click(cell)
    board.wait_for_selector("#unit-panel [data-action='sales.reserve']")
    board.click("#unit-panel [data-action='sales.reserve']")
    board.wait_for_selector("#unit-panel #deal-unit-form")
    choose_customer(board, "张三")
    board.check("#deal-customer-choices input[name=customer]")
    board.fill("#unit-panel input[name=deposit]", "50000")
    board.click("#deal-submit")
    board.wait_for_selector("#deal-status")
    assert "8-401" in board.inner_text("h1")
    assert Deal.objects.get(unit=unit).status == "reserved"

    # the other session's board turns the cell to "reserved" by itself (it polls)
    watcher.wait_for_selector(f"{cell}.s-reserved", timeout=15_000)
    assert watcher.csp_errors == [] and board.csp_errors == []


def test_contract_form_shows_the_running_total(org, make_user, open_as):
    from anju.customers.models import Customer
    from anju.sales.deals import services

    consultant = make_user("ctconsultant", "sales_consultant", projects=[org["a"]])
    building = build(org["a"], code="9", floors=1, per_floor=1)
    buyer = Customer.objects.create(company=org["first"], project=org["a"], owner=consultant,
                                    name="李四")
    deal = services.deal_reserve(actor=consultant, unit=building.units.get(), customer=buyer,
                                 deposit="50000")
    page = open_as(consultant, f"/sales/deals/{deal.pk}/contract/")
    page.wait_for_selector("#plan-total[data-matches='1']")
    assert page.inner_text("#plan-total") == page.inner_text("#plan-price") == "¥1,010,000.00"
    page.fill("input[name='plan-1-bank']", "建设银行")
    page.fill("input[name='plan-0-amount']", "1")
    page.wait_for_selector("#plan-total[data-matches='0']")
    page.click("button[type=submit].button")
    page.wait_for_selector("#plan-errors")
    assert "差额" in page.inner_text("#plan-errors")
    assert page.csp_errors == []
