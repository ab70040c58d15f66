"""On SQLite (a file database with the site's settings: WAL, IMMEDIATE transactions, busy
timeout), processes racing to reserve one unit: exactly one wins, the others get a clean
"unit_taken", the history holds one move. (pytest's in-memory test database cannot show
this: its shared cache refuses concurrent writers instead of queueing them.)"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.only_sqlite
def test_processes_race_for_one_unit_on_a_sqlite_file(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "anju.settings.test", "ANJU_DATA_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env,
                   check=True, timeout=240)
    done = subprocess.run([sys.executable, "-m", "anju.property.tests.race_worker", "6"],
                          cwd=ROOT, env=env, check=True, timeout=120, capture_output=True,
                          text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["vendor"] == "sqlite"
    assert sorted(result["outcomes"]) == ["ok"] + ["unit_taken"] * 5, result
    assert (result["status"], result["history"], result["revision"]) == ("reserved", 1, 1)
