# ruff: noqa: S311, S106  (synthetic data and a throwaway bench user)
"""Import bench: CSV and xlsx rows/s with full validation, normalisation and dedup, into an
empty ledger and into one holding --existing customers; peak memory for two file sizes; the
raw insert rate of the same database for comparison.

    .venv/bin/python bench/bench_import.py --db sqlite --rows 100000 --existing 100000
    .venv/bin/python bench/bench_import.py --db postgresql --rows 100000 --existing 1000000 \
        --big 400000

Databases: SQLite /tmp/$BENCH_IMPORT_DB.sqlite3, PostgreSQL $BENCH_IMPORT_DB (default
`bench_import`) on 127.0.0.1 (created and migrated here). The seeded ledger is kept between
runs (what an import adds is deleted afterwards). Every import runs in a child process, so its
peak RSS is its own (the reading process's is printed apart); BENCH_IMPORT_PROFILE=file
writes a cProfile of the writer."""

import argparse
import datetime
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.gettempdir()) / "bench_import"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉梅建国志红辉晓东海燕雪琳"
    "婷欣怡浩宇子轩梓涵一诺依诺欣妍雨泽思远佳豪俊杰文博"
)
CHANNELS = ["来访", "抖音", "朋友介绍", "中介", "电话", "小程序", "老带新", "户外广告"]
JOBS = ["教师", "医生", "工程师", "公务员", "个体户", "销售", "会计", ""]
HEADERS = ["姓名", "手机号", "身份证号", "性别", "生日", "来源渠道", "意向项目", "预算(万元)",
           "面积", "职业", "地址", "备注"]


DBNAME = os.environ.get("BENCH_IMPORT_DB", "bench_import")


def database_url(db: str) -> str:
    if db == "sqlite":
        return f"sqlite:////tmp/{DBNAME}.sqlite3"
    return f"postgres://postgres@127.0.0.1:5432/{DBNAME}"


def django_setup(db: str) -> None:
    os.environ["DATABASE_URL"] = database_url(db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings.dev")
    os.environ["ANJU_DEBUG"] = "0"  # no query log
    os.environ["ANJU_MEDIA_ROOT"] = str(WORK)
    import django

    django.setup()


# --- data ------------------------------------------------------------------------------------
def id_number(rng: random.Random) -> str:
    from stdnum.cn import ric

    birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 20000))
    body = f"{rng.choice(['110101', '320102', '440305', '330106'])}{birth:%Y%m%d}" \
           f"{rng.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body + "0")


def person(rng: random.Random, index: int) -> list:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    digits = f"13{rng.choice('5789')}{index:08d}"
    phone = rng.choice([digits, f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
                        f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}", digits])
    id_no = id_number(rng) if rng.random() < 0.3 else ""
    return [name, phone, id_no, rng.choice(["男", "女", ""]),
            "" if id_no else rng.choice(["", f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1"
                                         f"{rng.randint(0, 9)}"]),
            rng.choice(CHANNELS), rng.choice(["", "四季花城", "滨江壹号"]),
            rng.choice(["", "200", "150-250", "300万"]), rng.choice(["", "90", "90-120"]),
            rng.choice(JOBS), "", ""]


def rows(n: int, existing: int, seed: int = 7):
    """n data rows: ~2% bad, ~3% repeats of an earlier row written another way, ~5% people
    already in the ledger (when there are any)."""
    rng = random.Random(seed)
    recent: list[list] = []
    for index in range(n):
        roll = rng.random()
        if roll < 0.02:
            yield [rng.choice(SURNAMES) + "某", rng.choice(["1380013", "138abc38000", "12"]),
                   "", "", "", "", "", "", "", "", "", ""]
        elif roll < 0.05 and recent:
            again = list(rng.choice(recent))
            digits = "".join(ch for ch in again[1] if ch.isdigit())[-11:]
            again[1] = f"{digits[:3]} {digits[3:7]} {digits[7:]}"
            yield again
        elif roll < 0.10 and existing:
            yield [rng.choice(SURNAMES) + "老客", f"186{rng.randrange(existing):08d}", "", "",
                   "", "", "", "", "", "", "", ""]
        else:
            row = person(rng, index)
            if len(recent) < 1000:
                recent.append(row)
            elif rng.random() < 0.01:
                recent[rng.randrange(1000)] = row
            yield row


def write_csv(path: Path, n: int, existing: int) -> None:
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADERS)
        writer.writerows(rows(n, existing))


def write_xlsx(path: Path, n: int, existing: int) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, HEADERS)
    for index, row in enumerate(rows(n, existing), start=1):
        sheet.write_row(index, 0, row)
    workbook.close()


