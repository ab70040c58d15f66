# ruff: noqa: S311, S106, S608  (synthetic data, bench users, psql, /tmp, own SQL)
"""Service tickets at scale: the agent's queue (open tickets in scope, SLA order) through
HTTP, the quality report over a month and a year, and the SLA sweep over 100k open tickets.

    .venv/bin/python bench/bench_service.py --db postgresql [--fresh] [--tickets 1000000]
    .venv/bin/python bench/bench_service.py --db sqlite     [--fresh] [--tickets 200000]

Data (made once per database, `--fresh` remakes them): 1 company, 20 projects × 5 buildings
× 200 units, 20,000 owners, the seeded problem library, N tickets over 24 months (PostgreSQL
COPY, SQLite executemany), 10 % of them open with running SLA clocks, of which 2,000 are due
a warning and 1,000 an escalation when the sweep runs. Databases: PostgreSQL
`bench_service` on 127.0.0.1, SQLite `/tmp/bench_service.sqlite3`.

Targets (issue 7): queue p95 ≤ 80 ms; quality report over a year ≤ 500 ms; SLA sweep over
100k open tickets ≤ 10 s.

Each queue figure is printed with the SQL statements of one page and the load average at the
end of its timed runs (other work on the machine moves the figures). `--queue-only` times
the queue scenarios alone (no quality report, no sweep, which changes escalation levels);
`--explain` prints the plan of the agent's repairs queue (EXPLAIN ANALYZE on PostgreSQL,
EXPLAIN QUERY PLAN on SQLite) for every statement of the page that reads tickets.
`--compare` times the queue's read alone (the selector, no HTTP) against the one-walk read it
replaced (one query over the whole scope), alternating call by call so both see the same
machine load."""

import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

PROJECTS, BUILDINGS, UNITS_PER_BUILDING, CUSTOMERS = 20, 5, 200, 20_000
OPEN_SHARE = 0.10
WARN_DUE, ESCALATE_DUE = 2000, 1000




def organisation():
    from decimal import Decimal

    from anju.accounts.models import Company, Project, Role, User
    from anju.aftersales.tickets.seed import library_seed
    from anju.customers.models import Customer
    from anju.property.models import Building, Unit

    company = Company.objects.filter(code="bench-svc").first()
    if company is None:
        company = Company.objects.create(name="基准物业", code="bench-svc")
        projects = [Project.objects.create(company=company, name=f"花园{i}", code=f"svc-{i}")
                    for i in range(PROJECTS)]
        units = []
        for project in projects:
            for b in range(BUILDINGS):
                building = Building.objects.create(project=project, name=f"{b + 1}号楼",
                                                   code=str(b + 1), floor_count=20,
                                                   units_per_floor=10)
                units += [Unit(building=building, floor=u // 10 + 1, position=u % 10 + 1,
                               number=f"{u // 10 + 1}{u % 10 + 1:02d}",
                               label=f"{b + 1}-{u // 10 + 1}{u % 10 + 1:02d}",
                               built_area=Decimal("98"), list_price=Decimal("1000000"),
                               status="delivered") for u in range(UNITS_PER_BUILDING)]
        Unit.objects.bulk_create(units, batch_size=5000)
        Customer.objects.bulk_create([Customer(company=company, project=projects[i % PROJECTS],
                                               name=f"业主{i}", primary_phone=f"+86136{i:08d}")
                                      for i in range(CUSTOMERS)], batch_size=5000)
        library_seed(company_id=company.pk, project_ids=[p.pk for p in projects])
        agent = User.objects.create_user(username="svc_agent", password="x-bench-2026",
                                         role=Role.objects.get(code="service_agent"))
        agent.projects.set([projects[0]])
        manager = User.objects.create_user(username="svc_manager", password="x-bench-2026",
                                           role=Role.objects.get(code="service_manager"),
                                           scope_level="company")
        manager.companies.set([company])
        User.objects.create_user(username="svc_worker", password="x-bench-2026",
                                 role=Role.objects.get(code="service_agent"))
    return company


