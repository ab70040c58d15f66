import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from anju.core.models import Notification
from anju.leads import agency, services
from anju.leads.models import Lead, Registration

pytestmark = pytest.mark.django_db


def queries(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:500]
    return len(captured), response


def make_leads(org, count, start=0, **kwargs):
    return [services.lead_capture(project=org["a"], name="客户", phone=f"1350000{i:04d}",
                                  method="form", **kwargs).lead
            for i in range(start, start + count)]


@pytest.mark.parametrize("name,params", [
    ("leads:queue", {}), ("leads:queue", {"view": "team", "status": "all"}),
    ("leads:channels", {}), ("leads:registrations", {}), ("leads:agencies", {}),
    ("leads:roster", {}), ("leads:rules", {}), ("leads:reports", {}),
    ("leads:report_data", {"dimension": "consultant"}), ("leads:import", {}),
])
def test_pages_have_a_constant_query_count(org, staff, roster, channels, agencies,
                                           client_for, name, params):
    client = client_for(staff["manager"])
    make_leads(org, 2, channel=channels["douyin"])
    agency.registration_submit(actor=agencies["n1"], project=org["a"], customer_name="甲",
                               phone="138****0001")
    queries(client, reverse(name), params)  # warm the per-viewer caches
    few, _ = queries(client, reverse(name), params)
    make_leads(org, 12, start=100, channel=channels["web"])
    for index in range(5):
        agency.registration_submit(actor=agencies["s1"], project=org["a"],
                                   customer_name="乙", phone=f"138****1{index:03d}")
    many, _ = queries(client, reverse(name), params)
    assert many == few


def test_queue_shows_my_leads_masked_and_pages_by_htmx(org, staff, roster, client_for):
    make_leads(org, 160)
    client = client_for(staff["c1"])
    _count, response = queries(client, reverse("leads:queue"))
    body = response.content.decode()
    rows = response.context["rows"]
    assert len(rows) == 50 and all(row.assigned_to == staff["c1"] for row in rows)
    assert "135****0000" in body or "****" in body
    assert "13500000000" not in body
    more = client.get(reverse("leads:queue"), {"before": response.context["next_before"]},
                      HTTP_HX_REQUEST="true")
    assert more.status_code == 200 and "<html" not in more.content.decode()
    assert len(more.context["rows"]) == 4  # 160 leads in turn over three: 54 are mine


def test_detail_page_with_history_and_query_count(org, staff, roster, client_for):
    lead = make_leads(org, 1)[0]
    client = client_for(lead.assigned_to)
    queries(client, reverse("leads:detail", args=[lead.pk]))
    few, response = queries(client, reverse("leads:detail", args=[lead.pk]))
    assert lead.grade_reason in response.content.decode()
    for index in range(10):
        services.lead_note(actor=lead.assigned_to, lead=lead, text=f"跟进{index}")
    many, response = queries(client, reverse("leads:detail", args=[lead.pk]))
    assert many == few and "跟进9" in response.content.decode()
    assert client_for(staff["cb"]).get(reverse("leads:detail", args=[lead.pk])).status_code \
        == 404


def test_actions_from_the_page(org, staff, roster, client_for):
    lead = make_leads(org, 1)[0]
    client = client_for(lead.assigned_to)
    response = client.post(reverse("leads:action", args=[lead.pk, "invalid"]), {"reason": ""})
    assert response.status_code == 400
    assert "reason" in response.context["reason_form"].errors
    assert client.post(reverse("leads:action", args=[lead.pk, "contact"])).status_code == 302
    lead.refresh_from_db()
    assert lead.status == "contacted"
    manager = client_for(staff["manager"])
    response = manager.post(reverse("leads:action", args=[lead.pk, "grade"]),
                            {"grade": "A", "reason": "全款"})
    assert response.status_code == 302
    response = manager.post(reverse("leads:action", args=[lead.pk, "reassign"]),
                            {"consultant": staff["cb"].pk})
    assert response.status_code == 400
    assert client.post(reverse("leads:action", args=[lead.pk, "convert"])).status_code == 302
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.customer is not None


def test_capture_form_errors_name_the_fields_and_known_person_message(
        org, staff, roster, client_for, make_customer):
    client = client_for(staff["c1"])
    response = client.post(reverse("leads:capture"), {
        "project": org["a"].pk, "name": "<b>x</b>", "phone": "1"})
    assert response.status_code == 400
    form = response.context["form"]
    assert "name" in form.errors and "phone" in form.errors
    make_customer("老客户", phones=["13600136000"], owner=staff["c2"])
    response = client.post(reverse("leads:capture"), {
        "project": org["a"].pk, "name": "老客户", "phone": "136 0013 6000"}, follow=True)
    assert response.status_code == 200
    assert Lead.objects.get().known_customer


def test_agent_page_shows_only_their_own_masked_registrations(org, staff, agencies,
                                                               client_for):
    client = client_for(agencies["n1"])
    response = client.post(reverse("leads:registrations"), {
        "project": org["a"].pk, "customer_name": "张伟", "phone": "13800138000"})
    assert response.status_code == 200
    assert response.context["answer"].status == Registration.Status.ACCEPTED
    other = client_for(agencies["s1"]).post(reverse("leads:registrations"), {
        "project": org["a"].pk, "customer_name": "张伟", "phone": "13800138000"})
    body = other.content.decode()
    assert other.context["answer"].status == "rejected" and "北城" not in body
    own = client.get(reverse("leads:registrations")).content.decode()
    assert "138****8000" in own and "13800138000" not in own
    assert own.count("<tr>") == 2  # header and the agent's own row
    assert client.get(reverse("leads:queue")).status_code == 403
    bad = client.post(reverse("leads:registrations"), {
        "project": org["a"].pk, "customer_name": "张伟", "phone": "1380"})
    assert bad.status_code == 400 and "phone" in bad.context["form"].errors


