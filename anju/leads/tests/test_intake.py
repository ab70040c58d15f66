"""Outside sources under load: a posted lead is checked and queued at once, then made by the
worker in batches with the same rules as one capture (`anju/leads/intake.py`)."""

import datetime

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from anju.core.models import Notification
from anju.customers.models import Customer, Interaction
from anju.leads import agency, intake, services
from anju.leads.models import Lead, LeadEvent, LeadIntake

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(org, staff, channels):
    return services.lead_source_create(actor=staff["manager"], name="抖音表单",
                                       channel=channels["douyin"], project=org["a"])


def post(key, body, idem=None):
    headers = {"HTTP_X_LEAD_SOURCE_KEY": key}
    if idem:
        headers["HTTP_IDEMPOTENCY_KEY"] = idem
    return APIClient().post("/api/v1/lead-capture/", body, format="json", **headers)


def receipt(key, number):
    return APIClient().get(f"/api/v1/lead-capture/{number}/", HTTP_X_LEAD_SOURCE_KEY=key)


def test_a_post_is_queued_then_made_by_the_worker(org, staff, roster, source):
    _made, key = source
    answer = post(key, {"name": "张伟", "phone": "138 0013 8000", "budget_wan": "300"})
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["status"] == "queued" and body["id"] is None
    assert not Lead.objects.exists()
    assert receipt(key, body["receipt"]).json()["status"] == "queued"

    assert intake.intake_drain() == 1

    lead = Lead.objects.get()
    assert (lead.phone, lead.method, lead.assigned_to) == ("+8613800138000", "api",
                                                           staff["c1"])
    later = receipt(key, body["receipt"])
    assert later.status_code == 200
    assert later.json() == {"receipt": body["receipt"], "id": lead.pk, "duplicate": False,
                            "status": "received"}
    assert Notification.objects.filter(recipient=staff["c1"], kind="lead.assigned").exists()


def test_bad_fields_are_named_at_once_and_nothing_is_queued(org, staff, source):
    _made, key = source
    answer = post(key, {"name": "<script>", "phone": "12345", "budget_wan": "很多"})
    assert answer.status_code == 400
    assert {"name", "phone", "budget_wan"} <= set(answer.json()["fields"])
    assert not LeadIntake.objects.exists()


def test_a_retry_gets_the_first_receipt_and_another_body_is_refused(org, staff, source):
    _made, key = source
    body = {"name": "张伟", "phone": "13800138000"}
    first = post(key, body, idem="form-77")
    again = post(key, body, idem="form-77")
    assert again.json()["receipt"] == first.json()["receipt"]
    assert again["Idempotent-Replayed"] == "true"
    assert post(key, {**body, "name": "李四"}, idem="form-77").status_code == 422
    assert LeadIntake.objects.count() == 1


def test_a_source_sees_only_its_own_receipts(org, staff, channels, source):
    _made, key = source
    _other, other_key = services.lead_source_create(actor=staff["manager"], name="百度",
                                                    channel=channels["web"], project=org["a"])
    number = post(key, {"name": "张伟", "phone": "13800138000"}).json()["receipt"]
    assert receipt(other_key, number).status_code == 404
    assert receipt("not-a-key", number).status_code in (401, 403)


def test_a_batch_keeps_every_rule_of_one_capture(org, staff, roster, source, agencies,
                                                 make_customer):
    """New people in bulk, the rest one by one, in one batch: a known customer, an open
    lead, an agency's claim, the same phone twice, and the roster's turns in order."""
    _made, key = source
    customer = make_customer("老客户", phones=["13900139000"], owner=staff["c2"])
    services.lead_capture(project=org["a"], name="老线索", phone="13700137000",
                          method=Lead.Method.FORM, actor=staff["manager"])  # takes c1's turn
    agency.registration_submit(actor=agencies["n1"], project=org["a"],
                               customer_name="中介客户", phone="13600136000")
    phones = ["13500135001", "13900139000", "13500135002", "13700137000", "13600136000",
              "13500135001", "13500135003", "13500135004"]
    for index, phone in enumerate(phones):
        answer = post(key, {"name": "客户" + "甲乙丙丁戊己庚辛"[index], "phone": phone,
                            "timing": "1m"})
        assert answer.status_code == 202, answer.content
    customers_before = Customer.objects.count()

    assert intake.intake_drain() == len(phones)

    rows = {row.pk: row for row in LeadIntake.objects.select_related("lead")}
    assert {row.state for row in rows.values()} == {"done"}
    made = [rows[pk].lead for pk in sorted(rows)]
    # new people go round the roster after the earlier capture took c1: c2, c3, c1, c2
    fresh = [made[i] for i in (0, 2, 6, 7)]
    assert [lead.assigned_to for lead in fresh] == [staff["c2"], staff["c3"], staff["c1"],
                                                    staff["c2"]]
    assert all(lead.grade_reason and lead.status == "assigned" for lead in fresh)
    assert list(LeadEvent.objects.filter(lead=fresh[1]).order_by("id")
                .values_list("kind", flat=True)) == ["captured", "graded", "assigned"]
    # the known customer: their consultant, an interaction, no second record
    assert made[1].customer == customer and made[1].assigned_to == staff["c2"]
    assert Interaction.objects.filter(customer=customer).count() == 1
    assert Customer.objects.count() == customers_before
    # the open lead and the phone posted twice: one lead each, told as duplicates
    assert rows[sorted(rows)[3]].duplicate and made[3].name == "老线索"
    assert rows[sorted(rows)[5]].duplicate and made[5] == made[0]
    assert LeadEvent.objects.filter(lead=made[0], kind="captured_again").count() == 1
    # the agency's claim: its contact consultant
    assert made[4].registration is not None and made[4].assigned_to == staff["c3"]
    assert Lead.objects.filter(phone="+8613500135001").count() == 1


