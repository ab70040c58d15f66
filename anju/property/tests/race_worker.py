"""Helper of test_sqlite_race: N processes race to reserve one unit in a SQLite file
database (WAL, IMMEDIATE transactions, busy timeout: the site's settings). Prints JSON."""

import json
import multiprocessing
import os
import sys


def attempt(args):
    unit_id, user_id, number = args
    from django.db import connections

    connections.close_all()  # never share the parent's connection across a fork
    from anju.accounts.models import User
    from anju.property.services import UnitTransitionError, unit_transition

    try:
        unit_transition(unit_id=unit_id, to_status="reserved",
                        actor=User.objects.get(pk=user_id), reference=f"deal:{number}",
                        expected_from={"available"})
        return "ok"
    except UnitTransitionError as error:
        return error.code
    except Exception as error:
        return f"error: {type(error).__name__}: {error}"
    finally:
        connections.close_all()


def main(processes: int) -> None:
    import django

    django.setup()
    from decimal import Decimal

    from django.db import connections

    from anju.accounts.models import Company, Project, Role, User
    from anju.property.models import Building, Unit, UnitStatusChange

    company = Company.objects.create(name="竞速", code="race")
    project = Project.objects.create(company=company, name="竞速项目", code="race")
    user = User.objects.create_user("racer", role=Role.objects.get(code="sales_manager"))
    building = Building.objects.create(project=project, name="1号楼", code="1", floor_count=1,
                                       units_per_floor=1)
    unit = Unit.objects.create(building=building, floor=1, number="101", label="1-101",
                               built_area=Decimal("90"), list_price=Decimal("1000000"))
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with context.Pool(processes) as pool:
        outcomes = pool.map(attempt, [(unit.pk, user.pk, n) for n in range(processes)])
    print(json.dumps({
        "outcomes": outcomes,
        "status": Unit.objects.get(pk=unit.pk).status,
        "history": UnitStatusChange.objects.filter(unit=unit).count(),
        "revision": Building.objects.get(pk=building.pk).revision,
        "vendor": connections["default"].vendor,
    }))


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings.test")
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
