"""The session's user comes with their role in one query; older sessions keep working."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db
PASSWORD = "x-secret-pass-2026"


def _user_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("accounts:me")).status_code == 200
    return [q["sql"] for q in captured.captured_queries
            if 'FROM "accounts_user"' in q["sql"] or 'FROM "accounts_role"' in q["sql"]]


def test_signed_in_user_and_role_in_one_query(people, client):
    assert client.post(reverse("accounts:login"),
                       {"username": "consultant1", "password": PASSWORD}).status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == "anju.accounts.backends.ModelWithRoleBackend"
    first = _user_queries(client)[0]
    assert 'FROM "accounts_user"' in first and '"accounts_role"' in first
    assert not any(sql.lstrip().startswith('SELECT "accounts_role"')
                   for sql in _user_queries(client))


def test_a_session_of_django_s_model_backend_still_signs_in(people, client):
    client.force_login(people["consultant"],
                       backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(reverse("accounts:me")).status_code == 200


def test_a_disabled_user_is_signed_out(people, client):
    client.force_login(people["consultant"])
    people["consultant"].is_active = False
    people["consultant"].save(update_fields=["is_active"])
    response = client.get(reverse("accounts:me"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
