"""Building from a pattern, unit types with floor plans, unit prices: service and pages."""

import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from anju.property import inventory
from anju.property.inventory import BuildingPattern, building_create_from_pattern
from anju.property.models import Building, Unit, UnitType
from anju.property.services import unit_transition


@pytest.fixture
def types(org):
    a = UnitType.objects.create(project=org["a"], name="A户型", rooms=3, halls=2, bathrooms=2,
                                built_area=Decimal("98.50"), usable_area=Decimal("80.10"))
    b = UnitType.objects.create(project=org["a"], name="B户型", rooms=4, halls=2, bathrooms=2,
                                built_area=Decimal("128.00"))
    return {"a": a, "b": b}


def pattern(types, **changes):
    values = {"name": "3号楼", "code": "3", "floor_count": 12, "units_per_floor": 4,
              "type_map": [types["a"].pk, types["b"].pk, types["b"].pk, types["a"].pk],
              "base_unit_price": Decimal("20000"), "floor_increment": Decimal("100"),
              "floor_price_ratio": Decimal("0.95")}
    values.update(changes)
    return BuildingPattern(**values)


def test_building_from_a_pattern(org, staff, types):
    building = building_create_from_pattern(actor=staff["manager"], project_id=org["a"].pk,
                                            pattern=pattern(types))
    units = Unit.objects.filter(building=building)
    assert units.count() == 48
    top = units.get(number="1201")
    assert (top.label, top.floor, top.position, top.unit_type) == ("3-1201", 12, 1, types["a"])
    # 20,000 + 11 × 100 = 21,100 yuan/m² × 98.50 m²
    assert top.list_price == Decimal("2078350.00")
    assert top.floor_price == Decimal("1974432.50")
    assert top.usable_area == Decimal("80.10")
    assert units.get(number="102").list_price == Decimal("2560000.00")  # 20,000 × 128
    assert set(units.values_list("status", flat=True)) == {"available"}


@pytest.mark.parametrize(("changes", "field"), [
    ({"floor_count": 0}, "floor_count"),
    ({"units_per_floor": 41}, "units_per_floor"),
    ({"type_map": [None, None, None]}, "type_map"),
    ({"code": ""}, "code"),
    ({"code": "3-1"}, "code"),
    ({"name": " "}, "name"),
    ({"base_unit_price": Decimal("0")}, "base_unit_price"),
    ({"floor_price_ratio": Decimal("1.2")}, "floor_price_ratio"),
    ({"type_map": [None, None, None, None]}, "default_area"),
    ({"type_map": [999, None, None, None], "default_area": Decimal(90)}, "type_map"),
    ({"floor_increment": Decimal("-5000")}, "floor_increment"),
])
def test_bad_pattern_names_the_field_and_writes_nothing(org, staff, types, changes, field):
    with pytest.raises(ValidationError) as error:
        building_create_from_pattern(actor=staff["manager"], project_id=org["a"].pk,
                                     pattern=pattern(types, **changes))
    assert field in error.value.message_dict
    assert not Building.objects.exists() and not Unit.objects.exists()


def test_pattern_needs_the_right_and_the_project(org, staff, types):
    with pytest.raises(PermissionDenied):
        building_create_from_pattern(actor=staff["consultant"], project_id=org["a"].pk,
                                     pattern=pattern(types))
    with pytest.raises(ValidationError) as error:
        building_create_from_pattern(actor=staff["manager"], project_id=org["c"].pk,
                                     pattern=pattern(types))
    assert "project" in error.value.message_dict
    building_create_from_pattern(actor=staff["manager"], project_id=org["a"].pk,
                                 pattern=pattern(types))
    with pytest.raises(ValidationError) as error:
        building_create_from_pattern(actor=staff["manager"], project_id=org["a"].pk,
                                     pattern=pattern(types, name="另一栋"))
    assert "code" in error.value.message_dict
    assert Building.objects.count() == 1


def test_building_page(org, staff, types, client_for):
    client = client_for(staff["manager"])
    assert client.get("/property/buildings/new/").status_code == 200
    response = client.post("/property/buildings/new/", {
        "project": org["a"].pk, "name": "5号楼", "code": "5", "floor_count": 3,
        "units_per_floor": 2, "type_map": "A户型，B户型", "base_unit_price": "18000",
        "floor_increment": "50", "floor_price_ratio": ""})
    building = Building.objects.get(code="5")
    assert response.status_code == 302 and response.url == f"/property/buildings/{building.pk}/"
    assert building.units.count() == 6
    assert building.units.get(number="302").unit_type == types["b"]
    bad = client.post("/property/buildings/new/", {
        "project": org["a"].pk, "name": "6号楼", "code": "6", "floor_count": 3,
        "units_per_floor": 2, "type_map": "A户型, C户型", "base_unit_price": "18000",
        "floor_increment": "0"})
    assert bad.status_code == 400 and "C户型" in bad.content.decode()
    assert client_for(staff["consultant"]).get("/property/buildings/new/").status_code == 403


