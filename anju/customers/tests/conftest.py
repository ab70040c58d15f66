"""Shared fixtures of the customer ledger's tests (keep stable: every customers test uses them).

- `org`: companies `first` (projects `a`, `b`) and `second` (project `c`).
- `people`: users per role. `consultant` and `peer` (another consultant) work project A in
  the team led by `manager` (projects A and B); `consultant_b` works project B; `outsider`
  is a consultant of the other company's project C; `executive` sees company `first`;
  `marketing` (project A, no unmask right), `admin` (all), `auditor` (all, no unmask).
- `make_customer`, `api_for(user)`, `client_for(user)`: from anju/conftest.py (a customer
  written straight to the tables, fast and independent of the code under test).
"""

import pytest

from anju.accounts.models import Team


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
