"""Customer service disables and re-enables owner portal accounts: managers see the
accounts of their projects' owners (phones masked, search by name or phone), a reason is
required and kept in the audit trail, a disabled owner is signed out at once and cannot
sign in by code or password (told why), and another project's manager reaches nothing."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from anju.portal import services as portal_services
from anju.portal.models import OneTimeCode, OwnerAccount
from anju.portal.services import PortalError

from .portal_fixtures import *  # noqa: F403
from .portal_fixtures import PASSWORD

pytestmark = pytest.mark.django_db
LIST = "/owner/staff/accounts/"


def action_url(account, action: str) -> str:
    return reverse("portal:staff_account_action", args=[account.pk, action])


@pytest.fixture
def manager(care_staff) -> Client:
    client = Client()
    client.force_login(care_staff["manager"])
    return client


@pytest.fixture
def outside_manager(org, make_user) -> Client:
    client = Client()
    client.force_login(make_user("cmanager_c", "service_manager", projects=[org["c"]]))
    return client


def test_managers_list_their_owners_with_masked_phones_and_search(
        owners, manager, django_assert_max_num_queries):
    manager.get(LIST)
    with django_assert_max_num_queries(10):
        page = manager.get(LIST)
    body = page.content.decode()
    assert page.status_code == 200
    for account in owners.values():
        assert account.customer.name in body
        assert account.phone not in body and account.phone[3:] not in body
        assert account.phone[-4:] in body  # the masked number keeps the last four digits
    by_name = manager.get(LIST, {"q": owners["b"].customer.name}).content.decode()
    assert owners["b"].customer.name in by_name and owners["a"].customer.name not in by_name
    by_phone = manager.get(LIST, {"q": owners["a"].phone[-8:]}).content.decode()
    assert owners["a"].customer.name in by_phone and owners["b"].customer.name not in by_phone
    assert "/owner/staff/accounts/" in manager.get("/").content.decode()  # in the menu


def test_another_projects_manager_and_agents_reach_nothing(owners, outside_manager,
                                                           care_staff):
    body = outside_manager.get(LIST).content.decode()
    assert owners["a"].customer.name not in body
    answer = outside_manager.post(action_url(owners["a"], "disable"), {"reason": "测试"})
    assert answer.status_code == 404
    assert OwnerAccount.objects.get(pk=owners["a"].pk).is_active
    agent = Client()
    agent.force_login(care_staff["agent"])
    assert agent.get(LIST).status_code == 403
    assert agent.post(action_url(owners["a"], "disable"),
                      {"reason": "测试"}).status_code == 403
    # the service checks the scope again
    from anju.accounts.models import User

    with pytest.raises(PortalError) as caught:
        portal_services.owner_account_disable(actor=User.objects.get(username="cmanager_c"),
                                       account_id=owners["a"].pk, reason="测试")
    assert caught.value.code == "not_found"


def test_a_reason_is_required_and_kept_in_the_audit_trail(owners, manager):
    from auditlog.models import LogEntry

    account = owners["a"]
    refused = manager.post(action_url(account, "disable"), {"reason": "  "})
    assert refused.status_code == 400 and 'role="alert"' in refused.content.decode()
    assert OwnerAccount.objects.get(pk=account.pk).is_active
    done = manager.post(action_url(account, "disable"), {"reason": "房屋已转让，原业主账户停用"})
    assert done.status_code == 302
    account.refresh_from_db()
    assert not account.is_active and account.disabled_reason == "房屋已转让，原业主账户停用"
    assert account.disabled_at is not None and account.disabled_by.username == "cmanager"
    entries = LogEntry.objects.get_for_object(account)
    assert any(e.changes_dict.get("disabled_reason", [None, None])[1]
               == "房屋已转让，原业主账户停用" for e in entries)
    page = manager.get(LIST).content.decode()
    assert 'data-status="disabled"' in page and "房屋已转让" in page
    again = manager.post(action_url(account, "enable"))
    assert again.status_code == 302
    assert OwnerAccount.objects.get(pk=account.pk).is_active


def test_a_disabled_owner_is_signed_out_at_once_page_and_api(owners, owner_client, manager):
    client = owner_client(owners["a"])
    assert client.get("/owner/").status_code == 200
    assert client.get("/api/v1/portal/units/").status_code == 200
    manager.post(action_url(owners["a"], "disable"), {"reason": "业主申请注销"})
    gone = client.get("/owner/")
    assert gone.status_code == 302 and gone["Location"].startswith("/owner/login/")
    assert client.get("/api/v1/portal/units/").status_code in (401, 403)
    # the other owner is not affected
    assert owner_client(owners["b"]).get("/owner/").status_code == 200


def test_a_disabled_owner_cannot_sign_in_and_is_told_why(owners, manager, sms):
    account = owners["a"]
    client = Client()
    # a code asked for before the account was disabled
    client.post("/owner/login/", {"action": "send", "phone": account.phone})
    code = re.search(r"\d{6}", sms[-1][1]).group(0)
    manager.post(action_url(account, "disable"), {"reason": "业主申请注销"})
    by_code = client.post("/owner/login/", {"action": "code", "phone": account.phone,
                                            "code": code})
    assert by_code.status_code == 400 and "停用" in by_code.content.decode()
    by_password = client.post("/owner/login/", {"action": "password", "mode": "password",
                                                "phone": account.phone, "password": PASSWORD})
    assert by_password.status_code == 400 and "停用" in by_password.content.decode()
    assert "anju_owner" not in by_password.cookies
    # a wrong password says nothing about the account
    wrong = client.post("/owner/login/", {"action": "password", "mode": "password",
                                          "phone": account.phone, "password": "nope-nope-1"})
    assert wrong.status_code == 400 and "停用" not in wrong.content.decode()
    # a new code request answers as for any number; the SMS tells the holder why, no code
    sms.clear()
    OneTimeCode.objects.all().delete()
    asked = client.post("/owner/login/", {"action": "send", "phone": account.phone})
    assert asked.status_code == 200 and len(sms) == 1
    assert "停用" in sms[0][1] and not re.search(r"\d{6}", sms[0][1])
    # enabled again: the password works
    manager.post(action_url(account, "enable"))
    back = client.post("/owner/login/", {"action": "password", "mode": "password",
                                         "phone": account.phone, "password": PASSWORD})
    assert back.status_code == 302
