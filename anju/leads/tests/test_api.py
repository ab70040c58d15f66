import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from anju.leads import agency, services
from anju.leads.models import ChannelCost, Lead, LeadSource

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(org, staff, channels):
    made, key = services.lead_source_create(actor=staff["manager"], name="抖音表单",
                                            channel=channels["douyin"], project=org["a"])
    return made, key


@pytest.fixture
def post_lead(django_capture_on_commit_callbacks):
    """Posts as a source. The answer comes before the worker (202 queued); the worker's task
    then runs as the post commits (immediate backend), so the lead exists after the call."""

    def post(key, body, idem=None):
        client = APIClient()
        headers = {"HTTP_X_LEAD_SOURCE_KEY": key}
        if idem:
            headers["HTTP_IDEMPOTENCY_KEY"] = idem
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/v1/lead-capture/", body, format="json", **headers)

    return post


def test_source_key_capture_with_idempotency(org, staff, roster, source, post_lead):
    made, key = source
    assert LeadSource.objects.get().key_hash != key and key not in str(
        LeadSource.objects.values_list())
    body = {"name": "张伟", "phone": "13800138000", "budget_wan": "300"}
    first = post_lead(key, body, idem="abc-1")
    assert first.status_code == 202, first.content
    assert set(first.json()) == {"receipt", "id", "status", "duplicate"}
    lead = Lead.objects.get()
    assert lead.source == made and lead.channel.code == "douyin" and lead.method == "api"
    # the retry after the worker made the lead answers with the lead
    again = post_lead(key, body, idem="abc-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["receipt"] == first.json()["receipt"]
    assert again.json()["id"] == lead.pk and Lead.objects.count() == 1
    other = post_lead(key, {**body, "name": "李四"}, idem="abc-1")
    assert other.status_code == 422
    # same person again without a key: the open lead is updated, not doubled
    dup = post_lead(key, body)
    told = APIClient().get(f"/api/v1/lead-capture/{dup.json()['receipt']}/",
                           HTTP_X_LEAD_SOURCE_KEY=key).json()
    assert told["duplicate"] is True and told["id"] == lead.pk
    assert Lead.objects.count() == 1


def test_source_key_required_and_errors_name_the_field(org, staff, source, post_lead):
    _made, key = source
    assert post_lead("nope", {"name": "张伟", "phone": "13800138000"}).status_code in (401, 403)
    bad = post_lead(key, {"name": "<img src=x>", "phone": "12"})
    assert bad.status_code == 400
    assert {"name", "phone"} <= set(bad.json()["fields"])
    assert Lead.objects.count() == 0


def test_staff_api_queue_detail_actions_and_query_counts(org, staff, roster, api_for):
    for index in range(3):
        services.lead_capture(project=org["a"], name="客户", phone=f"1380000000{index}",
                              method="form")
    client = api_for(staff["c1"])
    client.get("/api/v1/leads/")  # the user's data scope is kept on the user object
    with CaptureQueriesContext(connection) as few:
        mine = client.get("/api/v1/leads/")
    assert mine.status_code == 200
    assert all(row["assigned_to"] == staff["c1"].pk for row in mine.json()["results"])
    assert mine.json()["results"][0]["phone"].count("*") == 4
    for index in range(10):
        services.lead_capture(project=org["a"], name="客户", phone=f"1380000100{index}",
                              method="form")
    with CaptureQueriesContext(connection) as many:
        client.get("/api/v1/leads/")
    assert len(many) == len(few) == 1
    lead_id = mine.json()["results"][0]["id"]
    contacted = client.post(f"/api/v1/leads/{lead_id}/contact/")
    assert contacted.status_code == 200 and contacted.json()["status"] == "contacted"
    detail = client.get(f"/api/v1/leads/{lead_id}/").json()
    assert [e["kind"] for e in detail["events"]][:2] == ["captured", "graded"]
    invalid = client.post(f"/api/v1/leads/{lead_id}/invalidate/", {"reason": ""})
    assert invalid.status_code == 400 and "reason" in invalid.json()["fields"]
    assert client.delete(f"/api/v1/leads/{lead_id}/").status_code == 405
    other = api_for(staff["cb"]).get(f"/api/v1/leads/{lead_id}/")
    assert other.status_code == 404
    forbidden = client.post(f"/api/v1/leads/{lead_id}/grade-override/",
                            {"grade": "A", "reason": "x"})
    assert forbidden.status_code == 403
    team = api_for(staff["manager"]).get("/api/v1/leads/?view=team&status=all")
    assert len(team.json()["results"]) == 13


def test_staff_capture_through_the_api(org, staff, roster, api_for):
    client = api_for(staff["c1"])
    created = client.post("/api/v1/leads/", {"project": org["a"].pk, "name": "王五",
                                             "phone": "13912345678", "timing": "3m"},
                          format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert created.status_code == 201, created.content
    replay = client.post("/api/v1/leads/", {"project": org["a"].pk, "name": "王五",
                                            "phone": "13912345678", "timing": "3m"},
                         format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert replay["Idempotent-Replayed"] == "true" and Lead.objects.count() == 1
    wrong = client.post("/api/v1/leads/", {"project": org["c"].pk, "name": "王五",
                                           "phone": "13912345679"}, format="json")
    assert wrong.status_code == 400 and "project" in wrong.json()["fields"]


def test_agent_registers_and_lists_only_their_own_masked(org, staff, agencies, api_for):
    n1 = api_for(agencies["n1"])
    answer = n1.post("/api/v1/agency-registrations/", {
        "project": org["a"].pk, "customer_name": "张伟", "phone": "13800138000"},
        format="json")
    assert answer.status_code == 201 and answer.json()["status"] == "accepted"
    assert answer.json()["phone"] == "138****8000"
    rival = api_for(agencies["s1"]).post("/api/v1/agency-registrations/", {
        "project": org["a"].pk, "customer_name": "张伟", "phone": "138****8000"},
        format="json").json()
    assert rival["status"] == "rejected" and "北城" not in rival["message"]
    listed = n1.get("/api/v1/agency-registrations/").json()["results"]
    assert [row["id"] for row in listed] == [answer.json()["id"]]
    assert "13800138000" not in str(listed)
    assert n1.get(f"/api/v1/agency-registrations/{rival['id']}/").status_code == 404
    trail = api_for(staff["manager"]).get(
        f"/api/v1/agency-registrations/{rival['id']}/trail/").json()
    assert [r["status"] for r in trail["registrations"]] == ["accepted", "rejected"]
    visit = api_for(staff["c3"]).post(
        f"/api/v1/agency-registrations/{answer.json()['id']}/confirm-visit/")
    assert visit.status_code == 200 and visit.json()["status"] == "visited"
    assert n1.post(f"/api/v1/agency-registrations/{answer.json()['id']}/confirm-visit/"
                   ).status_code in (403, 404)


def test_configuration_endpoints(org, staff, channels, api_for):
    client = api_for(staff["manager"])
    cost = client.post("/api/v1/lead-channel-costs/", {
        "channel": channels["douyin"].pk, "project": org["a"].pk, "period_start": "2026-11-01",
        "period_end": "2026-11-30", "amount": "30000"}, format="json")
    assert cost.status_code == 201, cost.content
    bad = client.post("/api/v1/lead-channel-costs/", {
        "channel": channels["douyin"].pk, "project": org["a"].pk, "period_start": "2026-11-30",
        "period_end": "2026-11-01", "amount": "1"}, format="json")
    assert bad.status_code == 400 and "period_end" in bad.json()["fields"]
    made = client.post("/api/v1/lead-sources/", {"name": "安居客", "channel": channels["web"].pk,
                                                 "project": org["a"].pk}, format="json")
    assert made.status_code == 201 and made.json()["key"].startswith(made.json()["key_prefix"])
    assert "key" not in client.get("/api/v1/lead-sources/").json()["results"][0]
    roster = client.post("/api/v1/lead-duty-rosters/", {
        "project": org["a"].pk, "consultants": [staff["c2"].pk, staff["c1"].pk],
        "absent": [staff["c1"].pk]}, format="json")
    assert roster.status_code == 201
    assert [e["consultant"] for e in roster.json()["entries"]] == [staff["c2"].pk,
                                                                   staff["c1"].pk]
    rule = client.post("/api/v1/lead-assignment-rules/", {
        "project": org["a"].pk, "order": 5, "grade": "A", "consultants": [staff["c2"].pk]},
        format="json")
    assert rule.status_code == 201, rule.content
    grading = client.post("/api/v1/lead-grading-rules/", {
        "field": "budget_wan", "op": "gte", "value": "abc", "points": 5}, format="json")
    assert grading.status_code == 400 and "value" in grading.json()["fields"]
    consultant = api_for(staff["c1"])
    assert consultant.post("/api/v1/lead-channel-costs/", {
        "channel": channels["douyin"].pk, "project": org["a"].pk, "period_start": "2026-11-01",
        "period_end": "2026-11-30", "amount": "1"}, format="json").status_code == 403
    assert ChannelCost.objects.count() == 1


def test_report_counts_rates_and_cost_per_lead(org, staff, channels, roster, api_for):
    today = timezone.localdate()
    services.channel_cost_add(actor=staff["manager"], channel=channels["douyin"],
                              project=org["a"], period_start=today, period_end=today,
                              amount=Decimal("1000"))
    leads = [services.lead_capture(project=org["a"], name="客户", phone=f"1390000000{i}",
                                   method="form", channel=channels["douyin"]).lead
             for i in range(4)]
    services.lead_invalidate(actor=leads[0].assigned_to, lead=leads[0], reason="空号")
    services.lead_convert(actor=leads[1].assigned_to, lead=leads[1])
    client = api_for(staff["manager"])
    with CaptureQueriesContext(connection) as captured:
        data = client.get("/api/v1/lead-reports/?dimension=channel").json()
    assert len(captured) <= 12
    row = next(r for r in data["rows"] if r["label"] == "抖音")
    assert row["leads"] == 4 and row["valid_rate"] == 0.75 and row["conversion_rate"] == 0.25
    assert row["cost_per_lead"] == "250.00" and row["cost_per_deal"] == "1000.00"
    assert sum(day["leads"] for day in data["days"]) == 4
    for dimension in ("agency", "project", "consultant"):
        assert client.get(f"/api/v1/lead-reports/?dimension={dimension}").status_code == 200
    assert client.get("/api/v1/lead-reports/?dimension=nope").status_code == 400


def test_commission_list_is_scoped(org, staff, agencies, make_customer, api_for):
    agency.registration_submit(actor=agencies["n1"], project=org["a"], customer_name="张伟",
                               phone="13800138000")
    customer = make_customer("张伟", phones=["13800138000"])
    agency.registration_credit_deal(customer_id=customer.pk, project_id=org["a"].pk,
                                    deal_reference="HT-9", amount=Decimal(2000000),
                                    signed_at=timezone.now() + datetime.timedelta(hours=1))
    rows = api_for(staff["manager"]).get("/api/v1/agency-commissions/").json()["results"]
    assert rows[0]["amount"] == "20000.00"
    assert api_for(staff["cb"]).get("/api/v1/agency-commissions/").json()["results"] == []


def _sheet(rows) -> io.BytesIO:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    data.name = "展会名单.xlsx"
    return data


def test_import_keeps_bad_rows_in_an_error_sheet(org, staff, roster, channels, api_for,
                                                 make_customer):
    make_customer("老客户", phones=["13600136000"], owner=staff["c2"])
    upload = _sheet([["姓名", "手机", "预算", "备注"],
                     ["张伟", "13800138000", 300, ""],
                     ["<script>", "13800138001", "", ""],
                     ["李四", "12", "", ""],
                     ["老客户", "13600136000", "", ""],
                     [None, None, None, None],
                     ["王五", "13800138002", "", "+<b>加粗</b>"]])
    response = api_for(staff["c1"]).post("/api/v1/lead-imports/", {
        "project": org["a"].pk, "channel": channels["web"].pk, "file": upload},
        format="multipart")
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "done" and job["total_rows"] == 5 and job["error"] == ""
    assert (job["total"], job["created"], job["known"], job["rejected"]) == (5, 1, 1, 3)
    reasons = {row["row"]: row["reasons"] for row in job["rejected_rows"]}
    assert set(reasons) == {3, 4, 7}
    from anju.leads.importing import error_sheet
    from anju.leads.models import LeadImport

    book = openpyxl.load_workbook(error_sheet(LeadImport.objects.get()))
    values = list(book.active.iter_rows(values_only=True))
    assert len(values[0]) == 6 and values[3][5] == 7
    assert len(values) == 4 and values[3][3].startswith("'")


def test_an_import_waiting_for_the_worker_answers_202_and_can_be_followed(
        org, staff, roster, channels, api_for, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client = api_for(staff["c1"])
    response = client.post("/api/v1/lead-imports/", {
        "project": org["a"].pk, "file": _sheet([["姓名", "手机"], ["张伟", "13800138000"]])},
        format="multipart")
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "queued" and job["created"] == 0
    followed = client.get(f"/api/v1/lead-imports/{job['id']}/").json()
    assert followed["status"] == "queued" and followed["finished_at"] is None


def test_agencies_and_agents_are_made_by_managers(org, staff, channels, make_user, api_for,
                                                  client_for):
    client = api_for(staff["manager"])
    made = client.post("/api/v1/agencies/", {"company": org["first"].pk, "name": "链家",
                                             "contact_consultant": staff["c3"].pk,
                                             "commission_rate": "1.5"}, format="json")
    assert made.status_code == 201, made.content
    again = client.post("/api/v1/agencies/", {"company": org["first"].pk, "name": "链家"},
                        format="json")
    assert again.status_code == 400 and "name" in again.json()["fields"]
    bad = client.post("/api/v1/agencies/", {"company": org["first"].pk, "name": "X",
                                            "commission_rate": "300"}, format="json")
    assert bad.status_code == 400 and "commission_rate" in bad.json()["fields"]
    agent = make_user("newagent", "channel_agent", projects=[org["a"]])
    linked = client.post(f"/api/v1/agencies/{made.json()['id']}/agents/", {"user": agent.pk},
                         format="json")
    assert linked.status_code == 201 and linked.json()["agent_count"] == 1
    wrong = client.post(f"/api/v1/agencies/{made.json()['id']}/agents/",
                        {"user": staff["c1"].pk}, format="json")
    assert wrong.status_code == 400 and "user" in wrong.json()["fields"]
    assert api_for(staff["c1"]).post("/api/v1/agencies/", {
        "company": org["first"].pk, "name": "Y"}, format="json").status_code == 403
    page = client_for(staff["manager"]).post("/leads/agencies/", {
        "add_agency": "1", "company": org["first"].pk, "name": "<b>"})
    assert page.status_code == 400 and "name" in page.context["agency_form"].errors


def test_policy_endpoint_sets_a_projects_numbers(org, staff, api_for):
    client = api_for(staff["manager"])
    answer = client.post("/api/v1/lead-policies/", {"project": org["a"].pk,
                                                    "protection_days": 15,
                                                    "escalation_minutes": 10}, format="json")
    assert answer.status_code == 200, answer.content
    assert services.policy_for(org["a"].pk).protection_days == 15
    assert client.post("/api/v1/lead-policies/", {"protection_days": 1},
                       format="json").status_code == 403  # the default: admins only
    rows = client.get("/api/v1/lead-policies/").json()["results"]
    assert {row["project"] for row in rows} == {None, org["a"].pk}


@pytest.mark.parametrize("url", [
    "/api/v1/lead-channels/", "/api/v1/lead-channel-costs/", "/api/v1/lead-sources/",
    "/api/v1/lead-duty-rosters/", "/api/v1/lead-assignment-rules/",
    "/api/v1/lead-grading-rules/", "/api/v1/lead-imports/", "/api/v1/lead-reports/",
    "/api/v1/agencies/", "/api/v1/agency-registrations/", "/api/v1/agency-commissions/",
    "/api/v1/lead-policies/", "/api/v1/leads/?view=team&status=all",
])
def test_api_lists_have_a_constant_query_count(org, staff, channels, roster, agencies,
                                               api_for, url):
    client = api_for(staff["manager"])

    def grow(start):
        for index in range(start, start + 6):
            services.lead_capture(project=org["a"], name="客户", phone=f"1330000{index:04d}",
                                  method="form", channel=channels["web"])
            services.channel_cost_add(actor=staff["manager"], channel=channels["web"],
                                      project=org["a"], period_start=timezone.localdate(),
                                      period_end=timezone.localdate(), amount=10)
            services.lead_source_create(actor=staff["manager"], name=f"s{index}",
                                        channel=channels["web"], project=org["a"])
            services.assignment_rule_create(actor=staff["manager"], project=org["a"],
                                            order=index, grade="A",
                                            consultants=[staff["c1"], staff["c2"]])
            agency.registration_submit(actor=agencies["n1"], project=org["a"],
                                       customer_name="甲", phone=f"138****{index:04d}")

    grow(0)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    grow(100)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)
