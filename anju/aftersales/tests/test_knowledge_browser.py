"""In Chromium: while an agent types a ticket's description on the reception form, the
knowledge base's suggestions appear under it (htmx, under the site's CSP)."""

import pytest
from django.urls import reverse

from anju.aftersales.care import services
from anju.aftersales.care.testing import *  # noqa: F403

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_suggestions_appear_while_the_description_is_typed(open_as, org, care_staff, lib):
    services.knowledge_article_create(actor=None, company=org["first"],
                                      title="卫生间天花渗漏的处理",
                                      body="先关闭楼上用水，拍照报修。",
                                      keywords="漏水 渗水", category_id=lib["渗漏"].pk)
    page = open_as(care_staff["agent"], reverse("aftersales:ticket_new"))
    page.locator("#kb-suggest .kb-suggest").wait_for()
    assert "卫生间天花渗漏的处理" not in page.locator("#kb-suggest").inner_text()
    page.locator("#id_description").press_sequentially("楼上漏水到卫生间", delay=20)
    page.locator("#kb-suggest summary", has_text="卫生间天花渗漏的处理").wait_for()
    assert page.csp_errors == []
