"""Fixtures of the leads tests.

- `org` (anju/conftest.py): companies `first` (projects `a`, `b`) and `second` (`c`).
- `staff`: `manager` (sales manager of A and B, leads team `team`), consultants `c1`, `c2`,
  `c3` of project A (c1 and c2 in the team), `cb` of project B, `marketing` of A, `admin`.
- `agencies`: two agencies of company `first` (`north` with agents `n1`, `n2`; `south` with
  `s1`), their contact consultant `c3`, and the agency channel.
- `channels`: a small channel tree (`web` online ads > `douyin`, `walk_in`, `call_in`,
  `agency`, `owner_ref`).
- `roster`: today's duty roster of project A: c1, c2, c3 in that order.
- `make_customer`, `api_for`, `client_for`: from anju/conftest.py.
"""

import pytest

from anju.accounts.models import Team
from anju.leads import services
from anju.leads.models import Agency, AgencyAgent, Channel


@pytest.fixture
def staff(org, make_user):
    manager = make_user("lmanager", "sales_manager", projects=[org["a"], org["b"]],
                        display_name="王经理")
    team = Team.objects.create(name="一组", project=org["a"], leader=manager)
    return {
        "manager": manager,
        "team": team,
        "c1": make_user("lc1", "sales_consultant", projects=[org["a"]], team=team,
                        display_name="李一"),
        "c2": make_user("lc2", "sales_consultant", projects=[org["a"]], team=team,
                        display_name="李二"),
        "c3": make_user("lc3", "sales_consultant", projects=[org["a"]], display_name="李三"),
        "cb": make_user("lcb", "sales_consultant", projects=[org["b"]], display_name="钱顾问"),
        "marketing": make_user("lmkt", "marketing", projects=[org["a"]]),
        "admin": make_user("ladmin", "admin"),
    }


@pytest.fixture
def channels(db):
    web = Channel.objects.create(name="线上广告", code="web", kind=Channel.Kind.ONLINE_AD)
    return {
        "web": web,
        "douyin": Channel.objects.create(name="抖音", code="douyin",
                                         kind=Channel.Kind.ONLINE_AD, parent=web),
        "walk_in": Channel.objects.create(name="自然到访", code="walk-in",
                                          kind=Channel.Kind.WALK_IN),
        "call_in": Channel.objects.create(name="来电", code="call-in",
                                          kind=Channel.Kind.CALL_IN),
        "agency": Channel.objects.create(name="中介分销", code="agency",
                                         kind=Channel.Kind.AGENCY),
        "owner_ref": Channel.objects.create(name="老带新", code="owner-ref",
                                            kind=Channel.Kind.OWNER_REFERRAL),
    }


@pytest.fixture
def agencies(org, staff, channels, make_user):
    north = Agency.objects.create(company=org["first"], name="北城地产",
                                  contact_consultant=staff["c3"], channel=channels["agency"])
    south = Agency.objects.create(company=org["first"], name="南方分销",
                                  contact_consultant=staff["c3"], channel=channels["agency"])
    agents = {}
    for username, agency in (("n1", north), ("n2", north), ("s1", south)):
        user = make_user(username, "channel_agent", projects=[org["a"]],
                         display_name=f"经纪人{username}")
        AgencyAgent.objects.create(agency=agency, user=user)
        agents[username] = user
    return {"north": north, "south": south, **agents}


@pytest.fixture
def roster(org, staff):
    return services.roster_set(actor=staff["manager"], project=org["a"],
                               date=services.today_local(),
                               consultants=[staff["c1"], staff["c2"], staff["c3"]])