def generate(args, company) -> None:
    from django.db import connection
    from django.utils import timezone

    from anju.accounts.models import User
    from anju.aftersales.models import Component, Location, Ticket
    from anju.customers.models import Customer
    from anju.property.models import Unit

    have = Ticket.objects.count()
    if have >= args.tickets:
        return
    started = time.perf_counter()
    rng = random.Random(20261204)
    now = timezone.now()
    units = list(Unit.objects.filter(building__project__company=company)
                 .values_list("id", "building_id", "building__project_id", "number"))
    customers = list(Customer.objects.filter(company=company).values_list("id", flat=True))
    leaves = [(c.pk, c.parent.name, c.name, list(c.categories.values_list("id", "name")))
              for c in Component.objects.filter(company=company, children__isnull=True)
              .select_related("parent")]
    locations = list(Location.objects.filter(company=company).values_list("id", "name"))
    worker = User.objects.get(username="svc_worker").pk
    fields = [f for f in Ticket._meta.concrete_fields if f.name != "id"]
    columns = [f.column for f in fields]
    types = ["repair"] * 70 + ["self_inspection"] * 5 + ["complaint"] * 12 + \
        ["consultation"] * 10 + ["praise"] * 3
    open_statuses = ["received", "tasked", "dispatched", "accepted", "in_progress"]
    batch = 50_000
    for start in range(have, args.tickets, batch):
        rows = []
        for n in range(start, min(start + batch, args.tickets)):
            unit_id, building_id, project_id, number = units[n % len(units)]
            kind = rng.choice(types)
            created = now - dt.timedelta(days=rng.uniform(0, 730))
            is_open = rng.random() < OPEN_SHARE
            leaf = rng.choice(leaves) if kind in ("repair", "self_inspection") else None
            category = rng.choice(leaf[3]) if leaf else None
            location = rng.choice(locations) if leaf else None
            values = {f.name: f.get_default() for f in fields}
            values.update(
                number=f"B{n:010d}", ticket_type=kind, channel="call_centre",
                urgency=rng.choice(["low", "normal", "normal", "high"]),
                project=project_id, customer=customers[n % len(customers)],
                building=building_id, unit=unit_id, location=location[0] if location else None,
                component=leaf[0] if leaf else None, category=category[0] if category else None,
                description="下水管周围渗漏", title=" – ".join(
                    p for p in (f"花园 {number}", location and location[1],
                                leaf and leaf[2], category and category[1], "描述") if p),
                received_by=None, created_at=created, updated_at=created,
                sla_seconds={"response": 7200, "onsite": 57600, "resolve": 144000},
                repeat=rng.random() < 0.08)
            if is_open:
                due = now + dt.timedelta(minutes=rng.uniform(60, 7200))
                values.update(status=rng.choice(open_statuses), next_due=due,
                              next_clock="resolve", warn_at=due - dt.timedelta(hours=2),
                              escalate_at=due, resolve_due=due, assignee_user=worker,
                              responded_at=created)
            else:
                closed = created + dt.timedelta(hours=rng.uniform(2, 240))
                values.update(status="called_back" if rng.random() < 0.7 else "closed",
                              closed_at=closed, resolved_at=closed, responded_at=created,
                              satisfaction=rng.randint(1, 5) if rng.random() < 0.7 else None)
            row = []
            for f in fields:
                value = values.get(f.name, values.get(f.attname))
                if f.get_internal_type() == "JSONField":
                    value = json.dumps(value)
                row.append(value)
            rows.append(row)
        if args.db == "postgresql":
            with connection.cursor() as cursor, cursor.cursor.copy(
                    f"COPY aftersales_ticket ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO aftersales_ticket ({', '.join(columns)}) "
                                   f"VALUES ({placeholders})", rows)
        print(f"  tickets {min(start + batch, args.tickets):>9,} "
              f"({time.perf_counter() - started:6.1f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def mark_sweep_due() -> tuple[int, int]:
    """Makes WARN_DUE open tickets due a warning and ESCALATE_DUE due an escalation."""
    from django.utils import timezone

    from anju.aftersales.models import Ticket

    now = timezone.now()
    open_ids = list(Ticket.objects.filter(next_due__isnull=False).order_by("id")
                    .values_list("id", flat=True)[:WARN_DUE + ESCALATE_DUE])
    Ticket.objects.filter(id__in=open_ids[:WARN_DUE]).update(
        warn_at=now - dt.timedelta(minutes=1), escalate_at=now + dt.timedelta(hours=1),
        escalation_level=0)
    Ticket.objects.filter(id__in=open_ids[WARN_DUE:]).update(
        warn_at=None, escalate_at=now - dt.timedelta(minutes=1), escalation_level=0)
    return len(open_ids[:WARN_DUE]), len(open_ids[WARN_DUE:])


def queue_scenarios(client) -> list[tuple[str, str]]:
    """The queue's URLs: first page, repairs, the second page of repairs (keyset from the
    first), a filter that leaves the page short (no critical repairs in the data: the
    running walk runs dry and the stopped clocks are read), and the API."""
    repairs = "/service/tickets/?type=repair"
    page = client.get(repairs)
    assert page.status_code == 200, page.status_code
    more = page.content.decode().split('class="button secondary" href="?')
    second = (repairs.split("?")[0] + "?" + more[1].split('"')[0].replace("&amp;", "&")
              if len(more) > 1 else repairs)
    return [("queue page", "/service/tickets/"),
            ("queue page, repairs", repairs),
            ("queue page 2, repairs", second),
            ("queue page, critical repairs (none)", repairs + "&urgency=critical"),
            ("queue API", "/api/v1/tickets/queue/"),
            ("queue API, repairs", "/api/v1/tickets/queue/?type=repair")]


def page_statements(client, url) -> tuple[int, list[tuple[str, list]]]:
    """How many SQL statements one page sends, and those that read tickets."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured), [q["sql"] for q in captured.captured_queries
                           if 'FROM "aftersales_ticket"' in q["sql"]]


def explain(args, statements: list[str]) -> None:
    from django.db import connection

    for sql in statements:
        prefix = ("EXPLAIN (ANALYZE, BUFFERS) " if args.db == "postgresql"
                  else "EXPLAIN QUERY PLAN ")
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql)
            plan = "\n".join("    " + " ".join(str(c) for c in row) for row in cursor.fetchall())
        print(f"  plan of: {sql[:160]}…\n{plan}", flush=True)


def compare_reads(agent, repeat: int) -> None:
    """The agent's queue read by parts (`selectors.ticket_queue`) against one query over the
    whole scope (the read before the parts), call by call, for a first page of repairs, the
    page after it and a filter that leaves the page short."""
    import statistics

    from django.db.models import Q

    from anju.aftersales.tickets import selectors

    def one_walk(filters, after, limit):
        rows = selectors._queue_filtered(selectors.ticket_visible_to(agent), filters)
        rows = rows.select_related(*selectors.QUEUE_RELATED)
        running = rows.filter(next_due__isnull=False)
        if after is not None:
            running = running.filter(Q(next_due__gt=after[0]) | Q(next_due=after[0],
                                                                   pk__gt=after[1]))
        found = list(running.order_by("next_due", "id")[:limit])
        if len(found) < limit:
            found += list(rows.filter(next_due__isnull=True).order_by("id")[:limit - len(found)])
        return found

    limit = selectors.QUEUE_PAGE + 1
    repairs = selectors.QueueFilters(ticket_type="repair")
    first = selectors.ticket_queue(viewer=agent, filters=repairs, limit=limit)
    after = (first[-2].next_due, first[-2].pk)
    for name, filters, keys in (
            ("repairs, page 1", repairs, None), ("repairs, page 2", repairs, after),
            ("critical repairs (none)", selectors.QueueFilters(ticket_type="repair",
                                                               urgency="critical"), None)):
        old_ms, new_ms = [], []
        for index in range(repeat + 2):
            timings = []
            for read in (one_walk, lambda f, a, n: selectors.ticket_queue(
                    viewer=agent, filters=f, after=a, limit=n)):
                started = time.perf_counter()
                rows = read(filters, keys, limit)
                timings.append((time.perf_counter() - started) * 1000)
            if index >= 2:
                old_ms.append(timings[0])
                new_ms.append(timings[1])
        assert [t.pk for t in one_walk(filters, keys, limit)] == [t.pk for t in rows]
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"read of the agent's queue, {name}: one walk p50 "
              f"{statistics.median(old_ms):7.2f} ms p95 {common.percentile(old_ms, 0.95):7.2f}"
              f" ms · by parts p50 {statistics.median(new_ms):7.2f} ms p95 "
              f"{common.percentile(new_ms, 0.95):7.2f} ms (same rows; load {load})", flush=True)


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], extra=lambda p: (
        p.add_argument("--fresh", action="store_true"),
        p.add_argument("--queue-only", action="store_true"),
        p.add_argument("--explain", action="store_true"),
        p.add_argument("--compare", action="store_true"),
        p.add_argument("--tickets", type=int, default=None)))
    args.repeat = min(args.repeat, 100)
    if args.tickets is None:
        args.tickets = 1_000_000 if args.db == "postgresql" else 200_000
    common.setup_own_database(args, "bench_service")
    print(common.machine())
    company = organisation()
    generate(args, company)
    from django.db.models import Count

    from anju.accounts.models import User
    from anju.aftersales.models import Ticket, TicketStatMonth
    from anju.aftersales.tickets import sla
    from anju.aftersales.tickets.stats import current_month, ticket_stats_rebuild

    if not TicketStatMonth.objects.exists():
        started = time.perf_counter()
        month = current_month()
        for _ in range(25):
            month = (month - dt.timedelta(days=1)).replace(day=1)
            ticket_stats_rebuild(month=month)
        print(f"monthly statistics of 25 months built in {time.perf_counter() - started:.1f} s"
              " (the nightly task rebuilds three)", flush=True)
    started = time.perf_counter()
    ticket_stats_rebuild(month=(current_month() - dt.timedelta(days=1)).replace(day=1))
    print(f"one month's statistics rebuilt in {time.perf_counter() - started:.2f} s")
    total = Ticket.objects.count()
    open_count = Ticket.objects.filter(next_due__isnull=False).count()
    print(f"tickets {total:,}, open with a running clock {open_count:,}; "
          f"by status: {dict(Ticket.objects.values_list('status').annotate(Count('id')))}")
    agent = User.objects.get(username="svc_agent")
    manager = User.objects.get(username="svc_manager")
    if args.compare:
        compare_reads(agent, args.repeat)
        return
    results = []
    for who, user in (("agent (1 project)", agent), ("manager (company)", manager)):
        client = common.client_for(user)
        for name, url in queue_scenarios(client):
            def get(_arg, url=url, client=client):
                response = client.get(url)
                assert response.status_code == 200, response.status_code

            result = common.report(f"{name} · {who}", common.timed(get, [None], args.repeat),
                                   target_ms=80)
            statements, ticket_sql = page_statements(client, url)
            load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
            print(f"{'':<34} {statements} SQL statements a page; load average {load}",
                  flush=True)
            results.append(result)
            if args.explain and who.startswith("agent") and "type=repair" in url \
                    and "after_id" not in url and "urgency" not in url:
                explain(args, ticket_sql)
    if args.queue_only:
        return
    client = common.client_for(manager)
    today = dt.date.today()
    year_ago = today - dt.timedelta(days=365)

    def quality_year(_arg):
        response = client.get(f"/api/v1/service-quality/?start={year_ago}&end={today}")
        assert response.status_code == 200

    this_month = today.replace(day=1)
    twelve_back = this_month.replace(year=this_month.year - 1)

    def quality_whole_months(_arg):
        response = client.get(f"/api/v1/service-quality/?start={twelve_back}&end={this_month}")
        assert response.status_code == 200

    def quality_month(_arg):
        assert client.get(f"/service/quality/?month={today:%Y-%m}").status_code == 200

    results.append(common.report("quality report, a year (API)",
                                 common.timed(quality_year, [None], max(5, args.repeat // 10)),
                                 target_ms=500))
    results.append(common.report("quality report, 12 whole months",
                                 common.timed(quality_whole_months, [None],
                                              max(5, args.repeat // 10)), target_ms=500))
    results.append(common.report("quality page, a month",
                                 common.timed(quality_month, [None], max(5, args.repeat // 10)),
                                 target_ms=500))
    timings = []
    for _ in range(3):
        warn, escalate = mark_sweep_due()
        started = time.perf_counter()
        outcome = sla.sweep()
        timings.append(time.perf_counter() - started)
        print(f"SLA sweep over {open_count:,} open tickets ({warn} due a warning, {escalate} "
              f"an escalation): {timings[-1]:.2f} s → {outcome}   target ≤ 10 s "
              f"{'OK' if timings[-1] <= 10 else 'MISSED'}", flush=True)
    started = time.perf_counter()
    outcome = sla.sweep()
    print(f"SLA sweep with nothing due: {(time.perf_counter() - started) * 1000:.1f} ms "
          f"→ {outcome}")


if __name__ == "__main__":
    main()
