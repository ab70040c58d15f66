"""Owners sign in with a phone and a one-time SMS code (hashed, expiring, limited attempts,
rate-limited, never saying whether a number has an account) or a password; the owner's
session is its own cookie, apart from staff sessions."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from anju.portal.models import OneTimeCode, OwnerAccount
from anju.portal.services import CODE_ATTEMPTS

from .portal_fixtures import *  # noqa: F403
from .portal_fixtures import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = "/owner/login/"


def send_code(client: Client, phone: str):
    return client.post(LOGIN, {"action": "send", "phone": phone})


def code_of(sms) -> str:
    return re.search(r"\d{6}", sms[-1][1]).group(0)


def test_an_owner_signs_in_with_a_code_sent_by_sms_and_sees_their_units(owners, sms, estate):
    client = Client()
    phone = owners["a"].phone
    sent = send_code(client, phone)
    assert sent.status_code == 200 and len(sms) == 1 and sms[0][0] == phone
    code = code_of(sms)
    stored = OneTimeCode.objects.get()
    assert code not in stored.code_hash  # only a keyed hash is kept
    signed = client.post(LOGIN, {"action": "code", "phone": phone, "code": code,
                                 "next": "/owner/"})
    assert signed.status_code == 302 and signed["Location"] == "/owner/"
    assert "anju_owner" in signed.cookies and signed.cookies["anju_owner"]["httponly"]
    home = client.get("/owner/").content.decode()
    assert "7-101" in home and "7-102" not in home
    # the code is spent
    again = Client().post(LOGIN, {"action": "code", "phone": phone, "code": code})
    assert again.status_code == 400


def test_wrong_codes_count_and_the_code_dies_after_the_limit(owners, sms):
    client = Client()
    phone = owners["a"].phone
    send_code(client, phone)
    code = code_of(sms)
    wrong = "000000" if code != "000000" else "111111"
    for _attempt in range(CODE_ATTEMPTS):
        answer = client.post(LOGIN, {"action": "code", "phone": phone, "code": wrong})
        assert answer.status_code == 400
        assert 'data-field="code"' in answer.content.decode()
    assert OneTimeCode.objects.get().attempts == CODE_ATTEMPTS
    assert client.post(LOGIN, {"action": "code", "phone": phone,
                               "code": code}).status_code == 400


def test_an_expired_code_is_refused(owners, sms):
    client = Client()
    send_code(client, owners["a"].phone)
    OneTimeCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert client.post(LOGIN, {"action": "code", "phone": owners["a"].phone,
                               "code": code_of(sms)}).status_code == 400


def test_codes_are_rate_limited_and_unknown_numbers_get_the_same_answer(owners, sms):
    client = Client()
    first = send_code(client, owners["a"].phone)
    again = send_code(client, owners["a"].phone)
    assert again.status_code == 429 and len(sms) == 1
    unknown = send_code(Client(), "13912345678")
    assert unknown.status_code == 200 and len(sms) == 1  # nothing sent, same words
    assert first.content.decode().count("notice") == unknown.content.decode().count("notice")
    bad = send_code(Client(), "12")
    assert bad.status_code == 400 and 'data-field="phone"' in bad.content.decode()


def test_an_owner_without_an_account_opens_it_with_a_code(estate, sms):
    customer = estate["owners"]["7-201"]
    client = Client()
    send_code(client, customer.primary_phone)
    assert len(sms) == 1
    signed = client.post(LOGIN, {"action": "code", "phone": customer.primary_phone,
                                 "code": code_of(sms)})
    assert signed.status_code == 302
    account = OwnerAccount.objects.get(customer=customer)
    assert not account.user.has_usable_password() and account.user.role_id is None


def test_password_sign_in_and_a_wrong_password(owners):
    client = Client()
    wrong = client.post(LOGIN, {"action": "password", "mode": "password",
                                "phone": owners["b"].phone, "password": "nope"})
    assert wrong.status_code == 400 and 'data-field="password"' in wrong.content.decode()
    right = client.post(LOGIN, {"action": "password", "mode": "password",
                                "phone": owners["b"].phone, "password": PASSWORD})
    assert right.status_code == 302
    assert "7-102" in client.get("/owner/").content.decode()


def test_anonymous_visitors_go_to_the_portal_login(owners):
    for url in ("/owner/", "/owner/tickets/new/", "/owner/tickets/1/", "/owner/handover/1/"):
        answer = Client().get(url)
        assert answer.status_code == 302
        assert answer["Location"].startswith("/owner/login/?next=")
    assert Client().get("/api/v1/portal/tickets/").status_code in (401, 403)


def test_staff_and_owner_sessions_are_separate(owners, care_staff, owner_client):
    staff = Client()
    staff.force_login(care_staff["manager"])
    # a staff session is not an owner session
    assert staff.get("/owner/")["Location"].startswith("/owner/login/")
    assert staff.get("/api/v1/portal/tickets/").status_code in (401, 403)
    # an owner session opens no staff page or staff API
    owner = owner_client(owners["a"])
    assert owner.get("/owner/").status_code == 200
    staff_page = owner.get(reverse("aftersales:handover_list"))
    assert staff_page.status_code == 302 and "/owner/" not in staff_page["Location"]
    assert owner.get("/api/v1/customers/").status_code in (401, 403)
    # the owner's acting user cannot sign in to the staff side
    staff_login = Client().post(reverse("accounts:login"), {
        "username": owners["a"].user.username, "password": PASSWORD})
    assert staff_login.status_code == 200  # the form again, not a redirect into the app
    assert "_auth_user_id" not in staff_login.client.session


def test_sign_out_ends_the_owner_session(owners, owner_client):
    client = owner_client(owners["a"])
    assert client.post("/owner/logout/").status_code == 302
    assert client.get("/owner/").status_code == 302
