import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_are_chinese_even_for_an_english_browser(client):
    page = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "登录" in page.content.decode()


def test_the_language_switch_wins_over_the_default(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get(reverse("accounts:login"))
    assert "Sign in" in page.content.decode()
    assert "登录" not in page.content.decode()


def test_an_unknown_language_cookie_falls_back_to_chinese(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"
    page = client.get(reverse("accounts:login"))
    assert "登录" in page.content.decode()


def test_api_follows_the_accept_language_header(client):
    response = client.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    english = response.json()["message"]
    chinese = client.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["message"]
    assert english != chinese
