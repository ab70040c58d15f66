"""The customers REST API through HTTP (whole Django + DRF stack in-process, test Client with a
session): list page 1 (plain and filtered), a deep keyset page, the 360° data of a customer
with 200 interactions, and the search box (`/api/v1/customers/search/`) for each kind of
query; each beside the raw SQL of the same read measured in the same run, with the number of
queries per request.

    .venv/bin/python bench/bench_api.py --db postgresql --profile S [--repeat 200] [--fresh]

Data: `bench/datagen.py`'s generator, written into this bench's own database
(`bench_api_<profile>` on PostgreSQL, `/tmp/bench_api_<profile>.sqlite3`), made on first run.
Targets (issue 4, profile M): list page 1 p95 ≤ 25 ms, deep page ≤ 2× page 1, 360° p95 ≤
40 ms, each search p95 ≤ 30 ms; queries per page constant."""

import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import datagen

common.database_name = lambda args: f"bench_api_{args.profile.lower()}"


def queries_of(client, url: str, params: dict | None = None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return len(captured.captured_queries)


def main() -> None:
    args = common.arguments(__doc__, lambda parser: parser.add_argument(
        "--fresh", action="store_true", help="drop the bench database first"))
    datagen.ensure_database(args)
    common.setup_django(args)
    datagen.generate(args)

    from anju.accounts.models import User
    from anju.core.normalise import name_search_keys
    from anju.customers.indexing import prefix_successor
    from anju.customers.models import Customer
    from anju.customers.selectors import _encode_cursor

    total = Customer.objects.count()
    print(f"\nAPI bench · {args.db} · profile {args.profile} · {total:,} customers\n"
          f"{common.machine()}")
    admin = User.objects.get(username="bench_admin")
    consultant = User.objects.get(username="bench_consultant0")
    results = []

    # --- list ---------------------------------------------------------------------------
    top = Customer.objects.order_by("-id").values_list("id", flat=True).first()
    deep_cursor = _encode_cursor([top // 2])
    raw_page = ("SELECT c.*, u.display_name, p.name FROM customers_customer c "
                "LEFT JOIN accounts_user u ON u.id = c.owner_id "
                "LEFT JOIN accounts_project p ON p.id = c.project_id "
                "WHERE c.merged_into_id IS NULL {where} ORDER BY c.id DESC LIMIT 51")
    list_cases = [
        ("list page 1 (admin)", admin, {}, raw_page.format(where=""), ()),
        ("list page 1 (consultant)", consultant, {},
         raw_page.format(where="AND c.owner_id = %s"), (consultant.pk,)),
        ("list filtered stage+tier", admin, {"stage": "prospect", "tier": "key"},
         raw_page.format(where="AND c.stage = %s AND (c.tier_override = %s OR "
                               "(c.tier_override = '' AND c.tier = %s))"),
         ("prospect", "key", "key")),
        ("list deep page (keyset, admin)", admin, {"cursor": deep_cursor},
         raw_page.format(where="AND c.id < %s"), (top // 2,)),
    ]
    print("\nlist (GET /api/v1/customers/)")
    page1 = None
    for name, viewer, params, sql, sql_params in list_cases:
        client = common.client_for(viewer)
        queries = queries_of(client, "/api/v1/customers/", params)
        http = common.timed(lambda _arg, client=client, params=params: client.get(
            "/api/v1/customers/", params), [None], args.repeat)
        raw_run = common.raw_timer(sql)
        raw = common.timed(lambda _arg, raw_run=raw_run, p=sql_params: raw_run(p), [None],
                           args.repeat)
        result = common.report(f"{name} [{queries} q]", http, raw, 25)
        results.append(result)
        if name.startswith("list page 1 (admin)"):
            page1 = result
        if "deep" in name and page1:
            print(f"  deep page / page 1 (p95): {result['p95'] / page1['p95']:.2f}× "
                  f"(target ≤ 2×)")

    # --- 360° ---------------------------------------------------------------------------
    print("\n360° (GET /api/v1/customers/1/, 200 interactions)")
    client = common.client_for(admin)
    queries = queries_of(client, "/api/v1/customers/1/")
    http = common.timed(lambda _arg: client.get("/api/v1/customers/1/"), [None], args.repeat)
    raw_run = common.raw_timer(
        "SELECT * FROM customers_interaction WHERE customer_id = %s "
        "ORDER BY occurred_at DESC, id DESC LIMIT 50")
    raw = common.timed(lambda _arg: raw_run((1,)), [None], args.repeat)
    results.append(common.report(f"360° data [{queries} q]", http, raw, 40))

    # --- search -------------------------------------------------------------------------
    rng = random.Random(7)  # noqa: S311  (sampling, not secrets)
    sample = list(Customer.objects.filter(pk__in=[rng.randint(1, top) for _ in range(300)])
                  .values_list("name", "primary_phone"))
    scenarios = {
        "search exact phone": (
            [f"{phone[3:6]} {phone[6:10]} {phone[10:]}" for _n, phone in sample],
            "SELECT c.id, c.name FROM customers_customer c JOIN customers_customerphone p "
            "ON p.customer_id = c.id WHERE p.e164 = %s",
            lambda q: ("+86" + q.replace(" ", ""),)),
        "search last 4 digits": (
            [phone[-4:] for _n, phone in sample],
            "SELECT c.id, c.name FROM customers_customer c JOIN customers_customerphone p "
            "ON p.customer_id = c.id WHERE p.last4 = %s LIMIT 20", lambda q: (q,)),
        "search initials (2 letters)": (
            [name_search_keys(name).initials[0][:2] for name, _p in sample],
            "SELECT c.id, c.name FROM customers_customer c WHERE c.id IN (SELECT customer_id "
            "FROM customers_customersearchterm WHERE kind = 'i' AND term >= %s AND term < %s)"
            " ORDER BY c.last_contact_at DESC LIMIT 20",
            lambda q: (q, prefix_successor(q))),
        "search name, 2 characters": (
            [name[:2] for name, _p in sample],
            "SELECT c.id, c.name FROM customers_customer c WHERE c.id IN (SELECT customer_id "
            "FROM customers_customersearchterm WHERE kind = 'n' AND term >= %s AND term < %s) "
            "ORDER BY c.last_contact_at DESC LIMIT 20", lambda q: (q, prefix_successor(q))),
        "search name, 3 characters": (
            [name[:3] for name, _p in sample if len(name) >= 3],
            "SELECT c.id, c.name FROM customers_customer c WHERE c.id IN (SELECT customer_id "
            "FROM customers_customersearchterm WHERE kind = 'n' AND term >= %s AND term < %s) "
            "ORDER BY c.last_contact_at DESC LIMIT 20", lambda q: (q, prefix_successor(q))),
    }
    print("\nsearch (GET /api/v1/customers/search/?q=)")
    for name, (queries_list, sql, to_params) in scenarios.items():
        queries = queries_of(client, "/api/v1/customers/search/", {"q": queries_list[0]})
        http = common.timed(lambda q: client.get("/api/v1/customers/search/", {"q": q}),
                            queries_list, args.repeat)
        raw_run = common.raw_timer(sql)
        raw = common.timed(lambda q, raw_run=raw_run, to_params=to_params:
                           raw_run(to_params(q)), queries_list, args.repeat)
        results.append(common.report(f"{name} [{queries} q]", http, raw, 30))
    hit = client.get("/api/v1/customers/search/", {"q": sample[0][1]}).json()
    assert hit and hit[0]["customer"]["name"] == sample[0][0], hit
    print(f"\nmedian of p95s: {statistics.median(r['p95'] for r in results):.2f} ms")


if __name__ == "__main__":
    main()
