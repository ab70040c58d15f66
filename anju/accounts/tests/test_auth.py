"""Sign-in, lockout, session timeouts, disabling, password change, token sign-in."""

import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anju.accounts import services
from anju.accounts.models import UserSession
from anju.accounts.signals import SESSION_LAST_SEEN_KEY, SESSION_STARTED_KEY

pytestmark = pytest.mark.django_db
PASSWORD = "x-secret-pass-2026"


def test_base_settings_hash_passwords_with_argon2():
    from anju.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_login_page_is_in_chinese_and_signs_in(people, client):
    page = client.get(reverse("accounts:login"))
    assert page.status_code == 200
    assert "登录" in page.content.decode()
    response = client.post(reverse("accounts:login"),
                           {"username": "consultant1", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    record = UserSession.objects.get(user=people["consultant"])
    assert record.session_key == client.session.session_key


def test_wrong_password_shows_an_error_not_a_500(people, client):
    response = client.post(reverse("accounts:login"),
                           {"username": "consultant1", "password": "wrong"})
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()


def test_lockout_after_repeated_failures(people, client):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert client.post(reverse("accounts:login"),
                           {"username": "consultant1", "password": "wrong"}).status_code == 200
    locked = client.post(reverse("accounts:login"),
                         {"username": "consultant1", "password": "wrong"})
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.content.decode()
    # Even the right password is refused while locked.
    again = client.post(reverse("accounts:login"),
                        {"username": "consultant1", "password": PASSWORD})
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_token_sign_in_and_its_lockout(people):
    api = APIClient()
    good = api.post("/api/v1/auth/token/", {"username": "manager1", "password": PASSWORD})
    assert good.status_code == 200
    token = good.json()["token"]
    assert Token.objects.get(user=people["manager"]).key == token
    authed = APIClient()
    authed.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert authed.get("/api/v1/me/").json()["username"] == "manager1"

    bad = api.post("/api/v1/auth/token/", {"username": "manager1", "password": "nope"})
    assert bad.status_code == 400
    for _ in range(settings.AXES_FAILURE_LIMIT):
        last = api.post("/api/v1/auth/token/", {"username": "manager1", "password": "nope"})
    assert last.status_code == 429
    locked = api.post("/api/v1/auth/token/", {"username": "manager1", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked_out"


def test_token_request_with_wrong_types_is_a_field_error(db):
    response = APIClient().post("/api/v1/auth/token/", {"username": ["a", "b"]}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["fields"]


def _age_session(client, *, started_ago=0, last_seen_ago=0):
    session = client.session
    now = time.time()
    session[SESSION_STARTED_KEY] = now - started_ago
    session[SESSION_LAST_SEEN_KEY] = now - last_seen_ago
    session.save()


def test_idle_session_is_logged_out_with_a_message(people, client):
    client.force_login(people["consultant"])
    assert client.get(reverse("accounts:me")).status_code == 200
    _age_session(client, started_ago=settings.SESSION_IDLE_TIMEOUT_SECONDS + 5,
                 last_seen_ago=settings.SESSION_IDLE_TIMEOUT_SECONDS + 5)
    response = client.get(reverse("accounts:me"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?reason=idle")
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"]).content.decode()
    assert "由于长时间未操作" in page


def test_activity_keeps_the_session_alive(people, client):
    client.force_login(people["consultant"])
    _age_session(client, last_seen_ago=settings.SESSION_IDLE_TIMEOUT_SECONDS - 30)
    assert client.get(reverse("accounts:me")).status_code == 200
    assert client.get(reverse("accounts:me")).status_code == 200


def test_absolute_timeout_ends_even_an_active_session(people, client):
    client.force_login(people["consultant"])
    _age_session(client, started_ago=settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS + 5,
                 last_seen_ago=10)
    response = client.get(reverse("accounts:me"))
    assert response.status_code == 302
    assert "reason=expired" in response["Location"]


def test_htmx_request_on_an_expired_session_gets_hx_redirect(people, client):
    client.force_login(people["consultant"])
    _age_session(client, started_ago=10**6, last_seen_ago=10**6)
    response = client.get(reverse("accounts:me"), headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith(reverse("accounts:login"))


def test_token_requests_are_not_sessions(people):
    token = services.auth_token_issue(user=people["manager"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/me/").status_code == 200
    assert not Session.objects.exists()


def test_disabling_a_user_ends_every_session_and_token(people, client):
    consultant = people["consultant"]
    other_device = client.__class__()
    client.force_login(consultant)
    other_device.force_login(consultant)
    token = services.auth_token_issue(user=consultant)
    assert UserSession.objects.filter(user=consultant).count() == 2

    admin_client = client.__class__()
    admin_client.force_login(people["admin"])
    response = admin_client.post(reverse("accounts:user_disable", args=[consultant.pk]))
    assert response.status_code == 302

    consultant.refresh_from_db()
    assert not consultant.is_active
    assert not UserSession.objects.filter(user=consultant).exists()
    assert not Token.objects.filter(key=token.key).exists()
    assert Session.objects.filter(session_key=client.session.session_key).count() == 0
    assert client.get(reverse("accounts:me")).status_code == 302
    assert other_device.get(reverse("accounts:me")).status_code == 302
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/me/").status_code in (401, 403)
    # and cannot sign in again until enabled
    assert client.post(reverse("accounts:login"),
                       {"username": "consultant1", "password": PASSWORD}).status_code == 200
    services.user_enable(actor=people["admin"], user=consultant)
    assert client.post(reverse("accounts:login"),
                       {"username": "consultant1", "password": PASSWORD}).status_code == 302


def test_only_user_managers_may_disable(people):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.user_disable(actor=people["manager"], user=people["consultant"])
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        services.user_disable(actor=people["admin"], user=people["admin"])
    assert "is_active" in error.value.message_dict


def test_password_change(people, client):
    consultant = people["consultant"]
    client.force_login(consultant)
    url = reverse("accounts:password_change")
    assert client.get(url).status_code == 200
    wrong = client.post(url, {"old_password": "nope", "new_password1": "brand-new-pass-2026",
                              "new_password2": "brand-new-pass-2026"})
    assert wrong.status_code == 200
    assert "旧密码不正确" in wrong.content.decode()
    short = client.post(url, {"old_password": PASSWORD, "new_password1": "short",
                              "new_password2": "short"})
    assert short.status_code == 200
    assert "此密码太短" in short.content.decode()
    ok = client.post(url, {"old_password": PASSWORD, "new_password1": "brand-new-pass-2026",
                           "new_password2": "brand-new-pass-2026"})
    assert ok.status_code == 302
    consultant.refresh_from_db()
    assert consultant.check_password("brand-new-pass-2026")
    assert client.get(reverse("accounts:me")).status_code == 200  # this session survives


def test_logout_is_post_only_and_forgets_the_session(people, client):
    client.post(reverse("accounts:login"), {"username": "consultant1", "password": PASSWORD})
    assert UserSession.objects.count() == 1
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert UserSession.objects.count() == 0


def test_my_account_shows_role_scope_and_sessions(people, client, django_assert_max_num_queries):
    client.post(reverse("accounts:login"), {"username": "consultant1", "password": PASSWORD},
                REMOTE_ADDR="10.1.2.3")
    with django_assert_max_num_queries(8):
        page = client.get(reverse("accounts:me")).content.decode()
    assert "置业顾问" in page
    assert "四季花城" in page
    assert "10.1.2.3" in page
