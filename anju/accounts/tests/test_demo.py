import io

import pytest
from django.urls import reverse

from anju.accounts import demo
from anju.accounts.models import Company, Project, Role, User
from anju.core.demo import DemoContext

pytestmark = pytest.mark.django_db


def test_demo_builds_an_organisation_with_a_user_per_role(client):
    ctx = DemoContext(stdout=io.StringIO())
    demo.build(ctx)
    assert Company.objects.count() == 1
    assert Project.objects.count() == 3
    assert len({p.city for p in Project.objects.all()}) == 3
    assert set(ctx.data["users_by_role"]) == set(Role.Code.values)
    assert ctx.data["accounts"]["company"] == ctx.data["company"]
    usernames = {c.username for c in ctx.credentials}
    assert {"admin", "consultant1", "manager1", "agent1", "marketing1", "service1",
            "servicemgr1", "exec1", "auditor1"} <= usernames
    response = client.post(reverse("accounts:login"),
                           {"username": "consultant1", "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302
    consultant = User.objects.get(username="consultant1")
    assert [p.name for p in Project.objects.visible_to(consultant)] == ["四季花城"]
    # A second run leaves the data alone.
    demo.build(DemoContext(stdout=io.StringIO()))
    assert User.objects.count() == len(demo.USERS)


def test_demo_password_passes_the_validators():
    from django.contrib.auth.password_validation import validate_password

    validate_password(demo.DEMO_PASSWORD)
