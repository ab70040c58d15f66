"""Lead capture through the API, sustained: `POST /api/v1/lead-capture/` with a source key and
an Idempotency-Key, whole Django + DRF stack in-process (test Client), each request doing the
real work: normalise the phone, check the open leads and the ledger (1 in 10 phones belongs to
a customer already there: an interaction is logged on their record), grade, assign round robin
over today's roster, write the lead and its events, notify the consultant.

    .venv/bin/python bench/bench_leads.py --db postgresql --profile M [--leads 3000] [--workers 4]

Data: the ledger of `bench/datagen.py` (`bench_search_<profile>`; profile M = 1M customers),
reused as it is; the leads tables are migrated into it on first run (`migrate leads`), and
each run removes the previous run's bench leads. Workers are processes started together;
throughput = leads / wall time from the first request to the last. Beside it, the raw ceiling:
a single-row INSERT of a lead row, autocommit, measured in the same run.
Targets (issue 6): ≥ 300 leads/s sustained, p95 ≤ 50 ms."""

import multiprocessing as mp
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

TARGET_RATE, TARGET_P95 = 300, 50.0


def extra(parser) -> None:
    parser.add_argument("--leads", type=int, default=3000, help="captures in all")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--known-share", type=float, default=0.1,
                        help="share of phones already in the ledger")


def prepare(args) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from anju.accounts.models import Project, User
    from anju.customers.models import CustomerPhone
    from anju.leads import services
    from anju.leads.models import Channel, Lead, LeadSource

    call_command("migrate", "leads", verbosity=0)
    project = Project.objects.get(code="p0")
    manager = User.objects.get(username="bench_manager")
    channel, _ = Channel.objects.get_or_create(code="bench-web", defaults={
        "name": "基准广告", "kind": Channel.Kind.ONLINE_AD})
    old = LeadSource.objects.filter(name="bench")
    Lead.objects.filter(source__in=old).delete()
    old.delete()
    source, key = services.lead_source_create(actor=manager, name="bench", channel=channel,
                                              project=project)
    consultants = list(User.objects.filter(projects=project, role__code="sales_consultant")
                       .order_by("id"))
    services.roster_set(actor=manager, project=project, date=services.today_local(),
                        consultants=consultants, absent=consultants[-1:])
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM customers_customerphone")
        top = cursor.fetchone()[0] or 0
    rng = random.Random(6)  # noqa: S311 (bench data)
    known = list(CustomerPhone.objects.filter(
        id__in=[rng.randint(1, top) for _ in range(int(args.leads * args.known_share) * 2)])
        .values_list("e164", flat=True)) if top else []
    run = rng.randint(100, 999)
    phones = []
    for index in range(args.leads):
        if known and rng.random() < args.known_share:
            phones.append(known.pop())
        else:
            phones.append(f"+86199{run}{index:05d}")
    return {"key": key, "phones": phones, "project_id": project.pk, "source_id": source.pk,
            "consultants": len(consultants)}


def worker(args, key: str, phones: list[str], offset: int, start, out) -> None:
    try:
        _worker(args, key, phones, offset, start, out)
    except BaseException as exc:  # reported to the main process, which stops
        import traceback

        out.put(("error", type(exc).__name__, traceback.format_exc()[-1500:]))


def _worker(args, key: str, phones: list[str], offset: int, start, out) -> None:
    common.setup_django(args)
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    client = Client()
    rng = random.Random(offset)  # noqa: S311 (bench data)
    bodies = [{"name": "张" + "伟芳娜敏静强"[i % 6], "phone": phone,
               "budget_wan": rng.choice(["", "150", "300", "600"]),
               "timing": rng.choice(["", "1m", "3m", "later"]),
               "unit_type": rng.choice(["", "三房"])} for i, phone in enumerate(phones)]
    # warm up the process (imports, connection) on a throw-away phone
    client.post("/api/v1/lead-capture/", {"name": "预热", "phone": f"+8619800{offset:06d}"},
                content_type="application/json", HTTP_X_LEAD_SOURCE_KEY=key)
    start.wait()
    samples = []
    began = time.perf_counter()
    for index, body in enumerate(bodies):
        t0 = time.perf_counter()
        response = client.post("/api/v1/lead-capture/", body, content_type="application/json",
                               HTTP_X_LEAD_SOURCE_KEY=key,
                               HTTP_IDEMPOTENCY_KEY=f"bench-{offset}-{index}")
        samples.append((time.perf_counter() - t0) * 1000)
        if response.status_code not in (200, 201):
            out.put(("error", response.status_code, response.content[:300]))
            return
    out.put(("ok", began, time.perf_counter(), samples))


