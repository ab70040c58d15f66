"""The deal pages: what a consultant and a manager see and do, errors that name the field,
and the number of queries each page costs (pinned)."""

import datetime
import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone

from anju.property.models import Unit
from anju.sales.deals import services
from anju.sales.models import Deal, DealChangeRequest, DealStatus, Instalment

from .deals_fixtures import *  # noqa: F403
from .deals_fixtures import plan_for

pytestmark = pytest.mark.django_db


def test_hold_from_the_board_panel(people, units, customer, client_for):
    buyer = customer("张三")
    client = client_for(people["consultant"])
    url = reverse("sales:unit_hold", args=[units["1-101"].pk])
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert "1-101" in fragment.content.decode()
    response = client.post(url, {"customer": buyer.pk, "hours": 24})
    deal = Deal.objects.get()
    assert response.status_code == 302 and response.url == reverse("sales:deal_detail",
                                                                   args=[deal.pk])
    assert deal.status == DealStatus.HELD


def test_customer_lookup_offers_only_own_customers(people, customer, client_for):
    customer("张三")
    customer("张三丰", owner=people["other"])
    page = client_for(people["consultant"]).get(reverse("sales:deal_customer_lookup"),
                                                {"q": "张三", "field": "customer"})
    text = page.content.decode()
    assert 'name="customer"' in text and "张三" in text and "张三丰" not in text


def test_reserve_a_taken_unit_says_so(people, units, customer, client_for):
    services.deal_hold(actor=people["other"], unit=units["1-101"],
                       customer=customer("别人", owner=people["other"]))
    buyer = customer("张三")
    response = client_for(people["consultant"]).post(
        reverse("sales:unit_reserve", args=[units["1-101"].pk]),
        {"customer": buyer.pk, "deposit": "50000", "discount_amount": "0",
         "expires_on": (timezone.localdate() + datetime.timedelta(days=7)).isoformat(),
         "method": "transfer"})
    assert response.status_code == 409
    assert "房源 1-101 已被其他交易占用" in response.content.decode()
    assert Deal.objects.count() == 1


def test_reserve_with_bad_deposit_names_the_field(people, units, customer, client_for):
    buyer = customer("张三")
    response = client_for(people["consultant"]).post(
        reverse("sales:unit_reserve", args=[units["1-101"].pk]),
        {"customer": buyer.pk, "deposit": "lots", "method": "transfer",
         "expires_on": (timezone.localdate() + datetime.timedelta(days=7)).isoformat()})
    assert response.status_code == 400
    assert "field-deposit" in response.content.decode()
    assert 'value="lots"' in response.content.decode()  # what was typed is kept
    assert not Deal.objects.exists()


def _contract_post(deal, buyer, rows, method="instalments"):
    data = {"payment_method": method, "signed_on": timezone.localdate().isoformat(),
            "discount_amount": "0", "discount_note": "",
            "buyers-TOTAL_FORMS": "1", "buyers-INITIAL_FORMS": "0",
            "buyers-0-customer": str(buyer.pk), "buyers-0-share": "100",
            "plan-TOTAL_FORMS": str(len(rows)), "plan-INITIAL_FORMS": "0"}
    for index, row in enumerate(rows):
        data.update({f"plan-{index}-kind": row.kind,
                     f"plan-{index}-due_date": row.due_date.isoformat(),
                     f"plan-{index}-amount": str(row.amount), f"plan-{index}-bank": row.bank})
    return data


def test_contract_page_refuses_a_plan_that_does_not_add_up(people, units, customer,
                                                          client_for):
    buyer = customer("张三")
    deal = services.deal_reserve(actor=people["consultant"], unit=units["1-101"],
                                 customer=buyer, deposit="50000")
    client = client_for(people["consultant"])
    url = reverse("sales:deal_contract", args=[deal.pk])
    form = client.get(url)
    assert form.status_code == 200 and "plan-TOTAL_FORMS" in form.content.decode()
    rows = plan_for(deal)
    rows[-1] = type(rows[-1])(rows[-1].kind, rows[-1].due_date, rows[-1].amount + 100)
    response = client.post(url, _contract_post(deal, buyer, rows))
    assert response.status_code == 400
    text = response.content.decode()
    assert 'id="plan-errors"' in text and "-¥100.00" in text
    assert not Instalment.objects.exists()
    good = client.post(url, _contract_post(deal, buyer, plan_for(deal)))
    assert good.status_code == 302
    deal.refresh_from_db()
    assert deal.status == DealStatus.CONTRACTED


def test_contract_page_names_the_bad_row(people, units, customer, client_for):
    buyer = customer("张三")
    deal = services.deal_reserve(actor=people["consultant"], unit=units["1-101"],
                                 customer=buyer, deposit="50000")
    rows = plan_for(deal, method="mortgage")
    data = _contract_post(deal, buyer, rows, method="mortgage")
    data["plan-1-bank"] = ""
    response = client_for(people["consultant"]).post(
        reverse("sales:deal_contract", args=[deal.pk]), data)
    assert response.status_code == 400
    assert "第 2 期：请填写贷款银行" in response.content.decode()