def test_roster_page_sets_turns_and_absentees(org, staff, client_for):
    client = client_for(staff["manager"])
    response = client.post(reverse("leads:roster"), {
        "project": org["a"].pk, f"turn_{staff['c2'].pk}": "1",
        f"turn_{staff['c1'].pk}": "2", f"absent_{staff['c1'].pk}": "on"})
    assert response.status_code == 302
    lead = services.lead_capture(project=org["a"], name="客户", phone="13500001111",
                                 method="form").lead
    assert lead.assigned_to == staff["c2"]
    assert client_for(staff["c1"]).post(reverse("leads:roster"), {
        "project": org["a"].pk}).status_code == 403


def test_reports_page_draws_an_echarts_chart(org, staff, roster, client_for):
    make_leads(org, 3)
    client = client_for(staff["manager"])
    page = client.get(reverse("leads:reports"), {"dimension": "consultant"})
    assert 'data-chart-url="' in page.content.decode()
    option = client.get(reverse("leads:report_data"), {"dimension": "consultant"}).json()
    assert sum(option["series"][0]["data"]) == 3


# --- the public QR check-in ------------------------------------------------------------------

def checkin(client, org, **fields):
    data = {"name": "访客", "phone": "13800138000", "consent": "on", **fields}
    return client.post(reverse("leads:checkin", args=[org["a"].code]), data)


def test_checkin_lands_in_the_on_duty_consultants_inbox(org, staff, roster, channels):
    client = Client()
    page = client.get(reverse("leads:checkin", args=[org["a"].code]))
    assert page.status_code == 200 and "<script" not in page.content.decode()
    response = checkin(client, org, budget_wan="300", timing="3m")
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert lead.method == "qr" and lead.assigned_to == staff["c1"]
    assert lead.status == "visited" and lead.channel == channels["walk_in"]
    note = Notification.objects.get(recipient=staff["c1"])
    assert note.level == "warning" and note.url == reverse("leads:detail", args=[lead.pk])


def test_checkin_answers_the_same_whether_known_or_not(org, staff, roster, make_customer):
    make_customer("老客户", phones=["13600136000"], owner=staff["c2"])
    known = checkin(Client(), org, phone="13600136000", name="老客户")
    unknown = checkin(Client(), org, phone="13600136001", name="新客户")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    done_known = Client().get(known["Location"]).content
    assert done_known == Client().get(unknown["Location"]).content
    assert "老客户".encode() not in done_known


@pytest.mark.parametrize("field,value", [
    ("name", "<script>alert(1)</script>"), ("name", "' OR 1=1 --"), ("phone", "<svg/onload=1>"),
    ("phone", "010 8888 6666"), ("budget_wan", "abc"), ("unit_type", "<iframe>"),
    ("notes", "javascript:alert(1)"), ("notes", "加我 http://spam.example"),
    ("timing", "<b>"), ("name", "x" * 300),
])
def test_checkin_rejects_junk_in_every_field_with_a_clear_message(org, staff, roster, field,
                                                                  value):
    response = checkin(Client(), org, **{field: value})
    assert response.status_code == 400
    body = response.content.decode()
    assert f'id="error-{field}"' in body
    assert "<script>alert" not in body and "<iframe>" not in body and "<svg/" not in body
    assert Lead.objects.count() == 0


def test_checkin_needs_consent_and_is_rate_limited_per_address(org, staff, roster):
    response = Client().post(reverse("leads:checkin", args=[org["a"].code]),
                             {"name": "访客", "phone": "13800138000"})
    assert response.status_code == 400 and 'id="error-consent"' in response.content.decode()
    client = Client(REMOTE_ADDR="10.0.0.9")
    answers = [checkin(client, org, phone=f"1380013{i:04d}").status_code for i in range(12)]
    assert answers[:9].count(302) == 9 and answers[-1] == 429
    assert Client(REMOTE_ADDR="10.0.0.10").get(
        reverse("leads:checkin", args=[org["a"].code])).status_code == 200
    assert checkin(Client(REMOTE_ADDR="10.0.0.10"), org, phone="13900000000").status_code == 302


def test_checkin_of_an_unknown_project_is_404(db):
    assert Client().get(reverse("leads:checkin", args=["nope"])).status_code == 404


def test_customer_360_section_lists_leads_and_referrals(org, staff, roster, channels,
                                                        make_customer, client_for):
    owner = make_customer("业主甲", owner=staff["c1"])
    services.lead_capture(project=org["a"], name="朋友", phone="13500009999", method="form",
                          channel=channels["owner_ref"], referrer_customer=owner)
    known = make_customer("老客户", phones=["13600136000"], owner=staff["c1"])
    services.lead_capture(project=org["a"], name="老客户", phone="13600136000", method="form")
    client = client_for(staff["c1"])
    body = client.get(reverse("customers:section", args=[owner.pk, "leads"])).content.decode()
    assert "朋友" in body
    body = client.get(reverse("customers:section", args=[known.pk, "leads"])).content.decode()
    assert reverse("leads:detail", args=[Lead.objects.get(customer=known).pk]) in body
