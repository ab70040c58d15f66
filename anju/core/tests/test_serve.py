"""`anju serve`: web server, worker and scheduler run as one tree and stop together."""

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ANJU = Path(sys.executable).with_name("anju")
DEADLINE = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def base_environment(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ANJU_REDIS_URL")}
    env.update({"ANJU_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "anju.settings.dev",
                "ANJU_DEBUG": "false", "ANJU_TASK_BACKEND": "db", "LANG": "en_US.UTF-8",
                "PYTHONUNBUFFERED": "1"})
    return env


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("migrated")
    subprocess.run([str(ANJU), "migrate", "--no-input"], env=base_environment(data_dir),
                   check=True, capture_output=True, timeout=120)
    return data_dir / "anju.sqlite3"


@pytest.fixture
def environment(tmp_path, migrated_database):
    """A data folder with a migrated SQLite database, as `./start` leaves it."""
    shutil.copy(migrated_database, tmp_path / "anju.sqlite3")
    return base_environment(tmp_path)


class Served:
    """`anju serve` in a subprocess, its output collected by a thread."""

    def __init__(self, env: dict, port: int):
        self.process = subprocess.Popen(
            [str(ANJU), "serve", "--port", str(port), "--threads", "2"], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str) -> re.Match:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if match := re.search(pattern, self.output):
                return match
            if self.process.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in output:\n{self.output}")

    def finish(self) -> None:
        """Stops the tree as a user would (Ctrl-C); SIGKILL only if that fails."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()
        self.reader.join(timeout=5)


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_serve_runs_web_worker_and_scheduler_and_ctrl_c_stops_them_all(environment,
                                                                        tmp_path):
    port = free_port()
    served = Served(environment, port)
    try:
        served.wait_for(rf"http://127\.0\.0\.1:{port}/")
        pids = {name: int(served.wait_for(rf"{name} started \(pid=(\d+)\)")[1])
                for name in ("web", "worker", "scheduler")}
        served.wait_for("Serving on")
        assert get(f"http://127.0.0.1:{port}/accounts/login/") == 200
        assert get(f"http://127.0.0.1:{port}/static/does-not-exist.css") == 404

        # The worker really works: a task enqueued on the database backend gets done.
        enqueue = subprocess.run(
            [str(ANJU), "manage", "shell", "-c",
             "from anju.core.tasks import sessions_clear_expired as t; "
             "print(t.enqueue().id)"],
            env=environment, capture_output=True, text=True, timeout=60, check=True)
        task_id = enqueue.stdout.strip().splitlines()[-1].replace("-", "")
        database = sqlite3.connect(tmp_path / "anju.sqlite3")
        status = None
        deadline = time.monotonic() + DEADLINE
        while status != "SUCCESSFUL" and time.monotonic() < deadline:
            time.sleep(0.3)
            row = database.execute(
                "SELECT status FROM django_tasks_database_dbtaskresult "
                "WHERE replace(id, '-', '') = ?", (task_id,)).fetchone()
            status = row and row[0]
        database.close()
        assert status == "SUCCESSFUL"
        assert all(is_alive(pid) for pid in pids.values())

        served.process.send_signal(signal.SIGINT)
        served.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(is_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(is_alive(pid) for pid in pids.values())
        assert not (tmp_path / "anju-serve.pid").exists()
    finally:
        served.finish()


def test_children_stop_when_the_supervisor_is_killed(environment):
    """Even `kill -9` of `anju serve` leaves nothing running."""
    served = Served(environment, free_port())
    try:
        pids = {name: int(served.wait_for(rf"{name} started \(pid=(\d+)\)")[1])
                for name in ("web", "worker", "scheduler")}
        served.wait_for("Serving on")
        children = {pid for pid in map(int, (p.name for p in Path("/proc").iterdir()
                                             if p.name.isdigit()))
                    if is_alive(pid) and parent_of(pid) in pids.values()}
        assert len(children) == 3
        served.process.kill()
        deadline = time.monotonic() + 15
        while any(map(is_alive, children)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(is_alive, children))
    finally:
        served.finish()
        for pid in pids.values():  # the honcho shells, in case the test failed
            if is_alive(pid):
                os.killpg(pid, signal.SIGKILL)


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def test_a_child_that_dies_takes_the_tree_down_with_a_message(environment):
    with socket.socket() as taken:  # the port is in use: the web server cannot start
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        served = Served(environment, port)
        try:
            served.wait_for("The web process stopped unexpectedly")
            assert served.process.wait(timeout=DEADLINE) != 0
        finally:
            served.finish()


def test_serve_prints_the_demo_logins(environment, tmp_path):
    from anju.core.demo import Credential, credentials_table

    path = tmp_path / "demo-credentials.txt"
    path.write_text(credentials_table([Credential("管理员", "admin", "Secret-2026")]))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        served = Served(environment, taken.getsockname()[1])
        try:
            served.wait_for("Secret-2026")
            assert "admin" in served.output
            served.wait_for("stopped unexpectedly")  # the taken port stops the tree
        finally:
            served.finish()
