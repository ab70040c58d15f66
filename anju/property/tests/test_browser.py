"""The board in a real browser (Chromium) on a tablet: tap a unit → the side panel; a
manager locks a unit in a second session → the first session's cell changes colour without
a reload; filters re-draw the grid in place. Marked `browser`."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"viewport": {"width": 820, "height": 1180}, "has_touch": True}


def test_board_on_a_tablet_updates_when_someone_else_locks(org, make_user, make_building,
                                                          open_as):
    consultant = make_user("bconsultant", "sales_consultant", projects=[org["a"]])
    manager = make_user("bmanager", "sales_manager", projects=[org["a"]])
    building = make_building(floors=6, per_floor=4, code="7")
    unit = building.units.get(number="601")
    board = open_as(consultant, f"/property/buildings/{building.pk}/", **TABLET)
    cell = f"#unit-{unit.pk}"
    assert "s-available" in board.get_attribute(cell, "class")
    box = board.locator(cell).bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44  # touch-sized
    assert board.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    board.tap(cell)
    board.wait_for_selector("#unit-panel .panel-head[data-unit-id]")
    assert "7-601" in board.inner_text("#unit-panel")
    assert "/lock/" not in board.inner_html("#unit-panel")  # no sales-control right

    other = open_as(manager, f"/property/buildings/{building.pk}/")
    other.click(cell)
    other.wait_for_selector("#unit-panel [data-action='property.lock']")
    other.click("#unit-panel [data-action='property.lock']")
    other.fill("#unit-panel textarea[name=reason]", "开盘前保留")
    other.click("#unit-panel button[type=submit]")
    other.wait_for_selector("#unit-panel .status-tag.s-locked")

    board.wait_for_selector(f"{cell}.s-locked", timeout=10_000)  # poll every 3 s
    board.wait_for_selector("#unit-panel .status-tag.s-locked", timeout=5_000)
    assert "开盘前保留" in board.inner_text("#unit-panel")
    assert board.inner_text("#count-locked") == "1"

    board.check("#board-filters input[value=locked]")
    board.wait_for_selector(f"#unit-{building.units.get(number='101').pk}.dim")
    assert "dim" not in board.get_attribute(cell, "class")
    assert "status=locked" in board.url
    assert board.csp_errors == [] and other.csp_errors == []
