"""A client that retries a write with the same Idempotency-Key gets the first answer back,
and the write happens once."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from anju.core.api.idempotency import idempotency_prune
from anju.core.models import IdempotencyRecord
from anju.core.tests.platform_helpers import CountingView, make_company, make_user, model

pytestmark = [pytest.mark.django_db, pytest.mark.urls("anju.core.tests.platform_helpers")]


@pytest.fixture
def user():
    return make_user("wang", scope_level="all")


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_replay_returns_the_identical_first_response_and_writes_once(api, user):
    company = make_company()
    body = {"name": "滨江一号", "code": "bj1", "company": company.pk}
    first = api.post("/api/v1/projects/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    again = api.post("/api/v1/projects/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert model("accounts.Project").objects.filter(code="bj1").count() == 1
    record = IdempotencyRecord.objects.get(user=user, key="k-1")
    assert record.state == IdempotencyRecord.State.DONE
    assert record.response_status == 201


def test_replay_does_not_run_the_view_again(api):
    CountingView.calls = 0
    first = api.post("/api/v1/counting/", {"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY="c")
    again = api.post("/api/v1/counting/", {"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY="c")
    assert CountingView.calls == 1
    assert first.json() == again.json() == {"call": 1, "echo": {"a": 1}}


def test_without_a_key_every_request_runs(api):
    CountingView.calls = 0
    api.post("/api/v1/counting/", {"a": 1}, format="json")
    api.post("/api/v1/counting/", {"a": 1}, format="json")
    assert CountingView.calls == 2
    assert not IdempotencyRecord.objects.exists()


def test_same_key_with_a_different_body_is_422(api):
    api.post("/api/v1/counting/", {"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = api.post("/api/v1/counting/", {"a": 2}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert response.json()["message"]


def test_same_key_on_another_path_is_422(api):
    api.post("/api/v1/counting/", {"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = api.post("/api/v1/echo/", {"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422


def test_keys_belong_to_one_user(api):
    CountingView.calls = 0
    api.post("/api/v1/counting/", {"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = APIClient()
    other.force_authenticate(make_user("zhao"))
    response = other.post("/api/v1/counting/", {"a": 1}, format="json",
                          HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert CountingView.calls == 2


def test_a_duplicate_while_the_first_is_in_progress_is_409(api, user):
    # Learn the request's fingerprint from a finished run under another key, then pretend a
    # first request with key "busy" is still running (its row inserted, no response yet).
    CountingView.calls = 0
    api.post("/api/v1/counting/", {"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY="probe")
    fingerprint = IdempotencyRecord.objects.get(key="probe").request_fingerprint
    IdempotencyRecord.objects.create(user=user, key="busy", method="POST",
                                     path="/api/v1/counting/", request_fingerprint=fingerprint)
    response = api.post("/api/v1/counting/", {"a": 1}, format="json",
                        HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert CountingView.calls == 1  # only the probe ran
    assert IdempotencyRecord.objects.get(key="busy").state == IdempotencyRecord.State.IN_PROGRESS


def test_a_server_error_is_not_stored_so_the_client_may_retry(api):
    CountingView.calls = 0
    failed = api.post("/api/v1/counting/", {"fail": True}, format="json",
                      HTTP_IDEMPOTENCY_KEY="retry-me")
    assert failed.status_code == 500
    assert not IdempotencyRecord.objects.filter(key="retry-me").exists()
    again = api.post("/api/v1/counting/", {"fail": True}, format="json",
                     HTTP_IDEMPOTENCY_KEY="retry-me")
    assert again.status_code == 500
    assert "Idempotent-Replayed" not in again
    assert CountingView.calls == 2


def test_a_client_error_is_replayed_too(api):
    first = api.post("/api/v1/echo/", {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    again = api.post("/api/v1/echo/", {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    assert first.status_code == again.status_code == 400
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"


def test_an_over_long_key_is_a_field_error(api):
    response = api.post("/api/v1/counting/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 200)
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"Idempotency-Key"}


def test_delete_and_patch_are_idempotent(api):
    company = make_company()
    project = model("accounts.Project").objects.create(company=company, name="甲", code="a")
    url = f"/api/v1/projects/{project.pk}/"
    one = api.patch(url, {"city": "杭州", "version": 1}, format="json", HTTP_IDEMPOTENCY_KEY="p")
    two = api.patch(url, {"city": "杭州", "version": 1}, format="json", HTTP_IDEMPOTENCY_KEY="p")
    assert one.status_code == two.status_code == 200  # not a 409: the retry is the same write
    assert two["Idempotent-Replayed"] == "true"
    gone = api.delete(url, HTTP_IDEMPOTENCY_KEY="d")
    again = api.delete(url, HTTP_IDEMPOTENCY_KEY="d")
    assert gone.status_code == again.status_code == 204
    assert again["Idempotent-Replayed"] == "true"


def test_get_ignores_the_key(api):
    api.get("/api/v1/projects/", HTTP_IDEMPOTENCY_KEY="g")
    assert not IdempotencyRecord.objects.exists()


def test_prune_deletes_only_old_records(user):
    old = IdempotencyRecord.objects.create(user=user, key="old", method="POST", path="/",
                                           request_fingerprint="f")
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=30))
    IdempotencyRecord.objects.create(user=user, key="new", method="POST", path="/",
                                     request_fingerprint="f")
    assert idempotency_prune(older_than=timedelta(hours=24)) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
