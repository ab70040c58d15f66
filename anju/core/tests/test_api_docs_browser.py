"""Swagger UI renders the schema in a real browser (Chromium) under the site's CSP."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_under_csp(live_server, browser):
    page = browser.new_page()
    try:
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text)
                if "Content Security Policy" in m.text else None)
        external: list[str] = []
        page.on("request", lambda r: external.append(r.url)
                if not r.url.startswith(live_server.url) and not r.url.startswith("data:")
                else None)
        page.goto(live_server.url + "/api/docs/")
        page.wait_for_selector(".swagger-ui .info .title", timeout=60_000)
        assert "Anju API" in page.inner_text(".swagger-ui .info .title")
        page.click("#operations-tag-audit")  # resources open folded
        page.wait_for_selector("text=/api/v1/audit/", timeout=60_000)
        assert problems == []
        assert external == []
    finally:
        page.close()
