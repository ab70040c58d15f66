"""In Chromium: a visitor checks in by QR code on a phone-sized screen and the lead lands in
the on-duty consultant's inbox; an agency agent's page lists only their own registrations,
masked. Marked `browser`; the pages run under the site's strict CSP."""

import pytest
from django.urls import reverse

from anju.leads import agency
from anju.leads.models import Lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


def test_qr_checkin_on_a_phone_lands_in_the_on_duty_consultants_inbox(
        browser, live_server, open_as, org, staff, channels, roster):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(live_server.url + reverse("leads:checkin", args=[org["a"].code]))
    assert page.locator("h1").inner_text().endswith(org["a"].name)
    # the form fits the phone: no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill("#id_name", "<script>alert(1)</script>")
    page.fill("#id_phone", "13800138000")
    page.check("#id_consent")
    page.click("button[type=submit]")
    assert page.locator("#error-name").is_visible()
    assert Lead.objects.count() == 0
    page.fill("#id_name", "林晓")
    page.fill("#id_phone", "138 0013 8000")
    page.fill("#id_budget_wan", "320")
    page.select_option("#id_timing", "3m")
    page.fill("#id_unit_type", "三房")
    page.check("#id_consent")
    page.click("button[type=submit]")
    page.locator("#checkin-thanks").wait_for()
    context.close()

    lead = Lead.objects.get()
    assert lead.assigned_to == staff["c1"] and lead.method == "qr"
    inbox = open_as(staff["c1"], reverse("core:inbox"))
    item = inbox.get_by_text("案场来访：林晓")
    item.wait_for()
    assert inbox.csp_errors == []
    inbox.goto(live_server.url + reverse("leads:queue"))
    assert inbox.locator("#queue-rows").get_by_text("林晓").is_visible()
    assert "138****8000" in inbox.locator("#queue-rows").inner_text()


def test_agent_sees_only_their_own_masked_registrations(open_as, org, staff, agencies):
    agency.registration_submit(actor=agencies["n1"], project=org["a"], customer_name="张伟",
                               phone="13800138000")
    agency.registration_submit(actor=agencies["n2"], project=org["a"], customer_name="同事客户",
                               phone="13900139000")
    agency.registration_submit(actor=agencies["s1"], project=org["a"], customer_name="别家客户",
                               phone="13700137000")
    page = open_as(agencies["n1"], reverse("leads:registrations"), **PHONE)
    table = page.locator("#registrations tbody")
    assert table.locator("tr").count() == 1
    text = table.inner_text()
    assert "张伟" in text and "138****8000" in text
    assert "13800138000" not in page.content()
    assert "同事客户" not in text and "别家客户" not in text
    # registering the other agency's customer: told the times, not the agency
    page.fill("#id_customer_name", "别家客户")
    page.fill("#id_phone", "137****7000")
    page.select_option("#id_project", str(org["a"].pk))
    page.click("#register-submit")
    answer = page.locator("#registration-answer")
    answer.wait_for()
    assert "南方分销" not in answer.inner_text() and "保护期至" in answer.inner_text()
    assert page.csp_errors == []
