"""The 撞单 race: 50 registrations of one person by agents of 10 agencies, at once.

Used by test_registration_race.py on PostgreSQL (threads in the test process) and in a
child process on a SQLite file database (`python -m anju.leads.tests.registration_race
<path>`), where it prints the outcome as JSON."""

import json
import sys
import threading

AGENCIES, ATTEMPTS = 10, 50
PHONES = ("13800138000", "138****8000", "138 0013 8000")


def seed() -> tuple[int, list[int]]:
    from anju.accounts.models import Company, Project, Role, User
    from anju.leads.models import Agency, AgencyAgent

    company = Company.objects.create(name="竞速置业", code="race")
    project = Project.objects.create(company=company, name="竞速花园", code="race")
    role = Role.objects.get(code="channel_agent")
    agents = []
    for index in range(AGENCIES):
        agency = Agency.objects.create(company=company, name=f"中介{index}")
        user = User.objects.create_user(username=f"race-agent-{index}", role=role)
        user.projects.set([project])
        AgencyAgent.objects.create(agency=agency, user=user)
        agents.append(user.pk)
    return project.pk, agents


def race(project_id: int, agent_ids: list[int]) -> dict:
    from django.db import close_old_connections, connection

    from anju.accounts.models import Project, User
    from anju.leads.agency import registration_submit

    barrier = threading.Barrier(ATTEMPTS)
    answers: list = []
    errors: list = []
    lock = threading.Lock()

    def attempt(index: int) -> None:
        try:
            user = User.objects.select_related("role").get(pk=agent_ids[index % AGENCIES])
            project = Project.objects.get(pk=project_id)
            barrier.wait(timeout=60)
            answer = registration_submit(actor=user, project=project,
                                         customer_name="张伟", phone=PHONES[index % 3])
            with lock:
                answers.append((answer.pk, answer.status, answer.reason,
                                answer.conflict_with_id, answer.agency_id))
        except Exception as exc:
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()
            close_old_connections()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"answers": answers, "errors": errors}


def outcome(project_id: int) -> dict:
    from anju.leads.models import Registration

    rows = list(Registration.objects.filter(project_id=project_id)
                .values_list("status", "reason", "conflict_with_id", "agency_id", "pk"))
    return {"rows": rows}


def main(path: str) -> None:
    import os

    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings.test")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    project_id, agents = seed()
    ran = race(project_id, agents)
    print(json.dumps({"answers": ran["answers"], "errors": ran["errors"],
                      "outcome": outcome(project_id)}))


if __name__ == "__main__":
    main(sys.argv[1])
