"""Shared set-up of the benches: the database of a profile, Django, timing and reporting.

Every bench is a plain script: `.venv/bin/python bench/<x>.py --db sqlite|postgresql
--profile S|M`. The data come from `bench/datagen.py` (same flags); PostgreSQL uses the
database `bench_search_<profile>` on 127.0.0.1 (created `LOCALE 'C.UTF-8'` from template0),
SQLite the file `/tmp/bench_search_<profile>.sqlite3`."""

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILES = {
    # customers, interactions per customer (one customer has 200 for the 360° bench)
    "S": {"customers": 100_000, "interactions_per_customer": 10},
    "M": {"customers": 1_000_000, "interactions_per_customer": 10},
}
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
THE_360_CUSTOMER_INTERACTIONS = 200


def arguments(description: str, extra=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="S")
    parser.add_argument("--repeat", type=int, default=200, help="timed runs per scenario")
    if extra:
        extra(parser)
    return parser.parse_args()


def database_name(args) -> str:
    return f"bench_search_{args.profile.lower()}"


def database_url(args) -> str:
    if args.db == "postgresql":
        return f"postgres://postgres@127.0.0.1:5432/{database_name(args)}"
    return f"sqlite:////tmp/{database_name(args)}.sqlite3"


def setup_django(args) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url(args)
    os.environ["DJANGO_SETTINGS_MODULE"] = "anju.settings.dev"
    os.environ.setdefault("ANJU_DEBUG", "0")  # no query log, no debug pages
    import django

    django.setup()


def setup_own_database(args, name: str) -> None:
    """For a bench with data of its own: the PostgreSQL database `name` (dropped first with
    `--fresh`, created `LOCALE 'C.UTF-8'` from template0 when missing) or the SQLite file
    `/tmp/<name>.sqlite3` (removed with `--fresh`), then Django on it, migrated."""
    sqlite_path = Path(f"/tmp/{name}.sqlite3")  # noqa: S108 (the benches' own scratch file)
    if args.db == "postgresql":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            if args.fresh:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                 [name]).fetchone():
                admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 "
                              "LOCALE 'C.UTF-8' ENCODING 'UTF8'")
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        if args.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{sqlite_path}"
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "anju.settings.dev"
    os.environ.setdefault("ANJU_DEBUG", "0")  # no query log, no debug pages
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def timed(function, arguments_list: list, repeat: int) -> list[float]:
    """Milliseconds per call, one call per argument (cycled), after two warm-up calls."""
    for argument in arguments_list[:2]:
        function(argument)
    samples = []
    for index in range(repeat):
        argument = arguments_list[index % len(arguments_list)]
        start = time.perf_counter()
        function(argument)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, samples: list[float], raw: list[float] | None = None,
           target_ms: float | None = None) -> dict:
    p50, p95 = statistics.median(samples), percentile(samples, 0.95)
    line = f"{name:<34} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms"
    result = {"name": name, "p50": p50, "p95": p95}
    if raw is not None:
        raw_p50, raw_p95 = statistics.median(raw), percentile(raw, 0.95)
        ratio = p50 / raw_p50 if raw_p50 else float("inf")
        line += f"   raw p50 {raw_p50:7.3f} ms  p95 {raw_p95:7.3f} ms  ×{ratio:6.1f} raw"
        result.update(raw_p50=raw_p50, raw_p95=raw_p95, ratio=ratio)
    if target_ms is not None:
        line += f"   target p95 ≤ {target_ms:g} ms {'OK' if p95 <= target_ms else 'MISSED'}"
    print(line, flush=True)
    return result


def machine() -> str:
    def run(command):
        try:
            return subprocess.run(command, capture_output=True, text=True,
                                  check=False).stdout.strip()
        except OSError:
            return "?"

    memory = "?"
    try:
        with open("/proc/meminfo") as meminfo:
            memory = f"{int(meminfo.readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    import sqlite3

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"load average {load}; {os.cpu_count()} CPUs, {memory} RAM, "
            f"{platform.platform()}, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, "
            f"{run(['psql', '--version']) or 'PostgreSQL ?'}")


def client_for(user):
    """A Django test Client signed in as `user`, for the whole HTTP stack in-process."""
    from django.test import Client
    from django.test.utils import setup_test_environment

    with contextlib.suppress(RuntimeError):  # already set up
        setup_test_environment()
    client = Client()
    client.force_login(user)
    return client


def raw_timer(sql: str):
    """A function running `sql` with one parameter tuple and fetching every row."""
    from django.db import connection

    def run(params):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return run
