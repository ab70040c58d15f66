"""Shared fixtures of the customer ledger's tests (keep stable: every customers test uses them).

- `org`: companies `first` (projects `a`, `b`) and `second` (project `c`).
- `people`: users per role. `consultant` and `peer` (another consultant) work project A in
  the team led by `manager` (projects A and B); `consultant_b` works project B; `outsider`
  is a consultant of the other company's project C; `executive` sees company `first`;
  `marketing` (project A, no unmask right), `admin` (all), `auditor` (all, no unmask).
- `make_customer(name=..., phones=[...], owner=..., project=..., **fields)`: writes a
  customer with its phones (first = primary) and search terms straight to the tables (no
  service rules, no dedup): fast and independent of the code under test.
- `api_for(user)`: a DRF APIClient authenticated as the user.
- `client_for(user)`: a Django test Client logged in as the user.
"""

import itertools

import pytest
from django.test import Client
from rest_framework.test import APIClient

from anju.accounts.models import Team
from anju.core.normalise import normalise_id_number, normalise_phone, phone_last4
from anju.customers.indexing import customer_terms_rebuild
from anju.customers.models import Customer, CustomerPhone


@pytest.fixture
def people(org, make_user):
    manager = make_user("manager1", "sales_manager", projects=[org["a"], org["b"]],
                        display_name="王经理")
    team = Team.objects.create(name="一组", project=org["a"], leader=manager)
    return {
        "consultant": make_user("consultant1", "sales_consultant", projects=[org["a"]],
                                team=team, display_name="李顾问"),
        "peer": make_user("consultant2", "sales_consultant", projects=[org["a"]], team=team,
                          display_name="赵顾问"),
        "consultant_b": make_user("consultant3", "sales_consultant", projects=[org["b"]],
                                  display_name="钱顾问"),
        "manager": manager,
        "team": team,
        "marketing": make_user("marketing1", "marketing", projects=[org["a"]]),
        "executive": make_user("exec1", "executive", companies=[org["first"]]),
        "admin": make_user("admin", "admin"),
        "auditor": make_user("auditor1", "auditor"),
        "outsider": make_user("consultant9", "sales_consultant", projects=[org["c"]]),
    }


_phone_counter = itertools.count(1)


def next_phone() -> str:
    """A fresh valid mainland mobile number (national form), unique in the test run."""
    return f"139{next(_phone_counter):08d}"


@pytest.fixture
def make_customer(org):
    def make(name="张三", *, phones=None, owner=None, project=None, company=None,
             id_number="", **fields):
        project = project if project is not None else org["a"]
        company = company or project.company
        phones = [normalise_phone(raw) for raw in (phones if phones is not None
                                                   else [next_phone()])]
        customer = Customer.objects.create(
            company=company, project=project, owner=owner, name=name,
            id_number=normalise_id_number(id_number) if id_number else "",
            primary_phone=phones[0] if phones else "", **fields)
        CustomerPhone.objects.bulk_create([
            CustomerPhone(customer=customer, e164=e164, last4=phone_last4(e164),
                          is_primary=index == 0)
            for index, e164 in enumerate(phones)])
        customer_terms_rebuild(customers=[customer])
        return customer

    return make


@pytest.fixture
def api_for():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make
