"""Fixtures of the opportunity, funnel, matching and quote tests (import with `*`).

- `org` (anju/conftest.py): companies `first` (projects `a` 杭州, `b` 南京), `second` (`c`).
- `people`: `consultant` and `peer` (project A, team led by `manager`), `consultant_b`
  (project B), `manager` (sales manager, projects A and B: approves deals), `admin`,
  `outsider` (consultant of project C), `marketing` (project A).
- `make_customer`, `api_for(user)`, `client_for(user)`: from anju/conftest.py.
- `make_opportunity(customer=..., owner=..., stage=...)`: through the service.
"""

import pytest

from anju.accounts.models import Team
from anju.sales.opportunities import services

__all__ = ["make_opportunity", "people"]


@pytest.fixture
def people(org, make_user):
    manager = make_user("opp_manager", "sales_manager", projects=[org["a"], org["b"]],
                        display_name="王经理")
    team = Team.objects.create(name="一组", project=org["a"], leader=manager)
    return {
        "consultant": make_user("opp_consultant", "sales_consultant", projects=[org["a"]],
                                team=team, display_name="李顾问"),
        "peer": make_user("opp_peer", "sales_consultant", projects=[org["a"]], team=team,
                          display_name="赵顾问"),
        "consultant_b": make_user("opp_consultant_b", "sales_consultant",
                                  projects=[org["b"]], display_name="钱顾问"),
        "manager": manager,
        "team": team,
        "admin": make_user("opp_admin", "admin"),
        "outsider": make_user("opp_outsider", "sales_consultant", projects=[org["c"]]),
        "marketing": make_user("opp_marketing", "marketing", projects=[org["a"]]),
    }


@pytest.fixture
def make_opportunity(org, people, make_customer):
    def make(*, customer=None, owner=None, project=None, stage="first_visit", actor=None,
             expected_value=None):
        owner = owner or people["consultant"]
        project = project or org["a"]
        customer = customer or make_customer(owner=owner, project=project)
        return services.opportunity_create(actor=actor or owner, customer=customer,
                                           project=project, owner=owner, stage=stage,
                                           expected_value=expected_value)

    return make