def raw_inserts(count: int, project_id: int, source_id: int) -> list[float]:
    from django.db import connection
    from django.utils import timezone

    sql = ("INSERT INTO leads_lead (project_id, source_id, method, name, phone, status, "
           "invalid_reason, lost_reason, grade, grade_reason, grade_points, grade_override, "
           "grade_override_reason, visits, known_customer, timing, unit_type, notes, "
           "created_at, idempotency_key, request_hash) VALUES (%s, %s, 'api', '张伟', %s, "
           "'new', '', '', 'C', '', 0, '', '', 0, %s, '', '', '', %s, '', '')")
    samples = []
    false = False
    for index in range(count):
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, [project_id, source_id, f"+86197{index:08d}", false,
                                 timezone.now()])
        samples.append((time.perf_counter() - t0) * 1000)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM leads_lead WHERE phone LIKE '+86197%%' AND source_id = %s",
                       [source_id])
    return samples


def main() -> None:
    args = common.arguments(__doc__, extra)
    common.setup_django(args)
    from anju.customers.models import Customer

    data = prepare(args)
    total_customers = Customer.objects.count()
    print(f"\nLead capture bench · {args.db} · profile {args.profile} · "
          f"{total_customers:,} customers · {args.leads} leads · {args.workers} workers · "
          f"{data['consultants']} consultants on the roster\n{common.machine()}", flush=True)
    from django.db import connections

    connections.close_all()
    context = mp.get_context("spawn")
    start = context.Event()
    out = context.Queue()
    share = [data["phones"][i::args.workers] for i in range(args.workers)]
    processes = [context.Process(target=worker, args=(args, data["key"], share[i], i, start,
                                                      out)) for i in range(args.workers)]
    for process in processes:
        process.start()
    time.sleep(8)  # every worker set up and warmed
    start.set()
    results = [out.get(timeout=1800) for _ in processes]
    for process in processes:
        process.join()
    errors = [r for r in results if r[0] != "ok"]
    if errors:
        print("errors:", errors)
        sys.exit(1)
    began = min(r[1] for r in results)
    ended = max(r[2] for r in results)
    samples = [s for r in results for s in r[3]]
    rate = len(samples) / (ended - began)
    raw = raw_inserts(500, data["project_id"], data["source_id"])
    p50, p95 = statistics.median(samples), common.percentile(samples, 0.95)
    raw_p50 = statistics.median(raw)
    raw_rate = 1000 / statistics.mean(raw)
    print(f"capture via API      {rate:8.1f} leads/s sustained   p50 {p50:6.2f} ms  "
          f"p95 {p95:6.2f} ms   target ≥ {TARGET_RATE}/s "
          f"{'OK' if rate >= TARGET_RATE else 'MISSED'}, p95 ≤ {TARGET_P95:g} ms "
          f"{'OK' if p95 <= TARGET_P95 else 'MISSED'}")
    print(f"raw INSERT (1 conn)  {raw_rate:8.1f} rows/s              p50 {raw_p50:6.2f} ms  "
          f"p95 {common.percentile(raw, 0.95):6.2f} ms   capture p50 = ×{p50 / raw_p50:.1f} "
          f"raw; one capture connection does {rate / args.workers / raw_rate:.2f}× the raw "
          f"row rate")
    from anju.leads.models import Lead

    made = Lead.objects.filter(source_id=data["source_id"])
    known = made.filter(known_customer=True).count()
    print(f"leads written {made.count()}, known customers {known}, "
          f"assigned {made.filter(assigned_to__isnull=False).count()}")


if __name__ == "__main__":
    main()
