"""Project and user editing: optimistic conflicts, bad input, query counts."""

import pytest
from django.urls import reverse

from anju.accounts import services
from anju.accounts.models import Project, User

pytestmark = pytest.mark.django_db


def _edit_data(project, **overrides):
    data = {"name": project.name, "city": project.city, "district": project.district,
            "address": project.address, "is_active": "on", "version": project.version}
    data.update(overrides)
    return data


def test_conflicting_project_edit_shows_both_versions_and_overwrites_nothing(people, org,
                                                                              client):
    project = org["a"]
    url = reverse("accounts:project_edit", args=[project.pk])
    client.force_login(people["admin"])
    first = client.post(url, _edit_data(project, city="苏州"))
    assert first.status_code == 302
    second = client.post(url, _edit_data(project, city="宁波"))  # still version 1
    assert second.status_code == 409
    page = second.content.decode()
    assert "宁波" in page and "苏州" in page
    project.refresh_from_db()
    assert (project.city, project.version) == ("苏州", 2)
    # Saving again from the conflict page is deliberate and now succeeds.
    third = client.post(url, _edit_data(project, city="宁波"))
    assert third.status_code == 302
    project.refresh_from_db()
    assert (project.city, project.version) == ("宁波", 3)


def test_api_project_update_needs_the_version_and_reports_conflicts(people, org, api_for):
    api = api_for(people["admin"])
    url = f"/api/v1/projects/{org['a'].pk}/"
    assert api.patch(url, {"city": "苏州"}).status_code == 400
    assert api.patch(url, {"city": "苏州", "version": 1}).status_code == 200
    conflict = api.patch(url, {"city": "宁波", "version": 1})
    assert conflict.status_code == 409
    assert Project.objects.get(pk=org["a"].pk).city == "苏州"


def test_bad_input_on_the_page_gives_field_errors(people, org, client):
    project = org["a"]
    client.force_login(people["admin"])
    url = reverse("accounts:project_edit", args=[project.pk])
    too_long = client.post(url, _edit_data(project, name="长" * 101))
    assert too_long.status_code == 400
    assert "100" in str(too_long.context["form"].errors["name"])
    duplicate = client.post(url, _edit_data(project, name="滨江壹号"))
    assert duplicate.status_code == 400
    project.refresh_from_db()
    assert (project.name, project.version) == ("四季花城", 1)


def test_html_in_a_name_is_shown_escaped(people, org, client):
    services.project_update(actor=people["admin"], project=org["a"], version=1,
                            name="<script>alert(1)</script>")
    client.force_login(people["admin"])
    for url in (reverse("accounts:project_list"),
                reverse("accounts:project_detail", args=[org["a"].pk])):
        page = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("payload", [
    {"company": "x", "name": "新项目", "code": "new"},
    {"company": None, "name": "新项目", "code": "new"},
    {"name": ["a"], "code": "new"},
    {"company": 1, "name": "新项目", "code": "has space"},
    {"company": 1, "name": "长" * 101, "code": "new"},
])
def test_api_wrong_types_are_field_errors(people, org, api_for, payload):
    if payload.get("company") == 1:
        payload["company"] = org["first"].pk
    response = api_for(people["admin"]).post("/api/v1/projects/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]
    assert not Project.objects.filter(code="new").exists()


def test_api_duplicate_code_is_a_field_error(people, org, api_for):
    response = api_for(people["admin"]).post(
        "/api/v1/projects/", {"company": org["first"].pk, "name": "新的", "code": "a"})
    assert response.status_code == 400
    assert "code" in response.json()["fields"]


def test_api_patch_with_wrong_type_is_a_field_error(people, org, api_for):
    response = api_for(people["admin"]).patch(f"/api/v1/projects/{org['a'].pk}/",
                                              {"is_active": "maybe", "version": 1})
    assert response.status_code == 400
    assert "is_active" in response.json()["fields"]


def test_consultant_cannot_create_or_edit_projects_by_api(people, org, api_for):
    api = api_for(people["consultant"])
    assert api.post("/api/v1/projects/", {"company": org["first"].pk, "name": "x",
                                          "code": "x"}).status_code == 403
    assert api.patch(f"/api/v1/projects/{org['a'].pk}/",
                     {"city": "x", "version": 1}).status_code == 403


def test_admin_creates_a_user_and_sets_scope(people, org, client):
    client.force_login(people["admin"])
    response = client.post(reverse("accounts:user_create"), {
        "username": "newbie", "display_name": "<b>新人</b>", "phone": "138 0013 8000",
        "password": "a-good-password-2026", "role": people["consultant"].role_id})
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.phone == "+8613800138000"
    page = client.get(response["Location"]).content.decode()
    assert "&lt;b&gt;新人&lt;/b&gt;" in page
    assert "138****8000" in page and "13800138000" not in page
    saved = client.post(response["Location"], {
        "display_name": "新人", "phone": "", "email": "", "role": user.role_id,
        "scope_level": "", "projects": [org["b"].pk], "version": user.version})
    assert saved.status_code == 302
    user.refresh_from_db()
    assert [p.name for p in user.projects.all()] == ["滨江壹号"]
    assert user.phone == "+8613800138000"


def test_user_create_bad_input_names_the_field(people, client):
    client.force_login(people["admin"])
    response = client.post(reverse("accounts:user_create"), {
        "username": "consultant1", "display_name": "名" * 51, "phone": "12345",
        "password": "short"})
    assert response.status_code == 400
    form = response.context["form"]
    assert {"display_name"} <= set(form.errors)
    response = client.post(reverse("accounts:user_create"), {
        "username": "consultant1", "phone": "12345", "password": "a-good-password-2026"})
    assert set(response.context["form"].errors) >= {"username", "phone"}
    response = client.post(reverse("accounts:user_create"), {
        "username": "fresh", "password": "short"})
    assert "password" in response.context["form"].errors
    assert not User.objects.filter(username="fresh").exists()


def _more_projects(org, count):
    for index in range(count):
        Project.objects.create(company=org["first"], name=f"项目{index}", code=f"p{index}")


def test_project_list_page_query_count(people, org, client, django_assert_max_num_queries):
    client.force_login(people["admin"])
    client.get(reverse("accounts:project_list"))
    _more_projects(org, 20)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("accounts:project_list"))
    assert "项目19" in response.content.decode()


def test_user_list_page_query_count(people, org, client, make_user,
                                    django_assert_max_num_queries):
    client.force_login(people["admin"])
    for index in range(15):
        make_user(f"u{index}", "sales_consultant", projects=[org["a"], org["b"]])
    with django_assert_max_num_queries(11):
        response = client.get(reverse("accounts:user_list"))
    assert "u14" in response.content.decode()


@pytest.mark.parametrize("endpoint", ["/api/v1/projects/", "/api/v1/users/",
                                      "/api/v1/companies/", "/api/v1/teams/", "/api/v1/me/"])
def test_api_list_query_counts(people, org, make_user, api_for, endpoint,
                               django_assert_max_num_queries):
    _more_projects(org, 10)
    for index in range(10):
        make_user(f"u{index}", "sales_consultant", projects=[org["a"]])
    api = api_for(people["manager"])
    with django_assert_max_num_queries(8):
        response = api.get(endpoint)
    assert response.status_code == 200
