"""The scoped base viewset: rows come only from visible_to(user), the scoping cannot be
bypassed by a subclass, versioned resources need their version, and conflicts are a 409."""

import pytest
from rest_framework.test import APIClient

from anju.core.api.base import ScopedModelViewSet, ScopedReadOnlyModelViewSet
from anju.core.tests.platform_helpers import make_company, make_project, make_user, model

pytestmark = [pytest.mark.urls("anju.core.tests.platform_helpers")]


def test_a_subclass_may_not_override_get_queryset():
    with pytest.raises(TypeError, match="scope_queryset"):
        class Sneaky(ScopedModelViewSet):
            model = model("accounts.Project")

            def get_queryset(self):
                return self.model.objects.all()

    with pytest.raises(TypeError, match="get_queryset"):
        class SneakyReader(ScopedReadOnlyModelViewSet):
            def get_queryset(self):
                return model("accounts.Project").objects.all()

    with pytest.raises(TypeError, match="queryset"):
        class Unscoped(ScopedReadOnlyModelViewSet):
            queryset = model("accounts.Project").objects.all()


@pytest.fixture
def world(db):
    company = make_company()
    mine = make_project(company, "滨江一号", "bj1")
    other = make_project(company, "西湖壹号", "xh1")
    user = make_user("zhang", projects=[mine])
    client = APIClient()
    client.force_authenticate(user)
    return {"company": company, "mine": mine, "other": other, "user": user, "api": client}


def test_list_shows_only_rows_in_scope(world, django_assert_max_num_queries):
    for n in range(5):
        world["user"].projects.add(make_project(world["company"], f"项目{n}", f"p{n}"))
    with django_assert_max_num_queries(8):
        response = world["api"].get("/api/v1/projects/")
    assert response.status_code == 200
    names = [row["name"] for row in response.json()["results"]]
    assert "滨江一号" in names and "西湖壹号" not in names
    assert len(names) == 6


def test_list_query_count_does_not_grow_with_rows(world, django_assert_num_queries):
    def fresh_client():
        client = APIClient()
        client.force_authenticate(type(world["user"]).objects.get(pk=world["user"].pk))
        return client

    # the user's data scope (1 query, once per request) and the page of projects (1)
    client = fresh_client()
    with django_assert_num_queries(2):
        assert len(client.get("/api/v1/projects/").json()["results"]) == 1
    for n in range(10):
        world["user"].projects.add(make_project(world["company"], f"项目{n}", f"p{n}"))
    client = fresh_client()
    with django_assert_num_queries(2):
        assert len(client.get("/api/v1/projects/").json()["results"]) == 11


def test_out_of_scope_object_is_404_for_read_and_write(world):
    url = f"/api/v1/projects/{world['other'].pk}/"
    assert world["api"].get(url).status_code == 404
    response = world["api"].patch(url, {"city": "杭州", "version": 1}, format="json")
    assert response.status_code == 404
    assert world["api"].delete(url).status_code == 404
    world["other"].refresh_from_db()
    assert world["other"].city == ""


def test_anonymous_sees_nothing():
    assert APIClient().get("/api/v1/projects/").status_code == 401


def test_update_requires_the_version_the_client_read(world):
    url = f"/api/v1/projects/{world['mine'].pk}/"
    missing = world["api"].patch(url, {"city": "杭州"}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()["fields"]) == {"version"}
    wrong_type = world["api"].patch(url, {"city": "杭州", "version": "abc"}, format="json")
    assert wrong_type.status_code == 400
    assert set(wrong_type.json()["fields"]) == {"version"}
    ok = world["api"].patch(url, {"city": "杭州", "version": 1}, format="json")
    assert ok.status_code == 200, ok.json()
    assert ok.json()["city"] == "杭州"
    assert ok.json()["version"] == 2


def test_stale_version_is_409_with_both_versions_and_nothing_overwritten(world):
    url = f"/api/v1/projects/{world['mine'].pk}/"
    first = world["api"].patch(url, {"city": "杭州", "version": 1}, format="json")
    assert first.status_code == 200
    late = world["api"].put(url, {"name": "滨江一号", "code": "bj1", "city": "上海",
                                  "company": world["company"].pk, "version": 1}, format="json")
    assert late.status_code == 409
    body = late.json()
    assert body["code"] == "conflict"
    assert body["yours"]["city"] == "上海"
    assert body["yours"]["version"] == 1
    assert body["current"]["city"] == "杭州"
    assert body["current"]["version"] == 2
    assert body["message"]
    world["mine"].refresh_from_db()
    assert (world["mine"].city, world["mine"].version) == ("杭州", 2)


def test_create_goes_through_the_service(world):
    response = world["api"].post("/api/v1/projects/", {"name": "新项目", "code": "new",
                                                       "company": world["company"].pk},
                                 format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == 1
    assert model("accounts.Project").objects.filter(code="new").exists()
