import pytest


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
