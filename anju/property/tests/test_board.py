"""The sales-control board page, its htmx parts (filters, changed cells, side panel) and
sales control (lock / release) from the panel."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anju.property.models import Unit, UnitStatusChange
from anju.property.services import unit_transition

HTMX = {"HTTP_HX_REQUEST": "true"}


def english(client):
    client.cookies["django_language"] = "en"
    return client


def count_queries(client, url, **extra):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200, response.status_code
    return len(queries)


def cell_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="unit-(\d+)"', html)]


def test_board_shows_floors_top_first_with_legend_and_hover(staff, make_building,
                                                            client_for):
    building = make_building(floors=3, per_floor=2, code="3")
    unit = building.units.get(number="301")
    unit_transition(unit_id=unit.pk, to_status="reserved", actor=staff["manager"])
    response = english(client_for(staff["consultant"])).get(
        f"/property/buildings/{building.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    floors = re.findall(r'<th scope="row" class="floor">(\d+)F</th>', html)
    assert floors == ["3", "2", "1"]
    assert cell_ids(html)[0] == unit.pk
    assert 'class="cell s-reserved"' in html and html.count("cell s-available") == 5
    assert re.search(r'id="count-reserved">1<', html)
    assert re.search(r'id="count-available">5<', html)
    assert re.search(r'id="count-total">6<', html)
    # hover: unit type, area, price in 万元, status
    title = re.search(rf'id="unit-{unit.pk}"[^>]*title="([^"]+)"', html).group(1)
    assert "3-301" in title and "A户型" in title and "98.50 m²" in title
    assert "103.00万元" in title and "reserved" in title
    assert f'hx-get="/property/units/{unit.pk}/"' in html
    assert 'hx-trigger="every 3s"' in html and "since=1" in html


def test_board_is_scoped(staff, org, make_building, client_for):
    building = make_building(org["c"], code="9")
    assert client_for(staff["consultant"]).get(
        f"/property/buildings/{building.pk}/").status_code == 404
    assert client_for(staff["outsider"]).get(
        f"/property/buildings/{building.pk}/").status_code == 200


def test_board_queries_do_not_grow_with_the_building(staff, make_building, client_for,
                                                    page_queries):
    small = make_building(floors=2, per_floor=2, code="1")
    big = make_building(floors=20, per_floor=8, code="2")
    client = client_for(staff["consultant"])
    page_queries(client, f"/property/buildings/{small.pk}/")  # warm caches
    small_count = page_queries(client, f"/property/buildings/{small.pk}/")
    big_count = page_queries(client, f"/property/buildings/{big.pk}/")
    assert small_count == big_count
    assert small_count[1] == 2  # the building, its units with their types


def test_filters_dim_cells_without_a_full_reload(staff, make_building, client_for):
    building = make_building(floors=3, per_floor=2, code="3")
    cheap = building.units.get(number="101")
    unit_transition(unit_id=cheap.pk, to_status="held", actor=staff["manager"])
    client = client_for(staff["consultant"])
    response = client.get(f"/property/buildings/{building.pk}/",
                          {"status": "available", "price_max": "102.5"},
                          HTTP_HX_TARGET="board-grid", **HTMX)
    html = response.content.decode()
    assert "<html" not in html and 'id="board-grid"' in html
    dim = re.findall(r'id="unit-(\d+)" class="cell s-\w+( dim)?"', html)
    bright = {int(pk) for pk, d in dim if not d}
    assert bright == set(building.units.filter(floor__lte=2, status="available")
                         .values_list("pk", flat=True))
    assert "status=available" in html and "price_max=102.5" in html  # the poller keeps them
    bad = client.get(f"/property/buildings/{building.pk}/", {"price_min": "9", "price_max": "1"},
                     HTTP_HX_TARGET="board-grid", **HTMX)
    assert bad.status_code == 200 and "dim" not in bad.content.decode()


def test_changes_since_a_marker(staff, make_building, client_for):
    building = make_building(floors=3, per_floor=2, code="3")
    client = client_for(staff["consultant"])
    url = f"/property/buildings/{building.pk}/changes/"
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"since": 0}, **HTMX)
    assert response.status_code == 204 and len(queries) == 4  # session, user, scope, building
    unit = building.units.get(number="201")
    unit_transition(unit_id=unit.pk, to_status="held", actor=staff["manager"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"since": 0}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and len(queries) == 6  # + changed units, counts
    assert cell_ids(html) == [unit.pk]
    assert 'class="cell s-held changed"' in html and 'hx-swap-oob="true"' in html
    assert re.search(r'id="count-held" hx-swap-oob="true">1<', html)
    assert "since=1" in html
    assert json.loads(response["HX-Trigger"]) == {"property:units-changed": [unit.pk]}
    assert client.get(url, {"since": 1}, **HTMX).status_code == 204
    assert client.get(url, {"since": "x"}, **HTMX).status_code == 400


def test_panel_shows_details_history_and_actions(staff, make_building, client_for):
    building = make_building(floors=1, per_floor=2, code="3")
    unit = building.units.get(number="101")
    unit_transition(unit_id=unit.pk, to_status="locked", actor=staff["manager"],
                    reason="领导保留")
    manager = english(client_for(staff["manager"])).get(f"/property/units/{unit.pk}/", **HTMX)
    consultant = english(client_for(staff["consultant"])).get(f"/property/units/{unit.pk}/",
                                                             **HTMX)
    html = manager.content.decode()
    assert "3-101" in html and "领导保留" in html and "王经理" in html
    assert "floor price" in html and "¥959,500.00" in html and "¥1,010,000.00" in html
    assert f"/property/units/{unit.pk}/release/" in html
    assert f"/property/units/{unit.pk}/lock/" not in html
    other = consultant.content.decode()
    assert "领导保留" in other and "floor price" not in other and "959,500" not in other
    assert "/release/" not in other


def test_panel_query_count(staff, make_building, client_for):
    building = make_building(floors=1, per_floor=1, code="3")
    unit = building.units.get()
    client = client_for(staff["manager"])
    url = f"/property/units/{unit.pk}/"
    count_queries(client, url, **HTMX)
    first = count_queries(client, url, **HTMX)
    for n in range(3):
        unit_transition(unit_id=unit.pk, to_status="locked" if n % 2 == 0 else "available",
                        actor=staff["manager"], reason="x")
    assert count_queries(client, url, **HTMX) == first == 5


def test_lock_and_release_from_the_panel(staff, make_building, client_for):
    building = make_building(floors=1, per_floor=1, code="3")
    unit = building.units.get()
    client = client_for(staff["manager"])
    form = client.get(f"/property/units/{unit.pk}/lock/", **HTMX)
    assert form.status_code == 200 and "reason" in form.content.decode()
    missing = client.post(f"/property/units/{unit.pk}/lock/", {"reason": " "}, **HTMX)
    assert missing.status_code == 400
    assert Unit.objects.get(pk=unit.pk).status == "available"
    done = client.post(f"/property/units/{unit.pk}/lock/", {"reason": "开盘前保留"}, **HTMX)
    assert done.status_code == 200 and "s-locked" in done.content.decode()
    assert Unit.objects.get(pk=unit.pk).status == "locked"
    change = UnitStatusChange.objects.get()
    assert (change.to_status, change.reason, change.actor) == ("locked", "开盘前保留",
                                                              staff["manager"])
    again = client.post(f"/property/units/{unit.pk}/lock/", {"reason": "再锁"}, **HTMX)
    assert again.status_code == 400 and "3-101" in again.content.decode()
    released = client.post(f"/property/units/{unit.pk}/release/", {"reason": ""})
    assert released.status_code == 302
    assert Unit.objects.get(pk=unit.pk).status == "available"


def test_lock_refused_without_the_right(staff, make_building, client_for):
    unit = make_building(floors=1, per_floor=1, code="3").units.get()
    client = client_for(staff["consultant"])
    response = english(client).post(f"/property/units/{unit.pk}/lock/", {"reason": "想锁"},
                                    **HTMX)
    assert response.status_code == 400
    assert "sales-control right" in response.content.decode()
    assert Unit.objects.get(pk=unit.pk).status == "available"
    assert client_for(staff["outsider"]).post(
        f"/property/units/{unit.pk}/lock/", {"reason": "x"}).status_code == 404


def test_building_list_counts(staff, org, make_building, client_for, page_queries):
    first = make_building(floors=2, per_floor=2, code="1")
    make_building(org["b"], floors=1, per_floor=3, code="2")
    unit = first.units.first()
    unit_transition(unit_id=unit.pk, to_status="locked", actor=staff["manager"], reason="x")
    client = client_for(staff["manager"])
    page_queries(client, "/property/")
    queries = page_queries(client, "/property/")
    assert queries[1] == 2  # buildings with projects, counts per building and status
    html = client.get("/property/").content.decode()
    assert "四季花城" in html and "滨江壹号" in html
    assert re.search(r'data-status="locked">1<', html)
    make_building(org["a"], floors=1, per_floor=1, code="5")
    assert page_queries(client, "/property/") == queries
    assert "翡翠湾" not in client_for(staff["consultant"]).get("/property/").content.decode()
    only_b = client.get("/property/", {"project": org["b"].pk}).content.decode()
    assert "滨江壹号" in only_b and "1号楼" not in only_b
    assert 'aria-current="page">滨江壹号' in only_b


@pytest.mark.parametrize("path", ["/property/", "/property/unit-types/"])
def test_pages_need_sign_in(client, path):
    assert client.get(path).status_code == 302


def test_cells_escape_what_users_typed(staff, org, make_building, client_for):
    from decimal import Decimal

    from anju.property.models import UnitType

    evil = UnitType.objects.create(project=org["a"], name='<b>"X"</b>',
                                   built_area=Decimal("90"))
    building = make_building(floors=1, per_floor=1, code="7", unit_type=evil)
    html = client_for(staff["consultant"]).get(f"/property/buildings/{building.pk}/").content
    assert b"<b>" not in html and b"&lt;b&gt;&quot;X&quot;&lt;/b&gt;" in html
