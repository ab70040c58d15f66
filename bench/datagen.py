# ruff: noqa: S311, S608, S108  (seeded synthetic data; SQL from fixed table names)
"""Generates a synthetic ledger for the benches, fast.

    .venv/bin/python bench/datagen.py --db postgresql --profile S [--fresh]

Profile S: 100k customers (1M interactions); M: 1M customers (10M interactions). Customers
get realistic zh_CN names (fixed lists of surnames, polyphonic ones included, and given-name
characters), one mobile each (a second for one in five), search terms built by
`anju.customers.indexing.search_terms_for` (the same code the services use), and ten
interactions each; customer 1 has 200 interactions (the 360° bench). Rows go in by COPY on
PostgreSQL (psycopg `cursor.copy`) and by executemany in one transaction on SQLite, into the
migrated, indexed tables. The rate per table is printed."""

import datetime
import functools
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SURNAMES = [*("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于"
               "蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江"
               "尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单查"), "欧阳", "司马", "诸葛"]
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌飞宇浩"
             "然子涵梓轩一诺欣怡思远佳琪嘉乐长重行晨阳雨婷雪梅海波东林峰俊凯颖慧琳蕾晓燕"
             "春光荣德福寿家庆宏宁安康泽睿博瑞轩晗昊天佩珊丹青松柏云龙凤翔鑫磊淑贞")
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                   "152", "157", "158", "159", "177", "180", "181", "182", "186", "187", "188",
                   "189", "199"]
STAGES = ["potential"] * 5 + ["prospect"] * 3 + ["buyer", "owner", "member", "lost"]
TIERS = ["potential"] * 4 + ["ordinary"] * 4 + ["key", "vip"]
CHANNELS = ["自然到访", "线上广告", "老带新", "渠道分销", "电话咨询", "展会"]
KINDS = ["call", "visit", "revisit", "wechat", "sms", "meeting", "email", "event"]
CHUNK = 50_000


def mobile(index: int) -> str:
    """A unique mainland mobile (E.164) for each index: a bijection on the 8 last digits."""
    prefix = MOBILE_PREFIXES[index % len(MOBILE_PREFIXES)]
    suffix = (index // len(MOBILE_PREFIXES)) * 2_654_435_761 % 100_000_000
    return f"+86{prefix}{suffix:08d}"


@functools.cache
def terms_for(name: str):
    from anju.customers.indexing import search_terms_for

    return search_terms_for(name)


def random_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def ensure_database(args) -> None:
    if args.db == "postgresql":
        import psycopg

        with psycopg.connect(common.PG_ADMIN_URL, autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                   [common.database_name(args)]).fetchone()
            if exists and args.fresh:
                admin.execute(f'DROP DATABASE "{common.database_name(args)}" WITH (FORCE)')
                exists = None
            if not exists:
                admin.execute(f'CREATE DATABASE "{common.database_name(args)}" '
                              "TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'")
    else:
        path = Path(f"/tmp/{common.database_name(args)}.sqlite3")
        if args.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)


def organisation():
    from anju.accounts.models import Company, Project, Role, User

    company, _ = Company.objects.get_or_create(code="bench", defaults={"name": "基准置业"})
    projects = [Project.objects.get_or_create(
        company=company, code=f"p{index}", defaults={"name": f"基准{index}期", "city": "杭州"})[0]
        for index in range(5)]
    role = {code: Role.objects.get(code=code)
            for code in ("sales_consultant", "sales_manager", "admin")}
    consultants = []
    for index in range(50):
        user, created = User.objects.get_or_create(
            username=f"bench_consultant{index}",
            defaults={"role": role["sales_consultant"], "display_name": f"顾问{index}"})
        if created:
            user.projects.set([projects[index % len(projects)]])
        consultants.append(user)
    manager, created = User.objects.get_or_create(
        username="bench_manager", defaults={"role": role["sales_manager"]})
    if created:
        manager.projects.set(projects)
    User.objects.get_or_create(username="bench_admin", defaults={"role": role["admin"]})
    return company, projects, consultants


class Writer:
    """COPY on PostgreSQL, executemany on SQLite; values as each driver takes them."""

    def __init__(self, connection):
        self.connection = connection
        self.postgres = connection.vendor == "postgresql"

    def value(self, value):
        if self.postgres:
            return value
        if isinstance(value, datetime.datetime):
            return value.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(" ")
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, bool):
            return int(value)
        return value

    def write(self, table: str, columns: list[str], rows) -> int:
        count = 0
        started = time.perf_counter()
        cursor = self.connection.cursor()
        if self.postgres:
            with cursor.cursor.copy(
                    f'COPY {table} ({", ".join(columns)}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            sql = (f'INSERT INTO {table} ({", ".join(columns)}) '
                   f'VALUES ({", ".join(["%s"] * len(columns))})')
            chunk = []
            for row in rows:
                chunk.append([self.value(value) for value in row])
                if len(chunk) >= CHUNK:
                    cursor.executemany(sql, chunk)
                    count += len(chunk)
                    chunk = []
            if chunk:
                cursor.executemany(sql, chunk)
                count += len(chunk)
        seconds = time.perf_counter() - started
        print(f"  {table:<32} {count:>10,} rows in {seconds:7.1f} s = "
              f"{count / seconds if seconds else 0:>9,.0f} rows/s", flush=True)
        return count


