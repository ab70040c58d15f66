"""Every API error comes back as JSON with a stable code, a translated message and, for bad
input, the names of the fields at fault; nothing answers with an HTML page or a traceback."""

import json

import pytest
from rest_framework.test import APIClient

from anju.core.tests.platform_helpers import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls("anju.core.tests.platform_helpers")]


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(make_user("li"))
    return client


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "安居", "count": "many"}, {"count"}),          # wrong type
        ({"name": "太长的名字" * 3, "count": 1}, {"name"}),        # over-long text
        ({}, {"name", "count"}),                                  # missing fields
        ({"name": 12.5, "count": [1]}, {"count"}),                # nonsense types
    ],
)
def test_validation_errors_name_the_fields(api, body, fields):
    response = api.post("/api/v1/echo/", body, format="json")
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "invalid"
    assert set(data["fields"]) == fields
    assert all(isinstance(msgs, list) and msgs for msgs in data["fields"].values())
    assert data["message"]


def test_validation_summary_is_in_the_users_language(api):
    english = api.post("/api/v1/echo/", {"count": "x"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["message"] == "Please correct these fields: name, count."
    assert english.json()["fields"]["name"] == ["This field is required."]
    chinese = api.post("/api/v1/echo/", {"count": "x"}, format="json",
                       HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.json()["fields"]["name"] == ["该字段是必填项。"]
    assert "name" in chinese.json()["message"]
    assert chinese.json()["message"] != english.json()["message"]


def test_malformed_json_is_a_400_not_a_500(api):
    response = api.post("/api/v1/echo/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_django_validation_error_from_a_service_keeps_its_fields(api):
    response = api.post("/api/v1/service-error/", {"kind": "validation"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"phone": ["Enter a valid mobile number."]}
    plain = api.post("/api/v1/service-error/", {"kind": "validation_plain"}, format="json")
    assert plain.status_code == 400
    assert plain.json()["fields"] == {"non_field_errors": ["The unit is no longer available."]}


def test_permission_denied_from_a_service_is_403(api):
    response = api.post("/api/v1/service-error/", {"kind": "permission"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"code": "permission_denied",
                               "message": "Only managers may approve discounts."}


def test_missing_object_from_a_service_is_404(api):
    response = api.post("/api/v1/service-error/", {"kind": "missing"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unhandled_error_is_a_json_500_without_internals(api, caplog):
    response = api.post("/api/v1/service-error/", {"kind": "boom"}, format="json")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    body = response.content.decode()
    assert json.loads(body)["code"] == "server_error"
    assert "hunter2" not in body and "RuntimeError" not in body and "Traceback" not in body
    assert "RuntimeError" in caplog.text  # the operator still gets the traceback


def test_unauthenticated_is_401_with_a_challenge():
    response = APIClient().post("/api/v1/echo/", {"name": "a", "count": 1}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Token")


def test_bad_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_method_not_allowed_is_405(api):
    response = api.get("/api/v1/echo/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "POST" in response["Allow"]


def test_not_found_is_404(api):
    response = api.get("/api/v1/projects/999999/")
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message"}


def test_throttled_is_429_with_retry_after(api):
    response = api.get("/api/v1/throttled/")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert response.json()["retry_after"] == 30
    assert response["Retry-After"] == "30"
