"""`anju serve`: the web server, the task worker and the scheduler as one process tree.

honcho's Manager starts each child in its own session, relays its output with a name
prefix, forwards Ctrl-C/SIGTERM to every child (SIGKILL after 5 s), and when one child dies
it stops the others, so the tree never runs half-alive."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from honcho.manager import Manager

PID_FILE_NAME = "anju-serve.pid"
SUPERVISOR_ENV = "ANJU_SUPERVISOR_PID"


@dataclass(frozen=True)
class ChildProcess:
    name: str
    argv: list[str]

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


def manage_argv(*args: str) -> list[str]:
    """The command line that runs one management command in a child process."""
    return [sys.executable, "-m", "anju.cli", "manage", *args]


def worker_argv() -> list[str]:
    """The task worker; the `worker` command picks db_worker or rqworker by TASK_BACKEND."""
    return manage_argv("worker")


def watch_supervisor(interval: float = 1.0) -> None:
    """In a child of `serve`: stop (SIGTERM to self) when the supervisor is gone, so a
    `kill -9` of `anju serve` never leaves a web server or worker running on its own."""
    import signal
    import threading
    import time

    try:
        supervisor = int(os.environ.get(SUPERVISOR_ENV, ""))
    except ValueError:
        return

    def watch() -> None:
        while _process_running(supervisor):
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="anju-supervisor-watch", daemon=True).start()


def serve_children(*, host: str, port: int, threads: int, worker: bool = True,
                   scheduler: bool = True) -> list[ChildProcess]:
    children = [ChildProcess("web", manage_argv("web", "--host", host, "--port", str(port),
                                                "--threads", str(threads)))]
    if worker and settings.TASK_BACKEND in ("db", "rq"):
        children.append(ChildProcess("worker", worker_argv()))
    if scheduler:
        children.append(ChildProcess("scheduler", manage_argv("scheduler")))
    return children


class Supervisor(Manager):
    """honcho's Manager, remembering which child took the tree down."""

    first_exit: tuple[str, int] | None = None

    def terminate(self) -> None:
        if not self._terminating:
            for name, proc in self._processes.items():
                if proc.get("returncode") is not None:
                    self.first_exit = (name, proc["returncode"])
                    break
        super().terminate()


def _process_running(pid: int) -> bool:
    """True while `pid` runs (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1]
    except (OSError, IndexError):
        return True  # no /proc (macOS): trust os.kill
    return state not in ("Z", "X")


def pid_file() -> Path:
    return Path(settings.DATA_DIR) / PID_FILE_NAME


def running_server_pid() -> int | None:
    """The pid of a running `anju serve` on this data folder, if any."""
    try:
        pid = int(pid_file().read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _process_running(pid) else None


def serve(*, children: list[ChildProcess], stdout) -> int:
    """Runs the children until Ctrl-C/SIGTERM or until one exits; returns the exit code."""
    manager = Supervisor()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", SUPERVISOR_ENV: str(os.getpid())}
    env.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE",
                                                            "anju.settings.dev"))
    for child in children:
        manager.add_process(child.name, child.command, env=env)
    path = pid_file()
    path.write_text(str(os.getpid()))
    try:
        manager.loop()
    finally:
        path.unlink(missing_ok=True)
    if manager.first_exit is not None:
        name, code = manager.first_exit
        stdout.write(_("The %(name)s process stopped unexpectedly (exit code %(code)s), "
                       "so Anju stopped. See its messages above.\n")
                     % {"name": name, "code": code})
        return code or 1
    return 0 if manager.returncode in (None, 130, 143) else manager.returncode