def test_a_failing_bulk_write_falls_back_to_one_by_one(org, staff, roster, source,
                                                       monkeypatch):
    _made, key = source
    for index in range(3):
        post(key, {"name": "张伟", "phone": f"1350013500{index}"})

    def broken(*args, **kwargs):
        raise RuntimeError("bulk write failed")

    monkeypatch.setattr(intake, "_capture_batch", broken)
    assert intake.intake_drain() == 3
    assert Lead.objects.count() == 3
    assert set(LeadIntake.objects.values_list("state", flat=True)) == {"done"}


def test_a_row_refused_later_says_why(org, staff, roster, source, channels):
    _made, key = source
    number = post(key, {"name": "张伟", "phone": "13800138000"}).json()["receipt"]
    channels["douyin"].is_active = False
    channels["douyin"].save()

    intake.intake_drain()

    answer = receipt(key, number).json()
    assert answer["status"] == "rejected" and answer["id"] is None
    assert "channel" in answer["errors"]
    assert not Lead.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_many_posts_wake_one_worker_task(org, staff, roster, source, settings, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(intake, "KICK_SECONDS", 60)  # however slow the five posts are
    monkeypatch.setattr(intake, "LINGER_SECONDS", 0.5)
    _made, key = source
    intake.cache.delete(intake.KICK_KEY)
    for index in range(5):
        assert post(key, {"name": "张伟", "phone": f"1350013500{index}"}).status_code == 202
    assert DBTaskResult.objects.count() == 1  # one wake-up for the five posts

    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)

    assert Lead.objects.count() == 5
    assert not LeadIntake.objects.filter(state="pending").exists()


def test_the_scheduler_sweeps_the_intake_every_minute_and_purges_nightly():
    from crontask import scheduler

    from anju.leads import tasks

    scheduled = {job.name: str(job.trigger) for job in scheduler.get_jobs()}
    assert "minute='*'" in scheduled[tasks.lead_intake_sweep.name]
    assert "hour='3'" in scheduled[tasks.lead_intake_purge.name]


def test_worked_rows_are_forgotten_after_thirty_days_and_the_leads_stay(org, staff, roster,
                                                                         source):
    import datetime

    from django.utils import timezone

    _made, key = source
    old = post(key, {"name": "张伟", "phone": "13800138000"}).json()["receipt"]
    waiting = post(key, {"name": "李娜", "phone": "13800138001"}).json()["receipt"]
    intake.intake_process()
    post(key, {"name": "王芳", "phone": "13800138002"})  # still waiting, however old
    LeadIntake.objects.update(received_at=timezone.now() - datetime.timedelta(days=31))

    assert intake.intake_purge() == 2

    assert list(LeadIntake.objects.values_list("state", flat=True)) == ["pending"]
    assert Lead.objects.count() == 2 and old != waiting


@pytest.mark.only_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_workers_share_the_queue_without_taking_a_row_twice(org, staff, roster, source):
    import threading

    from django.db import connection

    made, _key = source
    LeadIntake.objects.bulk_create([
        LeadIntake(source=made, name="张伟", phone=f"+86135{index:08d}")
        for index in range(600)])
    worked = []

    def work() -> None:
        try:
            worked.append(intake.intake_drain())
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(worked) == 600
    assert Lead.objects.count() == 600
    assert not LeadIntake.objects.filter(state="pending").exists()
    assert LeadIntake.objects.values("lead").distinct().count() == 600


