"""The sales-control board (销控) of a 40-floor × 8-units building through HTTP
(`/property/buildings/<pk>/`, whole Django stack in-process via the test Client), its
"changed since" poll (204 and with changes), the board API, and the raw SQL of its reads.

    .venv/bin/python bench/bench_board.py --db postgresql [--repeat 200] [--fresh]
    .venv/bin/python bench/bench_board.py --db sqlite

Its own database (`bench_board` on PostgreSQL, `/tmp/bench_board.sqlite3`), migrated and
filled on first use (one project, three unit types, the 320-unit building with units in
every state, a consultant and a manager). Target (issue 5): p95 ≤ 100 ms with a constant
number of queries (checked here against a 5 × 2 building of the same project)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

TARGET_MS = 100
FLOORS, PER_FLOOR = 40, 8




def fill():
    """The data, once: returns (big building, small building, consultant, manager)."""
    from decimal import Decimal

    from anju.accounts.models import Company, Project, Role, User
    from anju.property.inventory import BuildingPattern, building_create_from_pattern
    from anju.property.models import Building, Unit, UnitType
    from anju.property.services import unit_transition

    project = Project.objects.filter(code="bench-board").first()
    if project is not None:
        big = Building.objects.get(project=project, code="40")
        small = Building.objects.get(project=project, code="5")
        return (big, small, User.objects.get(username="bench_board_consultant"),
                User.objects.get(username="bench_board_manager"))
    company, _created = Company.objects.get_or_create(code="bench-board",
                                                      defaults={"name": "销控基准公司"})
    project = Project.objects.create(company=company, name="销控基准项目", code="bench-board",
                                     city="杭州")
    consultant = User.objects.create_user(
        "bench_board_consultant", password="x-bench-2026",  # noqa: S106
        role=Role.objects.get(code="sales_consultant"), display_name="基准顾问")
    manager = User.objects.create_user(
        "bench_board_manager", password="x-bench-2026",  # noqa: S106
        role=Role.objects.get(code="sales_manager"), display_name="基准经理")
    for user in (consultant, manager):
        user.projects.set([project])
    types = [UnitType.objects.create(project=project, name=name, rooms=rooms,
                                     built_area=Decimal(area))
             for name, rooms, area in (("A", 3, "98.50"), ("B", 4, "128.00"),
                                       ("C", 2, "78.00"))]
    type_map = [types[i % 3].pk for i in range(PER_FLOOR)]

    def make(code, floors, per_floor):
        return building_create_from_pattern(
            actor=manager, project_id=project.pk, pattern=BuildingPattern(
                name=f"{code}号楼", code=code, floor_count=floors, units_per_floor=per_floor,
                type_map=type_map[:per_floor], base_unit_price=Decimal("25000"),
                floor_increment=Decimal("100"), floor_price_ratio=Decimal("0.96")))

    big, small = make("40", FLOORS, PER_FLOOR), make("5", 5, 2)
    # every state on the board: a realistic mid-sale building
    ids = list(Unit.objects.filter(building=big).order_by("id").values_list("id", flat=True))
    paths = {"held": ["held"], "reserved": ["reserved"],
             "contracted": ["reserved", "contracted"],
             "delivered": ["reserved", "contracted", "delivered"], "locked": ["locked"]}
    for index, unit_id in enumerate(ids):
        target = ("contracted", "reserved", "available", "held", "available", "locked",
                  "delivered", "available")[index % 8]
        for status in paths.get(target, []):
            unit_transition(unit_id=unit_id, to_status=status, actor=manager,
                            reason="bench", reference=f"bench:{unit_id}")
    return big, small, consultant, manager


def main() -> None:
    args = common.arguments(__doc__, extra=lambda parser: parser.add_argument(
        "--fresh", action="store_true", help="drop and rebuild the bench database"))
    common.setup_own_database(args, "bench_board")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    big, small, consultant, manager = fill()
    from anju.property.models import Unit
    from anju.property.services import unit_transition

    units = Unit.objects.filter(building=big).count()
    print(f"board bench · {args.db} · {FLOORS} floors × {PER_FLOOR} units = {units} units\n"
          f"{common.machine()}")
    client = common.client_for(consultant)

    def get(url, expected=200, **extra):
        response = client.get(url, **extra)
        assert response.status_code == expected, (url, response.status_code)
        return response

    page_url = f"/property/buildings/{big.pk}/"
    counts = {}
    for name, building in (("40×8", big), ("5×2", small)):
        get(f"/property/buildings/{building.pk}/")
        with CaptureQueriesContext(connection) as queries:
            get(f"/property/buildings/{building.pk}/")
        counts[name] = len(queries)
    print(f"queries per board page: 40×8 → {counts['40×8']}, 5×2 → {counts['5×2']}"
          f" ({'constant' if len(set(counts.values())) == 1 else 'NOT constant'})")

    results = [common.report("board page (HTML, 320 cells)",
                             common.timed(lambda _: get(page_url), [None], args.repeat),
                             target_ms=TARGET_MS)]
    filtered = {"status": "available", "price_max": "300"}
    results.append(common.report(
        "board filter (htmx grid)", common.timed(
            lambda _: get(page_url, data=filtered, HTTP_HX_REQUEST="true",
                          HTTP_HX_TARGET="board-grid"), [None], args.repeat)))
    big.refresh_from_db()
    poll_url = f"/property/buildings/{big.pk}/changes/?since={big.revision}"
    results.append(common.report("poll, nothing changed (204)", common.timed(
        lambda _: get(poll_url, 204, HTTP_HX_REQUEST="true"), [None], args.repeat)))
    # one unit changes: the poll returns its cell, the counts and the new marker
    free = Unit.objects.filter(building=big, status="available").order_by("id").first()
    unit_transition(unit_id=free.pk, to_status="held", actor=manager, reason="bench poll")
    results.append(common.report("poll, one unit changed", common.timed(
        lambda _: get(poll_url, 200, HTTP_HX_REQUEST="true"), [None], args.repeat)))
    unit_transition(unit_id=free.pk, to_status="available", actor=manager, reason="bench")
    api_url = f"/api/v1/buildings/{big.pk}/board/"
    results.append(common.report("board API (JSON)", common.timed(
        lambda _: get(api_url), [None], args.repeat)))
    panel_url = f"/property/units/{free.pk}/"
    results.append(common.report("unit side panel", common.timed(
        lambda _: get(panel_url, HTTP_HX_REQUEST="true"), [None], args.repeat)))

    def raw(_):
        with connection.cursor() as cursor:
            cursor.execute("SELECT b.*, p.name FROM property_building b JOIN accounts_project p "
                           "ON p.id = b.project_id WHERE b.id = %s", [big.pk])
            cursor.fetchall()
            cursor.execute("SELECT u.id, u.floor, u.position, u.number, u.label, u.status, "
                           "u.list_price, u.built_area, u.revision, t.name FROM property_unit u "
                           "LEFT JOIN property_unittype t ON t.id = u.unit_type_id "
                           "WHERE u.building_id = %s ORDER BY u.floor DESC, u.position",
                           [big.pk])
            cursor.fetchall()

    results.append(common.report("raw SQL of the board's reads",
                                 common.timed(raw, [None], args.repeat)))
    ok = results[0]["p95"] <= TARGET_MS and len(set(counts.values())) == 1
    print("target met" if ok else "target MISSED")


if __name__ == "__main__":
    main()