def test_detail_list_and_receipt_pages(people, contracted, client_for,
                                       django_assert_num_queries):
    deal = contracted(method="mortgage")
    line = deal.instalments.get(kind="down_payment")
    client = client_for(people["consultant"])
    response = client.post(reverse("sales:payment_create", args=[deal.pk, line.pk]),
                           {"amount": "1000", "method": "transfer"})
    assert response.status_code == 302
    detail = client.get(reverse("sales:deal_detail", args=[deal.pk])).content.decode()
    assert deal.contract_number in detail and "¥1,000.00" in detail
    assert "建设银行" in detail
    payment = deal.payments.order_by("-id").first()
    receipt = client.get(reverse("sales:receipt", args=[payment.pk])).content.decode()
    assert payment.receipt_number in receipt and "壹仟元整" in receipt
    listing = client.get(reverse("sales:deal_list")).content.decode()
    assert "1-101" in listing
    # the manager sees the team's deals; an outsider sees none
    assert "1-101" in client_for(people["manager"]).get(reverse("sales:deal_list")).content.decode()
    assert client_for(people["outsider"]).get(
        reverse("sales:deal_detail", args=[deal.pk])).status_code == 404


def test_overpayment_on_the_page_names_the_amount(people, contracted, client_for):
    deal = contracted(method="full")
    line = deal.instalments.get(kind="full")
    response = client_for(people["consultant"]).post(
        reverse("sales:payment_create", args=[deal.pk, line.pk]),
        {"amount": str(line.amount + 1), "method": "transfer"})
    assert response.status_code == 400
    assert "将超付" in response.content.decode()


def test_change_request_and_approval_pages(people, contracted, units, client_for):
    deal = contracted()
    consultant = client_for(people["consultant"])
    response = consultant.post(reverse("sales:change_request_create", args=[deal.pk]),
                               {"kind": "swap", "reason": "想换高层",
                                "target_unit": units["1-302"].pk})
    change = DealChangeRequest.objects.get()
    assert response.status_code == 302
    # the consultant cannot decide; the manager sees the buttons and approves
    page = consultant.get(reverse("sales:change_request_detail", args=[change.pk]))
    assert "decision-form" not in page.content.decode()
    manager = client_for(people["manager"])
    assert "想换高层" in manager.get(reverse("sales:change_request_list")).content.decode()
    response = manager.post(reverse("sales:change_request_detail", args=[change.pk]),
                            {"decision": "approve", "comment": "同意"})
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.state == "approved" and change.new_deal.unit_id == units["1-302"].pk


def test_rejection_without_comment_names_the_field(people, contracted, client_for):
    deal = contracted()
    change = services.change_request_create(actor=people["consultant"], deal=deal,
                                            kind="cancellation", reason="x")
    response = client_for(people["manager"]).post(
        reverse("sales:change_request_detail", args=[change.pk]), {"decision": "reject"})
    assert response.status_code == 400
    assert "请填写驳回原因" in response.content.decode()


def test_customer_section_shows_deals_units_and_payments(people, contracted, client_for):
    deal = contracted()
    url = reverse("customers:section", args=[deal.customer_id, "sales-deals"])
    body = client_for(people["consultant"]).get(url).content.decode()
    assert "1-101" in body and deal.contract_number in body and "¥50,000.00" in body
    assert client_for(people["outsider"]).get(url).status_code == 404


