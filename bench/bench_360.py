"""The 360° page of a customer with 200 interactions through HTTP (`/customers/<pk>/`, whole
Django stack in-process via the test Client), beside the raw SQL of its main reads.

    .venv/bin/python bench/bench_360.py --db postgresql --profile S [--repeat 200]

Target (issue 4, profile M): p95 ≤ 40 ms in a constant number of queries."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

TARGET_MS = 40


def main() -> None:
    args = common.arguments(__doc__)
    common.setup_django(args)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from anju.accounts.models import User
    from anju.customers.models import Customer, Interaction

    print(f"360° bench · {args.db} · profile {args.profile} · "
          f"{Customer.objects.count():,} customers\n{common.machine()}")
    customer_id = 1  # datagen gives customer 1 its 200 interactions
    assert Interaction.objects.filter(customer_id=customer_id).count() == \
        common.THE_360_CUSTOMER_INTERACTIONS
    other_id = Customer.objects.order_by("-id").values_list("id", flat=True).first()
    client = common.client_for(User.objects.get(username="bench_admin"))

    def page(pk):
        response = client.get(f"/customers/{pk}/")
        assert response.status_code == 200, response.status_code

    counts = []
    for pk in (customer_id, other_id):
        page(pk)
        with CaptureQueriesContext(connection) as queries:
            page(pk)
        counts.append(len(queries))
    http = common.timed(page, [customer_id], args.repeat)

    def raw(pk):
        with connection.cursor() as cursor:
            cursor.execute("SELECT c.*, u.username, p.name FROM customers_customer c "
                           "LEFT JOIN accounts_user u ON u.id = c.owner_id LEFT JOIN "
                           "accounts_project p ON p.id = c.project_id WHERE c.id = %s", [pk])
            cursor.fetchall()
            cursor.execute("SELECT i.*, u.username FROM customers_interaction i LEFT JOIN "
                           "accounts_user u ON u.id = i.user_id WHERE i.customer_id = %s "
                           "ORDER BY i.occurred_at DESC, i.id DESC LIMIT 50", [pk])
            cursor.fetchall()
            cursor.execute("SELECT * FROM customers_customerphone WHERE customer_id = %s",
                           [pk])
            cursor.fetchall()

    raw_samples = common.timed(raw, [customer_id], args.repeat)
    common.report("360° page, 200 interactions", http, raw_samples, TARGET_MS)
    print(f"{'':34} queries: {counts[0]} (200 interactions) vs {counts[1]} (10) "
          f"{'(constant)' if counts[0] == counts[1] else '(NOT constant)'}")


if __name__ == "__main__":
    main()