# --- database ---------------------------------------------------------------------------------
def prepare(db: str) -> None:
    if db == "postgresql":
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                             autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", [DBNAME]
                                ).fetchone():
                conn.execute(f"CREATE DATABASE {DBNAME}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True,
                   env={**os.environ, "DATABASE_URL": database_url(db)})


TABLES = ["customers_customersearchterm", "customers_customerphone", "customers_customerneed",
          "customers_customer_interested_projects", "customers_importrejectedrow",
          "customers_importjob", "customers_customer"]
EXISTING_PHONE = "+86186"


def reset(existing: int) -> None:
    """A ledger holding exactly `existing` seeded customers (phones +86186…, their search
    terms): seeded once and kept between runs; what an import added is deleted, so the next
    import meets the same ledger."""
    from django.db import connection

    from anju.customers.models import Customer

    seeded = Customer.objects.filter(primary_phone__startswith=EXISTING_PHONE)
    count = seeded.count()
    if count != existing:
        _truncate()
        if existing:
            _seed(existing)
    else:
        watermark = seeded.order_by("-id").values_list("id", flat=True).first() or 0
        with connection.cursor() as cursor:
            for table in TABLES[:4]:
                cursor.execute(f"DELETE FROM {table} WHERE customer_id > %s",  # noqa: S608
                               [watermark])
            cursor.execute("DELETE FROM customers_importrejectedrow")
            cursor.execute("DELETE FROM customers_importjob")
            cursor.execute("DELETE FROM customers_customer WHERE id > %s", [watermark])
    _org()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")


def _truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        else:
            for table in TABLES:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608


def _seed(existing: int) -> None:
    """`existing` customers with one phone each and the search terms the services would
    write, by the import's own bulk inserts (COPY on PostgreSQL)."""
    import functools

    from django.db import transaction

    from anju.customers.importing.pipeline import CUSTOMER_FIELDS, RawInsert
    from anju.customers.indexing import search_terms_for
    from anju.customers.models import Customer, CustomerPhone, CustomerSearchTerm

    org = _org()
    terms_for = functools.cache(search_terms_for)
    customers = RawInsert(Customer, CUSTOMER_FIELDS, prepared=("id_number",))
    phones = RawInsert(CustomerPhone, ("customer_id", "e164", "last4", "is_primary"))
    terms = RawInsert(CustomerSearchTerm, ("customer_id", "kind", "term", "owner_id"))
    rng = random.Random(1)
    started = time.perf_counter()
    batch = 20_000
    for start in range(0, existing, batch):
        count = min(batch, existing - start)
        names = [rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
                 for _ in range(count)]
        numbers = [f"{EXISTING_PHONE}{start + i:08d}" for i in range(count)]
        with transaction.atomic():
            ids = customers.insert_returning_ids([
                (org["company"], org["project"], org["user"], name, "", None, "", "", phone,
                 "", "", "") for name, phone in zip(names, numbers, strict=True)])
            phones.insert([(pk, phone, phone[-4:], True)
                           for pk, phone in zip(ids, numbers, strict=True)])
            terms.insert([(pk, kind, term, org["user"])
                          for pk, name in zip(ids, names, strict=True)
                          for kind, term in terms_for(name)])
        if (start + count) % 200_000 == 0 or start + count == existing:
            print(f"  seeded {start + count:,} existing customers "
                  f"({time.perf_counter() - started:.0f}s)", flush=True)


def _org() -> dict:
    from anju.accounts.models import Company, Project, Role, User

    company, _c = Company.objects.get_or_create(code="bench", defaults={"name": "基准置业"})
    project, _p = Project.objects.get_or_create(code="bench-a", defaults={
        "company": company, "name": "四季花城"})
    Project.objects.get_or_create(code="bench-b", defaults={"company": company,
                                                            "name": "滨江壹号"})
    user = User.objects.filter(username="bench-importer").first() or \
        User.objects.create_user(username="bench-importer", password="bench-pass-2026",
                                 role=Role.objects.filter(code="sales_manager").first())
    return {"company": company.pk, "project": project.pk, "user": user.pk}