@pytest.mark.pdf
def test_contract_pdf_holds_buyer_unit_and_amount_in_capitals(people, contracted,
                                                             client_for, tmp_path):
    deal = contracted()
    response = client_for(people["consultant"]).get(
        reverse("sales:deal_contract_pdf", args=[deal.pk]))
    assert response["Content-Type"] == "application/pdf"
    path = tmp_path / "contract.pdf"
    path.write_bytes(response.content)
    text = subprocess.run([shutil.which("pdftotext"), "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "张三" in text and "1-101" in text and deal.contract_number in text
    # 1,010,000.00 yuan
    assert "壹佰零壹万元整" in text


# --- query counts: each page costs the same whatever the number of rows ---------------------
def _captured(client, url) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def _own(queries: list[str]) -> list[str]:
    """The page's own reads (deals, units, customers), without the shell's and the session's,
    which other apps' menu entries and tiles change."""
    return [sql for sql in queries if any(f'"{prefix}' in sql for prefix in (
        "sales_deal", "sales_instalment", "sales_payment", "property_", "customers_customer"))]


@pytest.mark.parametrize("name, expected", [
    ("list", 1), ("detail", 6), ("changes", 1), ("section", 3), ("receipt", 1),
    ("change", 1), ("hold_form", 1)])
def test_query_counts_are_pinned(people, contracted, customer, units, client_for, name,
                                 expected):
    deals = []

    def add(label):
        deal = contracted(unit=label, buyer=deals[0].customer if deals else customer("张三"))
        services.change_request_create(actor=people["consultant"], deal=deal,
                                       kind="cancellation", reason="x")
        for line in deal.instalments.exclude(kind="deposit"):
            services.payment_record(actor=people["consultant"], instalment=line, amount="10")
        deals.append(deal)

    def url():
        first = deals[0]
        return {"list": reverse("sales:deal_list"),
                "detail": reverse("sales:deal_detail", args=[first.pk]),
                "changes": reverse("sales:change_request_list"),
                "section": reverse("customers:section",
                                   args=[first.customer_id, "sales-deals"]),
                "receipt": reverse("sales:receipt", args=[first.payments.first().pk]),
                "change": reverse("sales:change_request_detail",
                                  args=[first.change_requests.get().pk]),
                "hold_form": reverse("sales:unit_hold", args=[units["1-302"].pk])}[name]

    client = client_for(people["manager"] if name == "changes" else people["consultant"])
    add("1-101")
    client.get(url())  # warm the per-user caches of the shell
    one = _captured(client, url())
    add("1-102")
    add("1-201")
    client.get(url())
    three = _captured(client, url())
    assert len(_own(three)) == expected, "\n".join(_own(three))
    assert len(three) == len(one), "more rows must not cost more queries"


@pytest.mark.pdf
def test_receipt_pdf_has_the_amount_in_capitals(people, contracted, client_for, tmp_path):
    deal = contracted()
    payment = deal.payments.get()
    response = client_for(people["consultant"]).get(
        reverse("sales:receipt", args=[payment.pk]) + "?format=pdf")
    assert response["Content-Type"] == "application/pdf"
    path = tmp_path / "receipt.pdf"
    path.write_bytes(response.content)
    text = subprocess.run([shutil.which("pdftotext"), "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert payment.receipt_number in text and "伍万元整" in text and "张三" in text


def test_home_tile_counts_overdue_deals_and_pending_approvals(people, contracted, client_for):
    deal = contracted()
    Instalment.objects.filter(deal=deal, kind="down_payment").update(
        due_date=timezone.localdate() - datetime.timedelta(days=3))
    services.change_request_create(actor=people["consultant"], deal=deal,
                                   kind="cancellation", reason="x")
    home = client_for(people["manager"]).get("/").content.decode()
    assert "需要关注的交易" in home
    assert 'href="/sales/deals/?overdue=on">1</a>' in home
    assert "1 个退房或换房申请待审批" in home
    consultant_home = client_for(people["consultant"]).get("/").content.decode()
    assert "待审批" not in consultant_home.split("需要关注的交易")[1][:400]


def test_contract_form_costs_a_fixed_number_of_queries(people, units, customer, client_for,
                                                        contracted):
    buyer = customer("张三")
    deal = services.deal_reserve(actor=people["consultant"], unit=units["1-202"],
                                 customer=buyer, deposit="50000")
    client = client_for(people["consultant"])
    url = reverse("sales:deal_contract", args=[deal.pk])
    client.get(url)
    queries = _own(_captured(client, url))
    assert len(queries) == 2, "\n".join(queries)  # the deal (with its relations), the buyer
    done = contracted(unit="1-101", buyer=customer("李四"))
    response = client.get(reverse("sales:deal_contract", args=[done.pk]))
    assert response.status_code == 302  # a contracted deal goes back to its page


def test_release_a_hold_from_its_page(people, units, customer, client_for):
    deal = services.deal_hold(actor=people["consultant"], unit=units["1-101"],
                              customer=customer())
    client = client_for(people["consultant"])
    page = client.get(reverse("sales:deal_detail", args=[deal.pk])).content.decode()
    assert 'id="release-hold"' in page
    response = client.post(reverse("sales:deal_hold_release", args=[deal.pk]))
    assert response.status_code == 302
    assert Unit.objects.get(pk=units["1-101"].pk).status == "available"
    assert client_for(people["outsider"]).post(
        reverse("sales:deal_hold_release", args=[deal.pk])).status_code == 404


def test_times_are_stored_utc_and_shown_in_shanghai(people, units, customer, client_for):
    deal = services.deal_hold(actor=people["consultant"], unit=units["1-101"],
                              customer=customer())
    moment = datetime.datetime(2026, 1, 1, 16, 30, tzinfo=datetime.UTC)
    Deal.objects.filter(pk=deal.pk).update(hold_expires_at=moment)
    page = client_for(people["consultant"]).get(
        reverse("sales:deal_detail", args=[deal.pk])).content.decode()
    assert "2026-01-02 00:30" in page  # UTC+8
    listing = client_for(people["consultant"]).get(reverse("sales:deal_list")).content.decode()
    assert "101.00万元" in listing
