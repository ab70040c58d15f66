"""The shell in a real browser (Chromium): ECharts and htmx work under the CSP, the menu
collapses on a phone. Marked `browser` (needs the Debian chromium package)."""

import pytest

from anju.core.notifications import notify

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page_for(open_as, consultant):
    return lambda path, **context_args: open_as(consultant, path, **context_args)


def test_echarts_tile_draws_under_csp(page_for, consultant):
    notify(recipients=[consultant], kind="test", title="一", channels=[])
    page = page_for("/")
    page.wait_for_selector("[data-chart-drawn] svg", timeout=10_000)
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.csp_errors == []


def test_htmx_mark_read_updates_row_and_badge(page_for, consultant):
    [item] = notify(recipients=[consultant], kind="test", title="请标为已读", channels=[])
    page = page_for("/core/inbox/")
    assert page.get_attribute("#unread-badge", "data-count") == "1"
    page.click(f"#notification-{item.pk} button")
    page.wait_for_selector(f"#notification-{item.pk}:not(.unread)")
    page.wait_for_selector('#unread-badge[data-count="0"]', state="attached")
    assert page.csp_errors == []


def test_menu_collapses_on_a_phone(page_for):
    page = page_for("/", viewport={"width": 375, "height": 700})
    assert not page.is_visible("#sidenav a[data-key='core.inbox']") or (
        page.evaluate("document.getElementById('sidenav').getBoundingClientRect().right <= 0"))
    page.click("#nav-toggle")
    page.wait_for_timeout(300)
    assert page.get_attribute("#nav-toggle", "aria-expanded") == "true"
    assert page.evaluate("document.getElementById('sidenav').getBoundingClientRect().left") >= 0


def test_customer_list_count_and_older_interactions_load_by_htmx(page_for, consultant):
    import datetime

    from django.utils import timezone

    from anju.customers.models import Customer, Interaction

    project = consultant.projects.first()
    customers = [Customer.objects.create(company=project.company, project=project,
                                         owner=consultant, name=f"客户{index}")
                 for index in range(3)]
    now = timezone.now()
    Interaction.objects.bulk_create([
        Interaction(customer=customers[0], user=consultant, kind="call", outcome=f"第{index}次",
                    occurred_at=now - datetime.timedelta(hours=index)) for index in range(25)])
    page = page_for("/customers/")
    page.wait_for_selector("#customer-count:has-text('3')", timeout=10_000)
    page.goto(page.url.split("/customers/")[0] + f"/customers/{customers[0].pk}/")
    assert page.locator(".timeline li.interaction").count() == 20
    page.click("#timeline-more a")
    # a locator waits without evaluating a string of script (the CSP forbids eval)
    page.locator(".timeline li.interaction").nth(24).wait_for(timeout=10_000)
    assert page.locator(".timeline li.interaction").count() == 25
    assert page.locator("#timeline-more").count() == 0
    assert page.csp_errors == []
