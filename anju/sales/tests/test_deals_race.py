"""The issue's core guarantee: 20 clients race to reserve the same 10 units through the HTTP
API, 100 attempts each; exactly 10 reservations succeed, every other attempt is told the unit
is taken (409 "unit_taken"), no unit has two live deals and the history is complete."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from anju.conftest import ensure_seeded_roles

from .deals_race import outcome, race, seed

CLIENTS, UNITS, ATTEMPTS = 20, 10, 100


def check(answers: dict, wins: list, errors: list, result: dict, unit_ids: list) -> None:
    assert not errors, errors
    total = sum(answers.values())
    assert total == CLIENTS * ATTEMPTS
    assert answers.get((201, ""), 0) == UNITS, answers
    assert answers.get((409, "unit_taken"), 0) == total - UNITS, answers
    assert sorted(unit for unit, _deal in wins) == sorted(unit_ids)
    for unit_id in unit_ids:
        row = result[unit_id] if unit_id in result else result[str(unit_id)]
        assert row["status"] == "reserved"
        assert len(row["live"]) == 1 and row["deals"] == 1
        # complete history: one move, caused by the winning deal; its event and its receipt
        assert [tuple(move) for move in row["history"]] == [
            ("available", "reserved", f"deal:{row['live'][0]}")]
        assert row["events"] == 1 and row["payments"] == 1


@pytest.mark.only_postgresql
@pytest.mark.django_db(transaction=True)
def test_race_on_postgresql():
    ensure_seeded_roles()
    unit_ids, people = seed(units=UNITS, clients=CLIENTS)
    ran = race(unit_ids, people, attempts=ATTEMPTS)
    check(ran["answers"], ran["wins"], ran["errors"], outcome(unit_ids), unit_ids)


@pytest.mark.only_sqlite
def test_race_on_sqlite_file_database(tmp_path):
    """A child process: the same race on a SQLite file (WAL, IMMEDIATE transactions)."""
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "RACE_ATTEMPTS": str(ATTEMPTS)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "anju.sales.tests.deals_race",
                           str(tmp_path / "race.sqlite3")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(done.stdout.strip().splitlines()[-1])
    answers = {(status, code): count for status, code, count in data["answers"]}
    check(answers, [tuple(w) for w in data["wins"]], data["errors"], data["outcome"],
          data["unit_ids"])
