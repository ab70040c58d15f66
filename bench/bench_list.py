"""The customer list through HTTP (`/customers/` with filters, whole Django stack in-process
via the test Client): page 1 and a deep keyset page, beside the raw SQL of the same page.

    .venv/bin/python bench/bench_list.py --db postgresql --profile S [--repeat 200]

Targets (issue 4, profile M): page 1 p95 ≤ 25 ms; a deep page ≤ 2× page 1; constant queries
per page (asserted here too)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

TARGET_MS = 25
FILTERS = [{}, {"tier": "vip"}, {"stage": "prospect"}, {"channel": "老带新"}]


def main() -> None:
    args = common.arguments(__doc__)
    common.setup_django(args)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from anju.accounts.models import User
    from anju.customers import selectors
    from anju.customers.models import Customer

    top = Customer.objects.order_by("-id").values_list("id", flat=True).first()
    print(f"list bench · {args.db} · profile {args.profile} · {top:,} customers\n"
          f"{common.machine()}")
    deep_cursor = selectors._encode_cursor([top // 10])  # ~90% down the list, by id
    viewers = {"admin": User.objects.get(username="bench_admin"),
               "consultant": User.objects.get(username="bench_consultant0")}
    raw_columns = ("c.id, c.name, c.primary_phone, c.stage, c.tier, c.last_contact_at, "
                   "u.username, p.name")
    raw_from = ("FROM customers_customer c LEFT JOIN accounts_user u ON u.id = c.owner_id "
                "LEFT JOIN accounts_project p ON p.id = c.project_id")
    for viewer_name, viewer in viewers.items():
        client = common.client_for(viewer)
        print(f"\nviewer: {viewer_name}")
        owner_clause = "" if viewer_name == "admin" else f" AND c.owner_id = {viewer.pk}"
        for label, extra in (("page 1", {}), ("deep page (keyset)", {"cursor": deep_cursor})):
            def page(filters, client=client, extra=extra):
                response = client.get("/customers/", {**filters, **extra})
                assert response.status_code == 200, response.status_code

            counts = set()
            for filters in FILTERS:
                page(filters)
                with CaptureQueriesContext(connection) as queries:
                    page(filters)
                counts.add(len(queries))
            http = common.timed(page, FILTERS, args.repeat)

            def raw(filters, extra=extra, owner_clause=owner_clause):
                where, params = _raw_where(filters, owner_clause)
                if extra:
                    where += " AND c.id < %s"
                    params.append(top // 10)
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT {raw_columns} {raw_from} WHERE {where} "
                                   "ORDER BY c.id DESC LIMIT 51", params)
                    cursor.fetchall()

            raw_samples = common.timed(raw, FILTERS, args.repeat)
            common.report(f"{label}, {len(FILTERS)} filters", http, raw_samples, TARGET_MS)
            print(f"{'':34} queries per page: {sorted(counts)}"
                  f"{' (constant)' if len(counts) == 1 else ' (NOT constant)'}")

        # The "N customers" label, which page 1 loads after its rows (customers:count).
        def count(filters, client=client):
            response = client.get("/customers/count/", filters)
            assert response.status_code == 200, response.status_code

        def raw_count(filters, owner_clause=owner_clause):
            where, params = _raw_where(filters, owner_clause)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT COUNT(*) FROM (SELECT c.id FROM customers_customer c "  # noqa: S608
                    f"WHERE {where} LIMIT 10001) capped", params)
                cursor.fetchall()

        common.report(f"count label, {len(FILTERS)} filters",
                      common.timed(count, FILTERS, args.repeat),
                      common.timed(raw_count, FILTERS, args.repeat), None)


def _raw_where(filters: dict, owner_clause: str) -> tuple[str, list]:
    """The WHERE of the raw SQL beside the page: live customers, the viewer's, the filters."""
    where, params = "c.merged_into_id IS NULL" + owner_clause, []
    for key, column in (("tier", "c.tier"), ("stage", "c.stage"),
                        ("channel", "c.source_channel")):
        if key in filters:
            where += f" AND {column} = %s"
            params.append(filters[key])
    return where, params


if __name__ == "__main__":
    main()
