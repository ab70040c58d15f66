"""The care and portal demo steps: Chinese knowledge articles tied to the library, surveys
with answers (NPS/CSAT computable), a handover batch in progress, owner logins printed."""

import io

import pytest
from django.test import Client

from anju.accounts import demo as accounts_demo
from anju.aftersales.care import demo
from anju.aftersales.care.selectors import handover_progress
from anju.aftersales.models import (
    HandoverBatch,
    KnowledgeArticle,
    SurveyResponse,
    SurveyTemplate,
    Ticket,
)
from anju.core.demo import DemoContext
from anju.customers import demo as customers_demo
from anju.portal import demo as portal_demo
from anju.portal.models import OwnerAccount
from anju.property import demo as property_demo
from anju.sales.deals import demo as deals_demo

pytestmark = pytest.mark.django_db


def test_demo_builds_care_data_and_owner_logins(make_user):
    ctx = DemoContext(stdout=io.StringIO())
    for step in (accounts_demo, property_demo, customers_demo, deals_demo, demo, portal_demo):
        step.build(ctx)
    assert KnowledgeArticle.objects.filter(category__isnull=False).count() >= 6
    assert KnowledgeArticle.objects.filter(title="卫生间天花渗水怎么办").exists()
    assert set(SurveyTemplate.objects.values_list("trigger", flat=True)) == {
        "callback", "handover", "yearly"}
    assert SurveyResponse.objects.exclude(nps_score=None).count() >= 3
    batch = HandoverBatch.objects.get()
    progress = handover_progress(batch_ids=[batch.pk])[batch.pk]
    assert progress["booked"] >= 1 and progress["signed"] == 1 and progress["inspected"] == 1
    assert Ticket.objects.filter(channel="handover").count() == 1
    owner_logins = [c for c in ctx.credentials if c.role_label.startswith("owner")
                    or "业主" in c.role_label]
    assert len(owner_logins) == OwnerAccount.objects.count() == 3
    # the printed login works, and the first owner has a handover to book
    login = owner_logins[0]
    client = Client()
    signed = client.post("/owner/login/", {"action": "password", "mode": "password",
                                           "phone": login.username,
                                           "password": login.password})
    assert signed.status_code == 302
    assert "/owner/handover/" in client.get("/owner/").content.decode()
    # a second run adds nothing
    articles = KnowledgeArticle.objects.count()
    demo.build(ctx)
    portal_demo.build(ctx)
    assert KnowledgeArticle.objects.count() == articles and OwnerAccount.objects.count() == 3