def generate(args) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from anju.customers.models import Customer

    print(f"migrating {common.database_url(args)} …", flush=True)
    call_command("migrate", verbosity=0)
    company, projects, consultants = organisation()
    if Customer.objects.exists():
        print("the ledger already has customers: nothing generated (use --fresh)")
        return
    size = common.PROFILES[args.profile]["customers"]
    per_customer = common.PROFILES[args.profile]["interactions_per_customer"]
    rng = random.Random(20260601)
    now = datetime.datetime.now(datetime.UTC)
    print(f"generating {size:,} customers …", flush=True)
    # One pass decides every customer; the tables are then written from these lists.
    names = [random_name(rng) for _ in range(size)]
    owners = [rng.randrange(len(consultants)) for _ in range(size)]
    writer = Writer(connection)
    started = time.perf_counter()
    with transaction.atomic():
        def customers():
            row_rng = random.Random(1)
            for index in range(size):
                consultant = consultants[owners[index]]
                project = projects[owners[index] % len(projects)]
                last = (now - datetime.timedelta(minutes=row_rng.randrange(525_600))
                        if row_rng.random() < 0.8 else None)
                yield (index + 1, now, now, 1, company.pk, project.pk, consultant.pk,
                       names[index], row_rng.choice(("male", "female", "")), None, "", "",
                       mobile(index), "", "", "", row_rng.choice(CHANNELS),
                       row_rng.choice(STAGES), row_rng.choice(TIERS), "", "", "", None, None,
                       0, row_rng.random() < 0.4, last, None)

        writer.write("customers_customer", [
            "id", "created_at", "updated_at", "version", "company_id", "project_id",
            "owner_id", "name", "gender", "birthday", "id_number", "id_number_hash",
            "primary_phone", "occupation", "income_band", "address", "source_channel",
            "stage", "tier", "tier_reason", "tier_override", "tier_override_reason",
            "tier_override_by_id", "tier_override_at", "lifetime_value_wan",
            "marketing_consent", "last_contact_at", "merged_into_id"], customers())

        def phones():
            phone_id = 0
            for index in range(size):
                numbers = [mobile(index)]
                if index % 5 == 0:
                    numbers.append(mobile(size + index))
                for position, e164 in enumerate(numbers):
                    phone_id += 1
                    yield (phone_id, now, now, index + 1, e164, e164[-4:],
                           "" if position == 0 else "备用", position == 0)

        writer.write("customers_customerphone", [
            "id", "created_at", "updated_at", "customer_id", "e164", "last4", "label",
            "is_primary"], phones())

        def terms():
            term_id = 0
            for index in range(size):
                owner_id = consultants[owners[index]].pk
                for kind, term in terms_for(names[index]):
                    term_id += 1
                    yield (term_id, index + 1, kind, term, owner_id)

        writer.write("customers_customersearchterm",
                     ["id", "customer_id", "kind", "term", "owner_id"], terms())

        def interactions():
            row_rng = random.Random(2)
            interaction_id = 0
            for index in range(size):
                consultant = consultants[owners[index]]
                project = projects[owners[index] % len(projects)]
                count = common.THE_360_CUSTOMER_INTERACTIONS if index == 0 else per_customer
                for _ in range(count):
                    interaction_id += 1
                    when = now - datetime.timedelta(minutes=row_rng.randrange(1_051_200))
                    follow_up = (when + datetime.timedelta(days=row_rng.randrange(1, 15))
                                 if row_rng.random() < 0.3 else None)
                    yield (interaction_id, index + 1, project.pk, consultant.pk,
                           row_rng.choice(KINDS), when, "有意向" if row_rng.random() < .3 else "",
                           "客户关注户型和价格，约下周再来。", follow_up,
                           follow_up if follow_up and follow_up < now else None, None, None,
                           when)

        writer.write("customers_interaction", [
            "id", "customer_id", "project_id", "user_id", "kind", "occurred_at", "outcome",
            "notes", "next_follow_up_at", "follow_up_done_at", "reminded_at", "escalated_at",
            "created_at"], interactions())

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for table in ("customers_customer", "customers_customerphone",
                              "customers_customersearchterm", "customers_interaction"):
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT MAX(id) FROM {table}))")
    print(f"written in {time.perf_counter() - started:.1f} s; analysing …", flush=True)
    with connection.cursor() as cursor:
        # VACUUM on PostgreSQL too: a table just filled by COPY has no visibility map, and its
        # index-only scans then read the heap for every row (as autovacuum would set it later)
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def main() -> None:
    args = common.arguments(
        __doc__, lambda parser: parser.add_argument("--fresh", action="store_true",
                                                    help="drop the bench database first"))
    ensure_database(args)
    common.setup_django(args)
    print(common.machine())
    generate(args)


if __name__ == "__main__":
    main()
