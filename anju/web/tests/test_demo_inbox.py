import io

import pytest
from django.urls import reverse

from anju.accounts import demo as accounts_demo
from anju.accounts.models import User
from anju.core.demo import DemoContext
from anju.core.models import Notification
from anju.web import demo

pytestmark = pytest.mark.django_db


def test_demo_gives_every_user_an_inbox_with_unread_news(client):
    accounts_demo.build(DemoContext(stdout=io.StringIO()))
    demo.build(DemoContext(stdout=io.StringIO()))
    client.force_login(User.objects.get(username="consultant1"))
    page = client.get(reverse("core:inbox")).content.decode()
    assert "欢迎使用安居客户关系系统" in page
    assert Notification.objects.filter(recipient__username="consultant1",
                                       read_at__isnull=True).exists()
    # Running the step again adds nothing.
    count = Notification.objects.count()
    demo.build(DemoContext(stdout=io.StringIO()))
    assert Notification.objects.count() == count
