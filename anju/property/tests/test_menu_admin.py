"""Menu entries by right, the admin screens (status read-only, history append-only)."""

from anju.core.registry import menu
from anju.property.models import UnitStatusChange
from anju.property.services import unit_transition


def keys(user):
    return {entry.key for entry in menu.for_user(user) if entry.key.startswith("property.")}


def test_menu_entries_by_right(staff):
    assert keys(staff["consultant"]) == {"property.board", "property.unit_types"}
    assert keys(staff["manager"]) == {"property.board", "property.unit_types",
                                      "property.new_building", "property.price_import"}


def test_menu_shows_in_the_shell(staff, client_for):
    html = client_for(staff["manager"]).get("/").content.decode()
    assert 'data-key="property.board"' in html and "销控" in html


def test_admin_unit_pages(staff, make_building, client_for):
    unit = make_building(floors=1, per_floor=1).units.get()
    unit_transition(unit_id=unit.pk, to_status="locked", actor=staff["admin"], reason="x")
    admin = staff["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = client_for(admin)
    assert client.get("/admin/property/unit/").status_code == 200
    page = client.get(f"/admin/property/unit/{unit.pk}/change/")
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()  # read-only: moves go through services
    change = UnitStatusChange.objects.get()
    assert client.get(f"/admin/property/unitstatuschange/{change.pk}/delete/").status_code == 403
    assert client.get("/admin/property/unitstatuschange/add/").status_code == 403


def test_admin_price_edit_goes_through_the_service(staff, make_building, client_for):
    from decimal import Decimal

    from auditlog.models import LogEntry

    from anju.property.models import Building, Unit

    building = make_building(floors=1, per_floor=2)
    unit, taken = building.units.order_by("id")
    unit_transition(unit_id=taken.pk, to_status="reserved", actor=staff["admin"])
    admin = staff["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = client_for(admin)

    def post(target, price):
        return client.post(f"/admin/property/unit/{target.pk}/change/", {
            "building": building.pk, "floor": 1, "position": target.position,
            "number": target.number, "label": target.label, "unit_type": target.unit_type_id,
            "built_area": "98.50", "usable_area": "80.00", "list_price": price,
            "floor_price": "", "status_changes-TOTAL_FORMS": "0",
            "status_changes-INITIAL_FORMS": "0"})

    assert post(unit, "1500000.00").status_code == 302
    unit.refresh_from_db()
    assert unit.list_price == Decimal("1500000.00") and unit.floor_price is None
    revision = Building.objects.get(pk=building.pk).revision
    assert unit.revision == revision == 2  # the board's poll sees the edit
    assert LogEntry.objects.get_for_object(unit).filter(
        changes__icontains="list_price").exists()
    refused = post(taken, "1.00")
    assert refused.status_code == 200 and "errornote" in refused.content.decode()
    assert Unit.objects.get(pk=taken.pk).list_price != Decimal("1.00")
