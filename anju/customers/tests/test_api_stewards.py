"""The API of data stewards and imports: duplicate candidates, dismissal, merge, merge history;
upload -> preview -> mapping -> start -> progress -> rejected rows."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from anju.customers.models import Customer, ImportJob, Interaction, MergeRecord

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"


@pytest.fixture
def twins(people, make_customer):
    first = make_customer("张三", phones=["13800138000"], owner=people["consultant"])
    second = make_customer("张三", phones=["13800138001"], owner=people["peer"])
    Interaction.objects.create(customer=second, user=people["peer"], kind="call",
                               occurred_at=second.created_at, outcome="电话沟通")
    return first, second


# --- duplicates ---------------------------------------------------------------------------------
def test_duplicates_list_pairs_with_reasons_for_stewards(people, api_for, twins):
    first, second = twins
    response = api_for(people["manager"]).get("/api/v1/duplicates/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert len(body["results"]) == 1
    pair = body["results"][0]
    assert (pair["first"]["id"], pair["second"]["id"]) == (first.pk, second.pk)
    assert "name_phone_typo" in pair["kinds"] and pair["reasons"]
    assert pair["first"]["phone"] == "138****8000"
    assert body["next"] is None


def test_duplicates_are_for_stewards_only(people, api_for, twins):
    response = api_for(people["consultant"]).get("/api/v1/duplicates/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_duplicates_bad_kind_names_the_field(people, api_for):
    response = api_for(people["manager"]).get("/api/v1/duplicates/?kind=bogus")
    assert response.status_code == 400 and "kind" in response.json()["fields"]


def test_dismissed_pair_is_no_longer_offered(people, api_for, twins):
    client = api_for(people["manager"])
    first, second = twins
    response = client.post("/api/v1/duplicates/dismiss/", {"first": first.pk,
                                                           "second": second.pk,
                                                           "note": "双胞胎"})
    assert response.status_code == 204
    assert client.get("/api/v1/duplicates/").json()["results"] == []


def test_duplicates_query_count_is_constant(people, api_for, make_customer):
    client = api_for(people["manager"])
    make_customer("甲", phones=["13600000000"], owner=people["consultant"])
    make_customer("甲", phones=["13600000001"], owner=people["consultant"])
    client.get("/api/v1/duplicates/")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/duplicates/")
    for index in range(4):
        make_customer(f"乙{index}", phones=[f"1350000{index}000"], owner=people["peer"])
        make_customer(f"乙{index}", phones=[f"1350000{index}001"], owner=people["peer"])
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/duplicates/").json()["results"]) == 5
    assert len(many.captured_queries) == len(few.captured_queries)


# --- merge --------------------------------------------------------------------------------------
def test_merge_moves_everything_and_is_recorded(people, api_for, twins):
    first, second = twins
    client = api_for(people["manager"])
    response = client.post(f"{URL}{first.pk}/merge/", {
        "merged": second.pk, "reason": "同一人，号码输错", "versions": {str(second.pk): 1}},
        format="json")
    assert response.status_code == 201, response.json()
    record = MergeRecord.objects.get()
    assert response.json()["id"] == record.pk and response.json()["survivor"] == first.pk
    assert Customer.objects.get(pk=second.pk).merged_into_id == first.pk
    assert Interaction.objects.get().customer_id == first.pk
    assert sorted(first.phones.values_list("e164", flat=True)) == [
        "+8613800138000", "+8613800138001"]
    assert client.get(f"{URL}{second.pk}/").status_code == 404
    history = client.get(f"{URL}{first.pk}/merges/").json()
    assert [row["merged"] for row in history] == [second.pk]
    ids = [row["id"] for row in client.get(URL).json()["results"]]
    assert second.pk not in ids and first.pk in ids


def test_merge_is_for_stewards_and_needs_a_reason(people, api_for, twins):
    first, second = twins
    consultant = api_for(people["consultant"])
    assert consultant.post(f"{URL}{first.pk}/merge/", {"merged": second.pk, "reason": "x"}
                           ).status_code == 403
    manager = api_for(people["manager"])
    response = manager.post(f"{URL}{first.pk}/merge/", {"merged": second.pk, "reason": ""})
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    stale = manager.post(f"{URL}{first.pk}/merge/", {
        "merged": second.pk, "reason": "同一人", "versions": {str(second.pk): 7}},
        format="json")
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    assert not MergeRecord.objects.exists()
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


def test_merge_of_a_customer_out_of_scope_is_404(people, api_for, make_customer, org):
    mine = make_customer("张三", owner=people["consultant"])
    elsewhere = make_customer("张三", owner=people["outsider"], project=org["c"])
    response = api_for(people["manager"]).post(f"{URL}{mine.pk}/merge/", {
        "merged": elsewhere.pk, "reason": "同一人"})
    assert response.status_code == 404
    assert Customer.objects.get(pk=elsewhere.pk).merged_into_id is None


# --- imports ------------------------------------------------------------------------------------
CSV = ("姓名,手机号,身份证号,性别,预算(万元)\n"
       "王小明,13800138000,,男,300\n"
       "李小红,1380013,,女,200\n"
       "=cmd|' /C calc'!A0,abc,,男,\n"
       "赵大勇,13900139000,,男,500\n")


def upload(client, content: str = CSV, name: str = "客户.csv", **extra):
    file = SimpleUploadedFile(name, content.encode("utf-8"), content_type="text/csv")
    return client.post("/api/v1/imports/", {"file": file, **extra}, format="multipart")


def test_import_upload_preview_start_progress_and_rejected_rows(
        people, org, api_for, make_customer, django_capture_on_commit_callbacks):
    make_customer("赵大勇", phones=["13900139000"], owner=people["peer"])
    client = api_for(people["consultant"])
    response = upload(client, project=org["a"].pk)
    assert response.status_code == 201, response.json()
    job = response.json()
    assert job["state"] == "uploaded" and job["headers"][:2] == ["姓名", "手机号"]
    assert job["columns"]["0"] == "name" and job["columns"]["1"] == "phone"
    assert Customer.objects.count() == 1  # nothing imported yet

    preview = client.get(f"/api/v1/imports/{job['id']}/preview/").json()
    assert [row["status"] for row in preview["rows"]] == ["ok", "rejected", "rejected",
                                                          "duplicate"]
    assert preview["rows"][1]["reasons"]
    assert preview["seen_before"] is None

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"/api/v1/imports/{job['id']}/start/")
    assert started.status_code == 202
    status = client.get(f"/api/v1/imports/{job['id']}/").json()
    assert status["state"] == "done" and status["progress"] == 100.0
    assert (status["created_count"], status["duplicate_count"], status["rejected_count"]) == (
        1, 1, 2)
    assert Customer.objects.filter(name="王小明", owner=people["consultant"]).exists()

    sheet = client.get(f"/api/v1/imports/{job['id']}/rejected/")
    assert sheet.status_code == 200
    assert "attachment" in sheet["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(b"".join(sheet.streaming_content))).active.values)
    assert len(rows) == 3 and rows[1][-1] == 3
    assert not str(rows[2][0]).startswith("=")  # neutralised: no formula

    again = client.post(f"/api/v1/imports/{job['id']}/start/")
    assert again.status_code == 400 and "state" in again.json()["fields"]
    assert [row["id"] for row in client.get("/api/v1/imports/").json()["results"]] == [
        job["id"]]


def test_import_mapping_for_odd_headers(people, org, api_for):
    client = api_for(people["consultant"])
    job = upload(client, "who,mobile number\n王小明,13800138000\n", "odd.csv",
                 project=org["a"].pk).json()
    bad = client.put(f"/api/v1/imports/{job['id']}/mapping/", {"columns": {"0": "nonsense"}},
                     format="json")
    assert bad.status_code == 400 and "mapping" in bad.json()["fields"]
    done = client.put(f"/api/v1/imports/{job['id']}/mapping/",
                      {"columns": {"0": "name", "1": "phone"}}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["columns"] == {"0": "name", "1": "phone"}
    assert done.json()["state"] == "previewed"


def test_import_bad_upload_names_the_field(people, org, api_for):
    client = api_for(people["consultant"])
    response = client.post("/api/v1/imports/", {"project": org["a"].pk}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["fields"]
    empty = upload(client, "", "empty.csv", project=org["a"].pk)
    assert empty.status_code == 400 and "file" in empty.json()["fields"]
    foreign = upload(client, project=org["c"].pk)
    assert foreign.status_code == 400 and "project" in foreign.json()["fields"]
    assert not ImportJob.objects.exists()


def test_import_jobs_of_others_are_404(people, org, api_for):
    job = upload(api_for(people["consultant"]), project=org["a"].pk).json()
    other = api_for(people["consultant_b"])
    assert other.get(f"/api/v1/imports/{job['id']}/").status_code == 404
    assert other.post(f"/api/v1/imports/{job['id']}/start/").status_code == 404
    assert other.get(f"/api/v1/imports/{job['id']}/rejected/").status_code == 404


def test_import_list_query_count_is_constant(people, org, api_for):
    client = api_for(people["consultant"])
    upload(client, project=org["a"].pk)
    client.get("/api/v1/imports/")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/imports/")
    for index in range(3):
        upload(client, CSV + f"新客{index},1370000000{index}\n", project=org["a"].pk)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/imports/").json()["results"]) == 4
    assert len(many.captured_queries) == len(few.captured_queries)
