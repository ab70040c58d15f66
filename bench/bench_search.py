# ruff: noqa: S311  (seeded sample of queries)
"""Search through HTTP (the page's JSON form, whole Django stack in-process via the test
Client): exact phone, last 4 digits, pinyin initials, 2- and 3-character name fragments,
each beside the raw SQL of the same probe measured in the same run.

    .venv/bin/python bench/bench_search.py --db postgresql --profile S [--repeat 200]

Viewers: `bench_admin` (sees the whole ledger: the widest probe) and a consultant (own
customers only). Targets (issue 4, profile M): p95 ≤ 30 ms each."""

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

TARGET_MS = 30


def main() -> None:
    args = common.arguments(__doc__)
    common.setup_django(args)
    from anju.accounts.models import User
    from anju.customers.indexing import prefix_successor
    from anju.customers.models import Customer

    print(f"search bench · {args.db} · profile {args.profile} · "
          f"{Customer.objects.count():,} customers\n{common.machine()}")
    rng = random.Random(5)
    top = Customer.objects.order_by("-id").values_list("id", flat=True).first()
    sample = list(Customer.objects.filter(pk__in=[rng.randint(1, top) for _ in range(400)])
                  .values_list("name", "primary_phone"))
    fragments2 = [name[i:i + 2] for name, _ in sample for i in range(len(name) - 1)][:200]
    fragments3 = [name[:3] for name, _ in sample if len(name) >= 3][:200]
    from anju.core.normalise import name_search_keys

    initials = [name_search_keys(name).initials[0][:2] for name, _ in sample[:200]]
    scenarios = {
        "exact phone": ([f"{phone[3:6]} {phone[6:10]} {phone[10:]}" for _, phone in sample],
                        "SELECT c.id, c.name, c.primary_phone FROM customers_customer c "
                        "JOIN customers_customerphone p ON p.customer_id = c.id "
                        "WHERE p.e164 = %s", lambda q: ("+86" + q.replace(" ", ""),)),
        "last 4 digits": ([phone[-4:] for _, phone in sample],
                          "SELECT c.id, c.name, c.primary_phone FROM customers_customer c "
                          "JOIN customers_customerphone p ON p.customer_id = c.id "
                          "WHERE p.last4 = %s LIMIT 20", lambda q: (q,)),
        "pinyin initials (2 letters)": (
            initials,
            "SELECT c.id, c.name FROM customers_customersearchterm t JOIN customers_customer"
            " c ON c.id = t.customer_id WHERE t.kind = 'i' AND t.term >= %s AND t.term < %s"
            " ORDER BY t.term, t.customer_id LIMIT 28",
            lambda q: (q, prefix_successor(q))),
        "name fragment, 2 characters": (
            fragments2,
            "SELECT c.id, c.name FROM customers_customer c WHERE c.id IN (SELECT customer_id "
            "FROM customers_customersearchterm WHERE kind = 'n' AND term >= %s AND term < %s) "
            "ORDER BY c.last_contact_at DESC LIMIT 20", lambda q: (q, prefix_successor(q))),
        "name fragment, 3 characters": (
            fragments3,
            "SELECT c.id, c.name FROM customers_customer c WHERE c.id IN (SELECT customer_id "
            "FROM customers_customersearchterm WHERE kind = 'n' AND term >= %s AND term < %s) "
            "ORDER BY c.last_contact_at DESC LIMIT 20", lambda q: (q, prefix_successor(q))),
    }
    viewers = {"admin": User.objects.get(username="bench_admin"),
               "consultant": User.objects.get(username="bench_consultant0")}
    for viewer_name, viewer in viewers.items():
        client = common.client_for(viewer)
        print(f"\nviewer: {viewer_name}")
        for name, (queries, sql, params) in scenarios.items():
            def through_http(query, client=client):
                response = client.get("/customers/search/", {"q": query, "format": "json"})
                assert response.status_code == 200, response.status_code

            http = common.timed(through_http, queries, args.repeat)
            raw_run = common.raw_timer(sql)
            raw = common.timed(lambda query, raw_run=raw_run, params=params:
                               raw_run(params(query)), queries, args.repeat)
            common.report(name, http, raw, TARGET_MS)
    # the results are right as well as fast: a hit for a known customer's phone
    response = common.client_for(viewers["admin"]).get(
        "/customers/search/", {"q": sample[0][1], "format": "json"}).json()
    assert response["results"] and response["results"][0]["name"] == sample[0][0], response


if __name__ == "__main__":
    main()