def image_bytes(kind="PNG", size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(out, kind)
    return out.getvalue()


def test_unit_type_with_floor_plan(org, staff):
    plan = SimpleUploadedFile("plan.png", image_bytes(), content_type="image/png")
    saved = inventory.unit_type_save(
        actor=staff["manager"], project_id=org["a"].pk, floor_plan=plan,
        values={"name": "C户型", "rooms": 2, "halls": 1, "bathrooms": 1,
                "built_area": Decimal("75.00"), "orientation": "S"})
    assert saved.floor_plan.name.endswith(".png") and saved.layout


@pytest.mark.parametrize(("name", "data", "message"), [
    ("plan.png", b"not an image at all", "JPEG"),
    ("plan.gif", None, "JPEG"),
    ("big.png", b"x" * (5 * 1024 * 1024 + 1), "5"),
])
def test_floor_plan_is_checked(org, staff, name, data, message):
    if data is None:
        data = image_bytes("GIF")
    with pytest.raises(ValidationError) as error:
        inventory.unit_type_save(
            actor=staff["manager"], project_id=org["a"].pk,
            floor_plan=SimpleUploadedFile(name, data),
            values={"name": "D户型", "built_area": Decimal("75.00")})
    assert message in " ".join(error.value.message_dict["floor_plan"])
    assert not UnitType.objects.exists()


def test_unit_type_pages(org, staff, types, client_for):
    client = client_for(staff["manager"])
    response = client.post("/property/unit-types/new/", {
        "project": org["a"].pk, "name": "E户型", "rooms": 3, "halls": 2, "bathrooms": 1,
        "built_area": "88.8", "orientation": "SN",
        "floor_plan": SimpleUploadedFile("e.jpg", image_bytes("JPEG"))})
    assert response.status_code == 302
    created = UnitType.objects.get(name="E户型")
    assert created.floor_plan
    image = client_for(staff["consultant"]).get(f"/property/unit-types/{created.pk}/floor-plan/")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert b"".join(image.streaming_content)[:3] == b"\xff\xd8\xff"
    assert client_for(staff["outsider"]).get(
        f"/property/unit-types/{created.pk}/floor-plan/").status_code == 404
    bad = client.post("/property/unit-types/new/", {
        "project": org["a"].pk, "name": "F户型", "rooms": 3, "halls": 2, "bathrooms": 1,
        "built_area": "88.8", "floor_plan": SimpleUploadedFile("f.png", b"GIF89a nonsense")})
    assert bad.status_code == 400 and not UnitType.objects.filter(name="F户型").exists()
    edit = client.post(f"/property/unit-types/{types['a'].pk}/", {
        "name": "A户型", "rooms": 3, "halls": 2, "bathrooms": 2, "built_area": "99"})
    assert edit.status_code == 302
    types["a"].refresh_from_db()
    assert types["a"].built_area == Decimal("99.00")
    listing = client_for(staff["consultant"]).get("/property/unit-types/")
    assert "E户型" in listing.content.decode()
    assert client_for(staff["outsider"]).get(
        f"/property/unit-types/{types['a'].pk}/").status_code == 403


def test_unit_type_list_query_count(org, staff, types, client_for, page_queries):
    client = client_for(staff["consultant"])
    page_queries(client, "/property/unit-types/")
    before = page_queries(client, "/property/unit-types/")
    assert before[1] == 1  # unit types with their project
    for n in range(5):
        UnitType.objects.create(project=org["a"], name=f"X{n}", built_area=Decimal(90))
    assert page_queries(client, "/property/unit-types/") == before


def test_unit_prices_set(staff, make_building):
    unit = make_building(floors=1, per_floor=1).units.get()
    changed = inventory.unit_prices_set(actor=staff["manager"], unit_id=unit.pk, changes={
        "list_price": Decimal("1200000.00"), "floor_price": Decimal("1100000.00")})
    assert changed.list_price == Decimal("1200000.00")
    assert Unit.objects.get(pk=unit.pk).revision == 1
    with pytest.raises(ValidationError):
        inventory.unit_prices_set(actor=staff["manager"], unit_id=unit.pk,
                                  changes={"floor_price": Decimal("1300000.00")})
    unit_transition(unit_id=unit.pk, to_status="reserved", actor=staff["manager"])
    with pytest.raises(ValidationError) as error:
        inventory.unit_prices_set(actor=staff["manager"], unit_id=unit.pk,
                                  changes={"list_price": Decimal("1.00")})
    assert unit.label in error.value.messages[0]
