"""50 concurrent registrations of one phone by agents of 10 agencies: exactly one claim is
accepted; every other is rejected naming the winning claim (its times only), never a 500."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from anju.conftest import ensure_seeded_roles

from .registration_race import ATTEMPTS, outcome, race, seed


def check(answers: list, errors: list, rows: list) -> None:
    assert not errors, errors
    assert len(answers) == ATTEMPTS
    accepted = [a for a in answers if a[1] == "accepted"]
    assert len(accepted) == 1, answers
    winner_pk, _status, _reason, _conflict, winner_agency = accepted[0]
    for pk, status, reason, conflict, agency_id in answers:
        if pk == winner_pk:
            continue
        assert status == "rejected"
        assert conflict == winner_pk
        assert reason == ("own_claim" if agency_id == winner_agency else "claimed")
    live = [row for row in rows if row[0] in ("pending", "accepted", "visited")]
    assert len(live) == 1 and len(rows) == ATTEMPTS


@pytest.mark.only_postgresql
@pytest.mark.django_db(transaction=True)
def test_registration_race_on_postgresql():
    ensure_seeded_roles()
    project_id, agents = seed()
    ran = race(project_id, agents)
    check(ran["answers"], ran["errors"], outcome(project_id)["rows"])


@pytest.mark.only_sqlite
def test_registration_race_on_sqlite_file_database(tmp_path):
    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "anju.leads.tests.registration_race",
                           str(tmp_path / "race.sqlite3")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(done.stdout.strip().splitlines()[-1])
    check([tuple(a) for a in data["answers"]], data["errors"],
          [tuple(r) for r in data["outcome"]["rows"]])
