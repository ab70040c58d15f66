"""What runs around the deals: the periodic jobs are scheduled, a customer merge moves deals
and buyers (shares kept), audit entries are written, the demo step builds every state."""

import datetime

import pytest
from django.utils import timezone

from anju.customers.merging import customer_merge
from anju.sales.deals import services
from anju.sales.models import Deal, DealBuyer, DealStatus

from .deals_fixtures import *  # noqa: F403
from .deals_fixtures import plan_for

pytestmark = pytest.mark.django_db


def test_periodic_jobs_are_scheduled_and_run():
    from crontask import scheduler

    import anju.sales.tasks  # noqa: F401  (what the scheduler imports)
    from anju.sales.deals import tasks

    names = {job.name for job in scheduler.get_jobs()}
    assert any("deals_expire" in name for name in names), names
    assert any("instalments_overdue_flag" in name for name in names), names
    assert tasks.deals_expire.call() == 0
    assert tasks.instalments_overdue_flag.call() == 0


def test_merge_moves_deals_and_adds_up_shares(people, units, customer):
    actor = people["consultant"]
    first, second = customer("张三"), customer("张三（重复）")
    deal = services.deal_reserve(actor=actor, unit=units["1-101"], customer=second,
                                 deposit="50000")
    deal = services.deal_contract(actor=actor, deal=deal, buyers=[(first, 40), (second, 60)],
                                  payment_method="full",
                                  instalments=plan_for(deal, method="full"))
    customer_merge(actor=people["manager"], survivor=first, merged=second, reason="同一人")
    deal.refresh_from_db()
    assert deal.customer_id == first.pk
    buyers = list(DealBuyer.objects.filter(deal=deal))
    assert [(b.customer_id, str(b.share), b.is_primary) for b in buyers] == [
        (first.pk, "100.00", True)]


def test_status_changes_are_audited(people, units, customer):
    from auditlog.models import LogEntry

    deal = services.deal_hold(actor=people["consultant"], unit=units["1-101"],
                              customer=customer())
    services.deal_reserve(actor=people["consultant"], deal=deal, deposit="1000")
    entries = LogEntry.objects.get_for_object(Deal.objects.get(pk=deal.pk))
    assert entries.count() >= 2
    assert any("reserved" in str(entry.changes) for entry in entries)


def test_overdue_job_skips_closed_deals(people, contracted):
    deal = contracted()
    change = services.change_request_create(actor=people["consultant"], deal=deal,
                                            kind="cancellation", reason="x")
    services.change_request_decide(actor=people["manager"], request=change, approve=True)
    later = timezone.localdate() + datetime.timedelta(days=400)
    assert services.instalments_overdue_flag(today=later) == 0
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.CANCELLED


def test_admin_cannot_save_a_second_live_deal(org, people, units, customer, make_user):
    from django.test import Client

    deal = services.deal_hold(actor=people["consultant"], unit=units["1-101"],
                              customer=customer())
    admin_user = make_user("dadmin", "admin", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    assert client.get("/admin/sales/deal/").status_code == 200
    response = client.post("/admin/sales/deal/add/", {
        "unit": deal.unit_id, "project": deal.project_id, "customer": deal.customer_id,
        "consultant": deal.consultant_id, "status": "reserved", "list_price": "1",
        "discount_amount": "0", "final_price": "1", "deposit": "0", "refunded_amount": "0",
        "buyers-TOTAL_FORMS": "0", "buyers-INITIAL_FORMS": "0",
        "instalments-TOTAL_FORMS": "0", "instalments-INITIAL_FORMS": "0",
        "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"})
    assert response.status_code == 200  # the form again, with the refusal
    assert "deal_one_live_per_unit" in response.content.decode()
    assert Deal.objects.filter(unit=deal.unit).count() == 1
