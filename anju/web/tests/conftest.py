import pytest

from anju.accounts.models import Company, Project, Role, User


@pytest.fixture
def consultant(db):
    company = Company.objects.create(name="安居地产", code="anju")
    role, _ = Role.objects.get_or_create(code=Role.Code.SALES_CONSULTANT)
    user = User.objects.create_user(username="zhangwei", password="x" * 12,
                                    display_name="张伟", role=role, email="zw@example.com")
    user.projects.set([
        Project.objects.create(company=company, name="四季花城", code="sjhc"),
        Project.objects.create(company=company, name="滨江壹号", code="bjyh"),
    ])
    return user


@pytest.fixture
def consultant_client(client, consultant):
    client.force_login(consultant)
    return client
