"""The whole shell in a real browser: sign in, switch language, read the inbox.

Runs pytest-playwright's `page` on Debian's Chromium (see `browser_type_launch_args` in
anju/conftest.py) against pytest-django's live server."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-pass-2026"


@pytest.fixture
def browser_context_args(browser_context_args):
    """A browser that asks for Chinese, as most of Anju's users' browsers do."""
    return {**browser_context_args, "locale": "zh-CN"}


def test_sign_in_switch_language_and_read_the_inbox(live_server, page):
    from playwright.sync_api import expect

    from anju.core.notifications import notify

    user = get_user_model().objects.create_user(username="wang", password=PASSWORD,
                                                display_name="王经理")
    notify(recipients=[user], kind="test.visit", title="客户张三已到访", channels=[])

    page.goto(live_server.url + reverse("accounts:login"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.fill("input[name=username]", "wang")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()

    # The shell: who is signed in, the menu, the unread badge, in Chinese.
    expect(page.locator("#identity")).to_contain_text("王经理")
    expect(page.locator("#sidenav")).to_contain_text("首页")
    expect(page.locator("#unread-badge")).to_have_attribute("data-count", "1")

    page.locator(".lang-switch button[value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#sidenav")).to_contain_text("Home")
    expect(page.locator("#sidenav")).not_to_contain_text("首页")

    page.locator(".inbox-link").click()
    expect(page).to_have_url(live_server.url + reverse("core:inbox"))
    expect(page.locator("h1")).to_have_text("Inbox")
    expect(page.locator("#inbox-list")).to_contain_text("客户张三已到访")
