import pytest
from rest_framework.test import APIClient

from anju.accounts.models import Company, Project, Role, User


@pytest.fixture
def org(db):
    """Two companies; the first has projects A and B, the second project C."""
    first = Company.objects.create(name="安居置业", code="anju")
    second = Company.objects.create(name="别家地产", code="other")
    return {
        "first": first,
        "second": second,
        "a": Project.objects.create(company=first, name="四季花城", code="a", city="杭州"),
        "b": Project.objects.create(company=first, name="滨江壹号", code="b", city="南京"),
        "c": Project.objects.create(company=second, name="翡翠湾", code="c", city="佛山"),
    }


@pytest.fixture
def make_user(db):
    def make(username, role_code, *, projects=(), companies=(), password="x-secret-pass-2026",
             **extra):
        user = User.objects.create_user(username=username, password=password,
                                        role=Role.objects.get(code=role_code), **extra)
        user.projects.set(projects)
        user.companies.set(companies)
        return user

    return make


@pytest.fixture
def people(org, make_user):
    return {
        "consultant": make_user("consultant1", "sales_consultant", projects=[org["a"]]),
        "manager": make_user("manager1", "sales_manager", projects=[org["a"], org["b"]]),
        "executive": make_user("exec1", "executive", companies=[org["first"]]),
        "admin": make_user("admin", "admin"),
        "auditor": make_user("auditor1", "auditor"),
        "outsider": make_user("consultant9", "sales_consultant", projects=[org["c"]]),
    }


@pytest.fixture
def api_for():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make
