"""The property API: scoping, masking of the floor price, filters, board data with "changed
since", sales control with clear refusals, prices, history, imports; pinned query counts."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from anju.property.api import BoardUnitSerializer
from anju.property.models import Building, PriceImport, Unit, UnitType
from anju.property.services import unit_transition
from anju.property.tests.test_price_import import csv_bytes, rows


def test_units_are_scoped_and_floor_price_masked(staff, org, make_building, api_for,
                                                 django_assert_num_queries):
    make_building(floors=2, per_floor=2, code="1")
    make_building(org["c"], floors=1, per_floor=1, code="9")
    consultant = api_for(staff["consultant"])
    response = consultant.get("/api/v1/units/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [u["label"] for u in results] == ["1-101", "1-102", "1-201", "1-202"]
    assert all(u["floor_price"] is None for u in results)
    assert results[0]["list_price"] == "1010000.00" and results[0]["unit_type_name"] == "A户型"
    manager = api_for(staff["manager"]).get("/api/v1/units/").json()["results"]
    assert manager[0]["floor_price"] == "959500.00"
    # The viewer's scope is cached on the (force-authenticated) user: one page query.
    with django_assert_num_queries(1):
        consultant.get("/api/v1/units/")


def test_unit_list_query_count_is_constant(staff, make_building, api_for,
                                           django_assert_num_queries):
    make_building(floors=10, per_floor=4, code="1")
    client = api_for(staff["consultant"])
    client.get("/api/v1/units/")
    with django_assert_num_queries(1):  # units with building and type
        assert len(client.get("/api/v1/units/").json()["results"]) == 40


def test_unit_filters(staff, make_building, api_for):
    building = make_building(floors=3, per_floor=2, code="1")
    unit = building.units.get(number="301")
    unit_transition(unit_id=unit.pk, to_status="held", actor=staff["manager"])
    client = api_for(staff["consultant"])

    def labels(**params):
        response = client.get("/api/v1/units/", params)
        assert response.status_code == 200, response.json()
        return [u["label"] for u in response.json()["results"]]

    assert labels(status="held") == ["1-301"]
    assert labels(status="available,held", price_min="1020000", price_max="1025000") == [
        "1-201", "1-202"]
    assert labels(building=building.pk, unit_type=UnitType.objects.get().pk)[0] == "1-101"
    bad = client.get("/api/v1/units/", {"status": "sold"})
    assert bad.status_code == 400 and "status" in bad.json()["fields"]
    assert client.get("/api/v1/units/", {"price_min": "x"}).status_code == 400


def test_board_data_and_changes(staff, make_building, api_for, django_assert_num_queries):
    building = make_building(floors=3, per_floor=2, code="1")
    client = api_for(staff["consultant"])
    url = f"/api/v1/buildings/{building.pk}/board/"
    client.get(url)
    with django_assert_num_queries(2):  # building, units (scope cached on the user)
        body = client.get(url).json()
    assert body["revision"] == 0 and not body["changed_only"]
    assert [u["number"] for u in body["units"]][:2] == ["301", "302"]
    assert set(body["units"][0]) == set(BoardUnitSerializer().fields)  # the documented shape
    assert body["units"][0]["list_price"] == "1030000.00"
    assert body["units"][0]["unit_type_name"] == "A户型"
    assert {c["status"]: c["count"] for c in body["counts"]}["available"] == 6
    assert client.get(url, {"since": 0}).status_code == 204
    unit = building.units.get(number="101")
    unit_transition(unit_id=unit.pk, to_status="reserved", actor=staff["manager"])
    changed = client.get(url, {"since": 0}).json()
    assert changed["changed_only"] and [u["id"] for u in changed["units"]] == [unit.pk]
    assert changed["revision"] == 1
    assert {c["status"]: c["count"] for c in changed["counts"]}["reserved"] == 1
    other = make_building(floors=20, per_floor=8, code="2")
    with django_assert_num_queries(2):
        client.get(f"/api/v1/buildings/{other.pk}/board/")
    assert api_for(staff["outsider"]).get(url).status_code == 404


def test_lock_and_release(staff, make_building, api_for):
    unit = make_building(floors=1, per_floor=1, code="3").units.get()
    manager = api_for(staff["manager"])
    url = f"/api/v1/units/{unit.pk}/"
    missing = manager.post(url + "lock/", {"reason": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]
    locked = manager.post(url + "lock/", {"reason": "领导保留"})
    assert locked.status_code == 200 and locked.json()["status"] == "locked"
    again = manager.post(url + "lock/", {"reason": "再次"}, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 409
    assert again.json() == {"code": "unit_taken",
                            "message": "Unit 3-101 is withheld by sales control."}
    consultant = api_for(staff["consultant"]).post(url + "release/", {},
                                                   HTTP_ACCEPT_LANGUAGE="en")
    assert consultant.status_code == 403 and consultant.json()["code"] == "forbidden"
    assert api_for(staff["outsider"]).post(url + "release/", {}).status_code == 404
    released = manager.post(url + "release/", {}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert released.status_code == 200 and released.json()["status"] == "available"
    replay = manager.post(url + "release/", {}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    history = manager.get(url + "history/").json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        ("locked", "available"), ("available", "locked")]
    assert history[1]["reason"] == "领导保留" and history[1]["actor_name"] == "王经理"


def test_history_query_count(staff, make_building, api_for, django_assert_num_queries):
    unit = make_building(floors=1, per_floor=1, code="3").units.get()
    for n in range(4):
        unit_transition(unit_id=unit.pk, to_status="locked" if n % 2 == 0 else "available",
                        actor=staff["manager"], reason=str(n))
    client = api_for(staff["manager"])
    client.get(f"/api/v1/units/{unit.pk}/history/")
    with django_assert_num_queries(2):  # unit, history with actors
        assert len(client.get(f"/api/v1/units/{unit.pk}/history/").json()) == 4


def test_prices(staff, make_building, api_for):
    unit = make_building(floors=1, per_floor=1, code="3").units.get()
    manager = api_for(staff["manager"])
    ok = manager.post(f"/api/v1/units/{unit.pk}/prices/", {"list_price": "1234567.89"})
    assert ok.status_code == 200 and ok.json()["list_price"] == "1234567.89"
    bad = manager.post(f"/api/v1/units/{unit.pk}/prices/", {"floor_price": "9999999.00"})
    assert bad.status_code == 400 and "floor_price" in bad.json()["fields"]
    denied = api_for(staff["consultant"]).post(f"/api/v1/units/{unit.pk}/prices/",
                                               {"list_price": "1.00"})
    assert denied.status_code == 403
    assert Unit.objects.get(pk=unit.pk).list_price == Decimal("1234567.89")


def test_buildings_and_pattern(staff, org, make_building, api_for, django_assert_num_queries):
    make_building(floors=1, per_floor=1, code="1")
    unit_type = UnitType.objects.get()
    client = api_for(staff["manager"])
    created = client.post("/api/v1/buildings/", {
        "project": org["a"].pk, "name": "8号楼", "code": "8", "floor_count": 5,
        "units_per_floor": 2, "type_map": [unit_type.pk, None], "default_area": "66.00",
        "base_unit_price": "15000", "floor_increment": "80"}, format="json")
    assert created.status_code == 201, created.json()
    building = Building.objects.get(code="8")
    assert building.units.count() == 10
    assert building.units.get(number="502").list_price == Decimal("1011120.00")
    bad = client.post("/api/v1/buildings/", {
        "project": org["a"].pk, "name": "9号楼", "code": "9", "floor_count": 5,
        "units_per_floor": 2, "type_map": [unit_type.pk], "base_unit_price": "15000"},
        format="json")
    assert bad.status_code == 400 and "type_map" in bad.json()["fields"]
    denied = api_for(staff["consultant"]).post("/api/v1/buildings/", {
        "project": org["a"].pk, "name": "9号楼", "code": "9", "floor_count": 1,
        "units_per_floor": 1, "type_map": [unit_type.pk], "base_unit_price": "1"},
        format="json")
    assert denied.status_code == 403
    listing = api_for(staff["consultant"])
    listing.get("/api/v1/buildings/")
    with django_assert_num_queries(2):  # buildings with project, counts by status
        results = listing.get("/api/v1/buildings/").json()["results"]
    assert [b["name"] for b in results] == ["1号楼", "8号楼"]
    assert results[1]["counts"] == {"available": 10, "held": 0, "reserved": 0,
                                    "contracted": 0, "delivered": 0, "locked": 0}
    assert created.json()["counts"]["available"] == 10
    make_building(floors=3, per_floor=3, code="2")
    with django_assert_num_queries(2):
        assert len(listing.get("/api/v1/buildings/").json()["results"]) == 3


def test_unit_types_with_floor_plan(staff, org, api_for, django_assert_num_queries):
    image = io.BytesIO()
    Image.new("RGB", (20, 20)).save(image, "PNG")
    client = api_for(staff["manager"])
    created = client.post("/api/v1/unit-types/", {
        "project": org["a"].pk, "name": "C户型", "rooms": 2, "halls": 1, "bathrooms": 1,
        "built_area": "75.5", "floor_plan": SimpleUploadedFile("c.png", image.getvalue())},
        format="multipart")
    assert created.status_code == 201, created.json()
    assert created.json()["layout"]
    plan_url = created.json()["floor_plan_url"]
    assert plan_url == f"/property/unit-types/{created.json()['id']}/floor-plan/"
    bad = client.post("/api/v1/unit-types/", {
        "project": org["a"].pk, "name": "D户型", "built_area": "75.5",
        "floor_plan": SimpleUploadedFile("d.png", b"no image")}, format="multipart")
    assert bad.status_code == 400 and "floor_plan" in bad.json()["fields"]
    duplicate = client.post("/api/v1/unit-types/", {"project": org["a"].pk, "name": "C户型",
                                                    "built_area": "80"})
    assert duplicate.status_code == 400
    reader = api_for(staff["consultant"])
    reader.get("/api/v1/unit-types/")
    with django_assert_num_queries(1):
        assert len(reader.get("/api/v1/unit-types/").json()["results"]) == 1
    assert api_for(staff["outsider"]).get("/api/v1/unit-types/").json()["results"] == []


def test_price_import_api(staff, org, make_building, api_for):
    make_building(floors=3, per_floor=2, code="1")
    client = api_for(staff["manager"])
    created = client.post("/api/v1/price-imports/", {
        "project": org["a"].pk, "file": SimpleUploadedFile("p.csv", csv_bytes(rows()))},
        format="multipart")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["state"], body["changed_count"], body["rejected_count"]) == ("preview", 2, 6)
    assert any("9号楼" in r for row in body["rejected_rows"] for r in row["reasons"])
    job = body["id"]
    assert client.get(f"/api/v1/price-imports/{job}/errors/").status_code == 200
    applied = client.post(f"/api/v1/price-imports/{job}/apply/")
    assert applied.status_code == 200 and applied.json()["applied_count"] == 2
    again = client.post(f"/api/v1/price-imports/{job}/apply/")
    assert again.status_code == 409 and again.json()["code"] == "import_finished"
    assert api_for(staff["outsider"]).get(f"/api/v1/price-imports/{job}/").status_code == 404
    bad = client.post("/api/v1/price-imports/", {
        "project": org["a"].pk, "file": SimpleUploadedFile("p.pdf", b"%PDF")},
        format="multipart")
    assert bad.status_code == 400 and "file" in bad.json()["fields"]
    assert PriceImport.objects.count() == 1


@pytest.mark.parametrize("path", ["/api/v1/units/", "/api/v1/buildings/",
                                  "/api/v1/unit-types/"])
def test_api_needs_authentication(client, path):
    assert client.get(path).status_code == 401