# --- one import, in a child process --------------------------------------------------------------
def child(db: str, path: str, file_format: str) -> None:
    django_setup(db)
    from django.db import connection

    from anju.customers.importing.mapping import auto_mapping
    from anju.customers.importing.pipeline import import_job_process
    from anju.customers.importing.reading import iter_rows
    from anju.customers.models import ImportJob

    org = _org()
    with open(path, "rb") as file:
        header = [str(value) for value in next(iter_rows(file, file_format))]
    columns, _unknown = auto_mapping(header)
    job = ImportJob.objects.create(
        user_id=org["user"], company_id=org["company"], project_id=org["project"],
        file=os.path.relpath(path, WORK), original_name=os.path.basename(path),
        file_sha256="-", file_format=file_format, state=ImportJob.State.QUEUED,
        mapping={"columns": columns, "headers": header, "language": "zh-hans",
                 "owner": org["user"]})
    profile_to = os.environ.get("BENCH_IMPORT_PROFILE")
    start = time.perf_counter()
    if profile_to:
        import cProfile

        with cProfile.Profile() as profiler:
            job = import_job_process(job_id=job.pk)
        profiler.dump_stats(profile_to)
    else:
        job = import_job_process(job_id=job.pk)
    seconds = time.perf_counter() - start
    connection.close()
    print(json.dumps({
        "rows": job.processed_rows, "seconds": seconds, "created": job.created_count,
        "duplicates": job.duplicate_count, "rejected": job.rejected_count,
        "state": job.state, "maxrss_mb": _peak_rss_mb(), "reader_maxrss_mb":
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "cpu_writer": _cpu(resource.RUSAGE_SELF), "cpu_reader": _cpu(resource.RUSAGE_CHILDREN)}))


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited across exec from the
    bench process that seeded the ledger)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu(who) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_child(db: str, path: Path, file_format: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--db", db, "--child", str(path),
                          "--format", file_format], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def raw_insert_rate(n: int) -> float:
    """Customers rows/s by the fastest plain path of this database (COPY / executemany),
    without validation: the ceiling the import is compared with."""
    from django.db import connection, transaction
    from django.utils import timezone

    from anju.customers.importing.pipeline import CUSTOMER_FIELDS, RawInsert
    from anju.customers.models import Customer

    org = _org()
    insert = RawInsert(Customer, CUSTOMER_FIELDS)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [insert._row((org["company"], org["project"], org["user"], f"客户{i}", "", None, "",
                         "", f"+86187{i:08d}", "", "", ""), now) for i in range(n)]
    columns = ", ".join(field.column for field in insert.fields)
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY customers_customer ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ",".join(["%s"] * len(rows[0]))
            cursor.executemany(
                f"INSERT INTO customers_customer ({columns}) VALUES ({marks})",  # noqa: S608
                rows)
        seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    return n / seconds


