"""Every role sees only its data scope: by selector, page, API and export."""

import csv
import io

import pytest
from django.urls import reverse

from anju.accounts import selectors
from anju.accounts.models import User

pytestmark = pytest.mark.django_db


def _names(qs):
    return {p.name for p in qs}


@pytest.mark.parametrize(("who", "expected"), [
    ("consultant", {"四季花城"}),
    ("manager", {"四季花城", "滨江壹号"}),
    ("executive", {"四季花城", "滨江壹号"}),
    ("admin", {"四季花城", "滨江壹号", "翡翠湾"}),
    ("auditor", {"四季花城", "滨江壹号", "翡翠湾"}),
    ("outsider", {"翡翠湾"}),
])
def test_each_role_sees_its_projects(people, who, expected, client, api_for):
    user = people[who]
    assert _names(selectors.project_list(viewer=user)) == expected
    client.force_login(user)
    page = client.get(reverse("accounts:project_list")).content.decode()
    for name in {"四季花城", "滨江壹号", "翡翠湾"}:
        assert (name in page) == (name in expected)
    body = api_for(user).get("/api/v1/projects/").json()
    assert {row["name"] for row in body["results"]} == expected


def test_consultant_gets_404_outside_scope_on_page_and_api(people, org, client, api_for):
    consultant = people["consultant"]
    client.force_login(consultant)
    assert client.get(reverse("accounts:project_detail", args=[org["b"].pk])).status_code == 404
    assert client.get(reverse("accounts:project_detail", args=[org["a"].pk])).status_code == 200
    api = api_for(consultant)
    assert api.get(f"/api/v1/projects/{org['c'].pk}/").status_code == 404
    assert api.get(f"/api/v1/projects/{org['a'].pk}/").status_code == 200


def test_users_are_visible_when_they_share_a_project(people, api_for):
    consultant = people["consultant"]
    visible = {u.username for u in selectors.user_list(viewer=consultant)}
    assert visible == {"consultant1", "manager1"}
    body = api_for(consultant).get("/api/v1/users/").json()
    assert {row["username"] for row in body["results"]} == visible
    outsider = people["outsider"]
    assert api_for(consultant).get(f"/api/v1/users/{outsider.pk}/").status_code == 404
    assert selectors.user_list(viewer=people["admin"]).count() == User.objects.count()
    executive_sees = {u.username for u in selectors.user_list(viewer=people["executive"])}
    assert "consultant9" not in executive_sees and "manager1" in executive_sees


def test_companies_and_teams_are_scoped(people, org, api_for):
    from anju.accounts.models import Team

    Team.objects.create(name="A组", project=org["a"])
    Team.objects.create(name="C组", project=org["c"])
    api = api_for(people["manager"])
    companies = api.get("/api/v1/companies/").json()["results"]
    assert [c["name"] for c in companies] == ["安居置业"]  # once, though two projects match
    teams = api.get("/api/v1/teams/").json()["results"]
    assert [t["name"] for t in teams] == ["A组"]


def test_export_contains_only_projects_in_scope(people, client):
    client.force_login(people["manager"])
    response = client.get(reverse("accounts:project_export") + "?format=csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    names = {row[1] for row in list(csv.reader(io.StringIO(text)))[1:]}
    assert names == {"四季花城", "滨江壹号"}


def test_consultant_may_not_export(people, client):
    client.force_login(people["consultant"])
    assert client.get(reverse("accounts:project_export") + "?format=csv").status_code == 403
    page = client.get(reverse("accounts:project_list")).content.decode()
    assert reverse("accounts:project_export") not in page


@pytest.mark.parametrize(("who", "rights"), [
    ("consultant", {"unmask"}),
    ("manager", {"unmask", "export", "approve_exports", "control_sales", "approve_deals"}),
    ("executive", {"export"}),
    ("auditor", {"read_audit"}),
    ("admin", set(User.RIGHTS)),
])
def test_role_rights(people, api_for, who, rights):
    user = people[who]
    assert {r for r in User.RIGHTS if user.may(r)} == rights
    me = api_for(user).get("/api/v1/me/").json()
    assert set(me["rights"]) == rights
    assert me["username"] == user.username


def test_admin_pages_are_refused_to_other_roles(people, org, client):
    client.force_login(people["manager"])
    assert client.get(reverse("accounts:user_list")).status_code == 403
    assert client.get(reverse("accounts:project_edit", args=[org["a"].pk])).status_code == 403
    client.force_login(people["admin"])
    assert client.get(reverse("accounts:user_list")).status_code == 200


def test_phones_are_masked_in_the_api(people, api_for):
    manager = people["manager"]
    User.objects.filter(pk=manager.pk).update(phone="+8613800138000")
    row = api_for(people["consultant"]).get(f"/api/v1/users/{manager.pk}/").json()
    assert row["phone"] == "138****8000"


def test_team_leadership_comes_with_the_data_scope(org, make_user, django_assert_num_queries):
    from anju.accounts.models import Team

    leader = make_user("leader1", "sales_consultant", projects=[org["a"]])
    team = Team.objects.create(name="二组", project=org["a"], leader=leader)
    member = make_user("member1", "sales_consultant", projects=[org["a"]], team=team)
    fresh = User.objects.select_related("role")
    leader, member = fresh.get(pk=leader.pk), fresh.get(pk=member.pk)
    with django_assert_num_queries(1):  # one query for the scope, none for the question
        assert leader.is_team_leader and leader.data_scope().team_member_ids == {member.pk}
    with django_assert_num_queries(1):
        assert not member.is_team_leader