@pytest.fixture
def known_people(org, staff, make_customer):
    """Three people already in the ledger: c2's customer (c2 works project A), the customer
    of a consultant of project B only, and a record nobody owns; c2 owes the first a call."""
    from anju.customers.models import TierRule

    TierRule.objects.update(is_active=False)
    TierRule.objects.create(tier="key", order=1, min_interactions=1, within_days=30)
    own = make_customer("老客户", phones=["13900139000"], owner=staff["c2"])
    elsewhere = make_customer("滨江客户", phones=["13900139001"], owner=staff["cb"],
                              project=org["b"])
    nobody = make_customer("无主客户", phones=["13900139002"])
    due = timezone.now() - datetime.timedelta(days=2)
    promised = Interaction.objects.create(customer=own, user=staff["c2"], kind="call",
                                          occurred_at=due - datetime.timedelta(days=1),
                                          next_follow_up_at=due)
    return {"own": own, "elsewhere": elsewhere, "nobody": nobody, "promised": promised}


@pytest.mark.parametrize("path", ["batch", "one capture"])
def test_known_people_get_the_same_from_a_batch_as_from_one_capture(
        path, org, staff, roster, source, known_people):
    made, key = source
    phones = ["13900139000", "13900139001", "13900139002"]
    if path == "batch":
        for phone in phones:
            assert post(key, {"name": "来电客户", "phone": phone}).status_code == 202
        assert intake.intake_drain() == 3
    else:
        for phone in phones:
            services.lead_capture(project=org["a"], source=made, method=Lead.Method.API,
                                  name="来电客户", phone=phone)
    own, elsewhere, nobody = (known_people[name] for name in ("own", "elsewhere", "nobody"))
    leads = {lead.customer: lead for lead in Lead.objects.select_related("customer")}
    assert set(leads) == {own, elsewhere, nobody} and Customer.objects.count() == 3
    assert all(lead.known_customer for lead in leads.values())
    # the lead goes to the record's consultant when they work the project, else the roster
    assert leads[own].assigned_to == staff["c2"]
    assert [leads[elsewhere].assigned_to, leads[nobody].assigned_to] == [staff["c1"],
                                                                         staff["c2"]]
    # each record keeps the contact: as its consultant where they may act on it, with the
    # lead's project only where they may see it
    logged = {row.customer: row for row in Interaction.objects.exclude(
        pk=known_people["promised"].pk)}
    assert (logged[own].user, logged[own].project, logged[own].kind) == (
        staff["c2"], org["a"], "event")
    assert logged[own].notes == "再次以线索进线（API，抖音）。"
    assert (logged[elsewhere].user, logged[elsewhere].project) == (staff["cb"], org["b"])
    assert "四季花城" in logged[elsewhere].notes
    assert (logged[nobody].user, logged[nobody].project) == (None, org["a"])
    # the consultant's promised call is done, the last contact moves, the tier follows
    known_people["promised"].refresh_from_db()
    assert known_people["promised"].follow_up_done_at is not None
    for customer in (own, elsewhere, nobody):
        customer.refresh_from_db()
        assert customer.last_contact_at == logged[customer].occurred_at
        assert customer.tier == "key"
    # every interaction is in the audit trail
    assert LogEntry.objects.filter(
        content_type__model="interaction", action=LogEntry.Action.CREATE,
        object_id__in=[row.pk for row in logged.values()]).count() == 3
    # the consultant of project B hears that their customer came in; c2 got the lead itself
    assert Notification.objects.filter(recipient=staff["cb"], kind="lead.known_customer",
                                       title__contains="滨江客户").exists()
    assert not Notification.objects.filter(recipient=staff["c2"],
                                           kind="lead.known_customer").exists()


def test_a_batch_of_known_people_costs_the_same_statements_for_five_as_for_twenty(
        org, staff, roster, source, make_customer):
    """Known people are made in the batch, not one by one: the statements grow with their
    consultants, not with their number."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _made, key = source
    counts = []
    # the first batch also fills the caches (the project's configuration, content types)
    for size, prefix in ((2, "1360013"), (5, "1390013"), (20, "1370013")):
        phones = [f"{prefix}{index:04d}" for index in range(size)]
        for index, phone in enumerate(phones):
            make_customer(f"老客户{index}", phones=[phone],
                          owner=staff["c2"] if index % 2 else staff["cb"])
            post(key, {"name": "来电客户", "phone": phone})
        with CaptureQueriesContext(connection) as queries:
            assert intake.intake_process() == size
        counts.append(len(queries))
    assert counts[1] == counts[2]
    assert Interaction.objects.count() == 27