def raw_ledger_rate(n: int) -> float:
    """People/s when writing, by the fastest plain path (COPY / executemany) and with rows
    built beforehand, exactly the database rows an import writes per person: the customer,
    its phone, its search terms (~9), a need for most. Foreign keys are checked as at commit
    (SET CONSTRAINTS ALL IMMEDIATE), then everything is rolled back. This, not the customers
    table alone, is the ceiling of an import on this database and machine."""
    import functools

    from django.db import connection, transaction
    from django.utils import timezone

    from anju.customers.importing.pipeline import CUSTOMER_FIELDS, RawInsert
    from anju.customers.indexing import search_terms_for
    from anju.customers.models import Customer, CustomerNeed, CustomerPhone, CustomerSearchTerm

    org = _org()
    rng = random.Random(5)
    terms_for = functools.cache(search_terms_for)
    postgresql = connection.vendor == "postgresql"
    now = timezone.now() if postgresql else connection.ops.adapt_datetimefield_value(
        timezone.now())
    customers = RawInsert(Customer, CUSTOMER_FIELDS, prepared=("id_number",))
    phones = RawInsert(CustomerPhone, ("customer_id", "e164", "last4", "is_primary"))
    terms = RawInsert(CustomerSearchTerm, ("customer_id", "kind", "term", "owner_id"))
    needs = RawInsert(CustomerNeed, ("customer_id", "budget_min_wan", "budget_max_wan",
                                     "area_min", "area_max", "notes"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM customers_customer")
        first = cursor.fetchone()[0] + 1_000_000
    tables = {insert: [] for insert in (customers, phones, terms, needs)}
    for pk in range(first, first + n):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
        phone = f"+86187{pk % 100_000_000:08d}"
        tables[customers].append((pk, *customers._row((
            org["company"], org["project"], org["user"], name, "", None, "", "", phone, "", "",
            ""), now)))
        tables[phones].append(phones._row((pk, phone, phone[-4:], True), now))
        tables[terms].extend(terms._row((pk, kind, term, org["user"]), now)
                             for kind, term in terms_for(name))
        if rng.random() < 0.8:
            tables[needs].append(needs._row((pk, None, None, None, None, ""), now))
    start = time.perf_counter()
    split = {}
    with transaction.atomic(), connection.cursor() as cursor:
        if postgresql:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for insert, rows in tables.items():
            split[insert.table] = (time.perf_counter(), len(rows))
            columns = insert.columns
            if insert is customers:
                columns = f"id, {columns}"
            if postgresql:
                with cursor.cursor.copy(f"COPY {insert.table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ",".join(["%s"] * len(rows[0]))
                cursor.executemany(
                    f"INSERT INTO {insert.table} ({columns}) VALUES ({marks})",  # noqa: S608
                    rows)
        seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    if os.environ.get("BENCH_IMPORT_SPLIT"):
        marks = [*(at for at, _count in split.values()), start + seconds]
        for (table, (at, count)), end in zip(split.items(), marks[1:], strict=True):
            print(f"    {table}: {count:,} rows in {end - at:.2f}s "
                  f"({(end - at) / count * 1e6:.0f} µs/row)")
    return n / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=0,
                        help="also import a csv of this many rows into an empty ledger "
                             "(peak memory for a second, larger file)")
    parser.add_argument("--skip-xlsx", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--format", default="csv")
    args = parser.parse_args()
    if args.child:
        child(args.db, args.child, args.format)
        return
    WORK.mkdir(exist_ok=True)
    prepare(args.db)
    django_setup(args.db)
    n, m = args.rows, args.existing
    small = max(n // 4, 1000)
    wanted = [("csv-small", small, "csv", write_csv), ("csv", n, "csv", write_csv)]
    if args.big:
        wanted.append(("csv-big", args.big, "csv", write_csv))
    if not args.skip_xlsx:
        wanted.append(("xlsx", n, "xlsx", write_xlsx))
    files = {}
    for label, count, fmt, writer in wanted:
        path = WORK / f"people-{count}-{m}.{fmt}"
        if not path.exists():
            started = time.perf_counter()
            writer(path, count, m)
            print(f"  wrote {path.name} ({path.stat().st_size / 1e6:.1f} MB) in "
                  f"{time.perf_counter() - started:.0f}s", flush=True)
        files[label] = (path, fmt)

    raws: dict[int, float] = {}
    ledgers: dict[int, float] = {}

    def measure(label: str, existing: int) -> dict:
        reset(existing)
        if existing not in raws:
            raws[existing] = raw_insert_rate(min(n, 100_000))
            ledgers[existing] = raw_ledger_rate(min(n, 50_000))
        path, fmt = files[label]
        result = run_child(args.db, path, fmt)
        result["rate"] = result["rows"] / result["seconds"]
        result["raw"] = raws[existing]
        result["ledger"] = ledgers[existing]
        print(f"  {label} ({existing:,} existing): {result['rate']:,.0f} rows/s", flush=True)
        return result

    print(f"import bench on {args.db}: {n:,} rows, {m:,} existing customers", flush=True)
    # empty ledgers first: the seeded ledger is kept for the next run
    results = {f"csv ({small:,} rows) into an empty ledger": measure("csv-small", 0),
               f"csv ({n:,} rows) into an empty ledger": measure("csv", 0)}
    if args.big:
        results[f"csv ({args.big:,} rows) into an empty ledger"] = measure("csv-big", 0)
    results[f"csv ({n:,} rows) with {m:,} existing"] = measure("csv", m)
    if not args.skip_xlsx:
        results[f"xlsx ({n:,} rows) with {m:,} existing"] = measure("xlsx", m)
    kind = "COPY" if args.db == "postgresql" else "executemany"
    print(f"\nraw customer rows/s ({kind} of the customers table alone, no validation, no "
          f"phones or search terms): " + ", ".join(
              f"{rate:,.0f} with {existing:,} existing" for existing, rate in raws.items()))
    print(f"raw ledger people/s ({kind} of every row an import writes per person, built "
          f"beforehand, foreign keys checked, no validation): " + ", ".join(
              f"{rate:,.0f} with {existing:,} existing" for existing, rate in ledgers.items()))
    for label, result in results.items():
        print(f"{label:45} {result['rate']:>7,.0f} rows/s ({result['rate'] / result['raw']:.2f}"
              f"× raw customers, {result['rate'] / result['ledger']:.2f}× raw ledger)  "
              f"{result['seconds']:.1f}s  created {result['created']:,}  dup "
              f"{result['duplicates']:,}  rejected {result['rejected']:,}  peak RSS writer "
              f"{result['maxrss_mb']:.0f} MB, reader {result['reader_maxrss_mb']:.0f} MB  "
              f"CPU writer {result['cpu_writer']:.1f}s, reader {result['cpu_reader']:.1f}s")
    empty = results[f"csv ({n:,} rows) into an empty ledger"]["rate"]
    full = results[f"csv ({n:,} rows) with {m:,} existing"]["rate"]
    print(f"\nratio csv rate with {m:,} existing / empty: {full / empty:.2f} (target ≥ 0.8)")
    print("targets at 1M existing: csv ≥ 10,000 rows/s, xlsx ≥ 8,000 rows/s")


if __name__ == "__main__":
    main()
