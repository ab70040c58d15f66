import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from anju.core.notifications import notify

pytestmark = pytest.mark.django_db

TEMPLATE_ROOTS = [Path(settings.BASE_DIR) / "anju"]


def test_shell_shows_name_role_and_scope(consultant_client, consultant):
    html = consultant_client.get(reverse("web:home")).content.decode()
    role = str(consultant.role.get_code_display())  # 置业顾问 (accounts' catalogue)
    assert f'<span class="identity" id="identity">张伟 · {role} · 四季花城, 滨江壹号</span>' in html


def test_shell_in_english_after_language_switch(consultant_client):
    home = reverse("web:home")
    response = consultant_client.post(reverse("set_language"),
                                      {"language": "en", "next": home})
    assert response.status_code == 302
    html = consultant_client.get(home).content.decode()
    assert '<html lang="en">' in html
    assert "sales consultant" in html
    assert "Inbox" in html and "收件箱" not in html


def test_default_language_is_chinese(consultant_client):
    html = consultant_client.get(reverse("web:home")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "首页" in html and "收件箱" in html


def test_language_switch_form_posts_with_csrf(consultant_client):
    html = consultant_client.get(reverse("web:home")).content.decode()
    form = re.search(r'<form class="lang-switch" action="([^"]+)" method="post">(.*?)</form>',
                     html, re.S)
    assert form and form.group(1) == reverse("set_language")
    assert "csrfmiddlewaretoken" in form.group(2)


def test_home_requires_login(client):
    response = client.get(reverse("web:home"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_csp_header_with_nonce_and_no_eval(consultant_client):
    response = consultant_client.get(reverse("web:home"))
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "unsafe-eval" not in csp
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "the shell loads its scripts"
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag
    assert re.search(r"\son[a-z]+=", html) is None, "no inline event handlers"
    assert '"allowEval": false' in html


def test_csp_header_on_anonymous_and_error_pages(client):
    assert "Content-Security-Policy" in client.get("/no/such/page/")
    assert "Content-Security-Policy" in client.get(reverse("accounts:login"))


def test_htmx_requests_carry_csrf_token(consultant_client):
    html = consultant_client.get(reverse("web:home")).content.decode()
    token = re.search(r"""<body hx-headers='\{"X-CSRFToken": "([^"]+)"\}'""", html)
    assert token and len(token.group(1)) >= 32


def test_vendored_scripts_are_served_locally(consultant_client):
    for path in ("vendor/htmx/htmx.min.js", "vendor/echarts/echarts.min.js",
                 "anju/anju.js", "anju/anju.css"):
        assert finders.find(path), path
    for path in ("vendor/htmx/LICENSE", "vendor/echarts/LICENSE", "vendor/README.md"):
        assert finders.find(path), path
    html = consultant_client.get(reverse("web:home")).content.decode()
    assert '/static/vendor/htmx/htmx.min.js' in html
    assert '/static/vendor/echarts/echarts.min.js' in html


def test_no_template_loads_a_remote_script_or_style():
    remote = re.compile(r"""<(script|link)\b[^>]*(src|href)=["']?(https?:)?//""", re.I)
    offenders = [
        str(path) for root in TEMPLATE_ROOTS for path in root.rglob("templates/**/*.html")
        if remote.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_unread_badge_counts_unread_notifications(consultant_client, consultant):
    notify(recipients=[consultant], kind="test", title="一", channels=[])
    notify(recipients=[consultant], kind="test", title="二", channels=[])
    html = consultant_client.get(reverse("web:home")).content.decode()
    assert re.search(r'id="unread-badge" data-count="2"', html)


def test_home_shows_dashboard_tiles_with_chart(consultant_client, consultant):
    notify(recipients=[consultant], kind="test", title="一", channels=[])
    html = consultant_client.get(reverse("web:home")).content.decode()
    assert 'id="tile-coreunread_notifications"' in html
    assert f'data-chart-url="{reverse("core:inbox_chart")}"' in html
    assert 'class="tile-number">1<' in html


def test_menu_lists_registry_entries(consultant_client):
    html = consultant_client.get(reverse("web:home")).content.decode()
    assert f'href="{reverse("core:inbox")}" data-key="core.inbox"' in html


def test_mobile_nav_toggle_present(consultant_client):
    html = consultant_client.get(reverse("web:home")).content.decode()
    assert 'id="nav-toggle" aria-controls="sidenav" aria-expanded="false"' in html
    assert 'name="viewport"' in html


def test_home_query_count_is_constant(consultant_client, consultant, django_assert_max_num_queries):
    notify(recipients=[consultant], kind="test", title="一", channels=[])
    with django_assert_max_num_queries(12):
        consultant_client.get(reverse("web:home"))
    for i in range(5):
        notify(recipients=[consultant], kind="test", title=f"n{i}", channels=[])
    with django_assert_max_num_queries(12):
        consultant_client.get(reverse("web:home"))


@pytest.mark.parametrize(("language", "text"),
                         [("zh-hans", "页面不存在"), ("en", "Page not found")])
def test_friendly_404_in_both_languages(client, language, text):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert text in response.content.decode()


@pytest.mark.parametrize(("language", "text"),
                         [("zh-hans", "出错了"), ("en", "Something went wrong")])
def test_friendly_500_page_in_both_languages(rf, language, text):
    from django.utils import translation
    from django.views.defaults import server_error

    with translation.override(language):
        response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert text in response.content.decode()


@pytest.mark.parametrize(("language", "text"), [("zh-hans", "无权访问此页面"),
                                                ("en", "You may not open this page")])
def test_friendly_403_in_both_languages(rf, consultant, language, text):
    from django.core.exceptions import PermissionDenied
    from django.utils import translation
    from django.views.defaults import permission_denied

    request = rf.get("/")
    request.user = consultant
    with translation.override(language):
        response = permission_denied(request, PermissionDenied())
    assert response.status_code == 403
    assert text in response.content.decode()
