"""In Chromium: while an agent types a ticket's description on the reception form, the
knowledge base's suggestions appear under it (htmx, under the site's CSP)."""

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

from anju.aftersales.care import services
from anju.aftersales.care.testing import *  # noqa: F403

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_suggestions_appear_while_the_description_is_typed(browser, live_server, org,
                                                           care_staff, lib):
    services.knowledge_article_create(actor=None, company=org["first"],
                                      title="卫生间天花渗漏的处理",
                                      body="先关闭楼上用水，拍照报修。",
                                      keywords="漏水 渗水", category_id=lib["渗漏"].pk)
    agent = care_staff["agent"]
    session = SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session.create()
    context = browser.new_context()
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key,
                          "url": live_server.url}])
    page = context.new_page()
    csp = []
    page.on("console", lambda m: csp.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.goto(live_server.url + reverse("aftersales:ticket_new"))
    page.locator("#kb-suggest .kb-suggest").wait_for()
    assert "卫生间天花渗漏的处理" not in page.locator("#kb-suggest").inner_text()
    page.locator("#id_description").press_sequentially("楼上漏水到卫生间", delay=20)
    page.locator("#kb-suggest summary", has_text="卫生间天花渗漏的处理").wait_for()
    assert csp == []
