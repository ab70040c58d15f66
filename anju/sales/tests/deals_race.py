"""The race of the issue: N clients reserve the same units through the HTTP API at once.

`seed()` writes a project, a building with `units` units and one consultant with one
customer per client; `race()` starts the clients together (a barrier), each sending
`attempts` POST /api/v1/deals/reserve/ for units picked round-robin from a random start;
`outcome()` reads back what the database holds. Used in-process on PostgreSQL
(test_deals_race.py) and, for SQLite, in a child process on a file database
(`python -m anju.sales.tests.deals_race <file>`), since an in-memory SQLite database cannot
be shared between threads."""

import json
import random
import sys
import threading
from collections import Counter
from decimal import Decimal

RESERVE_URL = "/api/v1/deals/reserve/"


def seed(*, units: int = 10, clients: int = 20, code: str = "race") -> tuple[list[int], list]:
    from anju.accounts.models import Company, Project, Role, User
    from anju.customers.models import Customer
    from anju.property.models import Building, Unit

    company = Company.objects.create(name=f"竞速地产{code}", code=f"c-{code}")
    project = Project.objects.create(company=company, name=f"竞速花园{code}", code=code,
                                     city="杭州")
    building = Building.objects.create(project=project, name="1号楼", code="1",
                                       floor_count=units, units_per_floor=1)
    Unit.objects.bulk_create([
        Unit(building=building, floor=floor, position=1, number=f"{floor}01",
             label=f"1-{floor}01", built_area=Decimal("90.00"),
             list_price=Decimal("1000000.00")) for floor in range(1, units + 1)])
    role = Role.objects.get(code="sales_consultant")
    people = []
    for index in range(clients):
        user = User.objects.create_user(username=f"racer{code}{index}", password="x" * 12,
                                        role=role)
        user.projects.set([project])
        customer = Customer.objects.create(company=company, project=project, owner=user,
                                           name=f"客户{index}")
        people.append((user, customer.pk))
    unit_ids = list(Unit.objects.filter(building=building).order_by("id")
                    .values_list("pk", flat=True))
    return unit_ids, people


def race(unit_ids: list[int], people: list, *, attempts: int = 100) -> dict:
    """Runs the clients; returns {"answers": Counter of (status, code), "wins": [...]}."""
    from django.db import connections
    from rest_framework.test import APIClient

    barrier = threading.Barrier(len(people))
    answers: Counter = Counter()
    wins: list[tuple[int, int]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client_run(user, customer_id, seed_value):
        client = APIClient()
        client.force_authenticate(user)
        rng = random.Random(seed_value)
        start = rng.randrange(len(unit_ids))
        barrier.wait()
        try:
            for attempt in range(attempts):
                unit_id = unit_ids[(start + attempt) % len(unit_ids)]
                response = client.post(RESERVE_URL, {"unit": unit_id, "customer": customer_id,
                                                      "deposit": "20000.00"}, format="json")
                body = response.json()
                with lock:
                    answers[(response.status_code, body.get("code", ""))] += 1
                    if response.status_code == 201:
                        wins.append((unit_id, body["id"]))
                    elif response.status_code != 409 and len(errors) < 5:
                        errors.append(f"{response.status_code} {body}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client_run, args=(user, customer_id, index))
               for index, (user, customer_id) in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"answers": answers, "wins": wins, "errors": errors}


def outcome(unit_ids: list[int]) -> dict:
    """What the database holds after the race, per unit."""
    from anju.property.models import Unit, UnitStatusChange
    from anju.sales.models import LIVE_STATUSES, Deal, DealEvent, Payment

    result = {}
    for unit in Unit.objects.filter(pk__in=unit_ids):
        live = list(Deal.objects.filter(unit=unit, status__in=LIVE_STATUSES)
                    .values_list("pk", flat=True))
        history = list(UnitStatusChange.objects.filter(unit=unit).order_by("id")
                       .values_list("from_status", "to_status", "reference"))
        result[unit.pk] = {
            "status": unit.status, "live": live, "history": history,
            "deals": Deal.objects.filter(unit=unit).count(),
            "events": DealEvent.objects.filter(deal__unit=unit, kind="reserved").count(),
            "payments": Payment.objects.filter(deal__unit=unit).count(),
        }
    return result


def main(path: str) -> None:
    """Child process: a fresh SQLite file database, migrated, seeded, raced; JSON on stdout."""
    import os

    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings.test")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    unit_ids, people = seed()
    ran = race(unit_ids, people, attempts=int(os.environ.get("RACE_ATTEMPTS", "100")))
    print(json.dumps({
        "answers": [[status, code, count] for (status, code), count in ran["answers"].items()],
        "wins": ran["wins"], "errors": ran["errors"],
        "outcome": {str(key): value for key, value in outcome(unit_ids).items()},
        "unit_ids": unit_ids,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
