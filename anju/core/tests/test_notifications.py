import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anju.accounts.models import Role, User
from anju.core.models import Notification, NotificationDelivery
from anju.core.notifications import (
    inbox_for,
    notification_mark_all_read,
    notification_mark_read,
    notify,
    unread_count,
)
from anju.core.notifications.channels import LoggingSmsGateway, mask_phone
from anju.core.notifications.selectors import inbox_page, notifications_per_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db):
    return User.objects.create_user(username="alice", password="x" * 12, display_name="王芳",
                                    email="alice@example.com", phone="+8613800138000",
                                    role=Role.objects.get(code=Role.Code.SALES_CONSULTANT))


@pytest.fixture
def bob(db):
    return User.objects.create_user(username="bob", password="x" * 12, display_name="李强",
                                    email="bob@example.com")


class _Gateway:
    """A real HTTP server on 127.0.0.1 that records what it receives."""

    def __init__(self, answer):
        self.answer = answer
        self.received: list[dict] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                gateway.received.append(json.loads(self.rfile.read(length)))
                body = json.dumps(gateway.answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    servers = []

    def start(answer):
        server = _Gateway(answer)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _free_port_url():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/down"


# --- notify ---------------------------------------------------------------------------------
def test_notify_creates_inbox_rows_for_each_recipient_once(alice, bob):
    rows = notify(recipients=[alice, bob, alice], kind="lead.assigned", title="新线索",
                  body="张三 138****0000", url="/leads/1/", channels=[])
    assert len(rows) == 2
    assert unread_count(user=alice) == 1 and unread_count(user=bob) == 1
    assert inbox_for(user=alice)[0].title == "新线索"


def test_notify_rejects_unknown_level_and_channel(alice):
    with pytest.raises(ValueError):
        notify(recipients=[alice], kind="k", title="t", level="shouting")
    with pytest.raises(ValueError):
        notify(recipients=[alice], kind="k", title="t", channels=["pigeon"])
    assert Notification.objects.count() == 0


def test_notify_rolled_back_with_the_callers_transaction(alice, settings,
                                                          django_capture_on_commit_callbacks):
    settings.ANJU_NOTIFY_EMAIL = True
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                notify(recipients=[alice], kind="k", title="会被回滚")
                raise RuntimeError("the action failed")
        except RuntimeError:
            pass
    assert Notification.objects.count() == 0
    assert callbacks == []
    assert mail.outbox == []


def test_email_is_sent_only_on_commit(alice, settings, django_capture_on_commit_callbacks):
    settings.ANJU_NOTIFY_EMAIL = True
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(recipients=[alice], kind="k", title="客户来访", body="今天 15:00")
    assert mail.outbox == []  # nothing leaves before the commit
    delivery = NotificationDelivery.objects.get()
    assert (delivery.channel, delivery.state) == ("email", "pending")
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert mail.outbox[0].subject == "客户来访"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("sent", 1)
    assert delivery.sent_at is not None


def test_default_channels_follow_settings(alice, settings, django_capture_on_commit_callbacks):
    settings.ANJU_NOTIFY_EMAIL = False
    settings.ANJU_WECOM_WEBHOOK_URL = ""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(recipients=[alice], kind="k", title="只进收件箱")
    assert len(callbacks) == 1  # the inbox badge is dropped from the cache; nothing is sent
    assert NotificationDelivery.objects.count() == 0


def test_recipient_without_email_is_skipped(bob, alice, settings,
                                            django_capture_on_commit_callbacks):
    bob.email = ""
    bob.save()
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[bob], kind="k", title="t", channels=["email"])
    assert NotificationDelivery.objects.get().state == "skipped"


def test_wecom_delivery_posts_text_to_webhook(alice, settings, gateway,
                                              django_capture_on_commit_callbacks):
    server = gateway({"errcode": 0, "errmsg": "ok"})
    settings.ANJU_WECOM_WEBHOOK_URL = server.url
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[alice], kind="ticket.overdue", title="工单超时", body="A-101 漏水",
               channels=["wecom"])
    assert server.received == [{"msgtype": "text", "text": {
        "content": "工单超时\nA-101 漏水", "mentioned_mobile_list": ["13800138000"]}}]
    delivery = NotificationDelivery.objects.get()
    assert (delivery.channel, delivery.state, delivery.error) == ("wecom", "sent", "")


def test_wecom_errcode_is_recorded_as_failure(alice, settings, gateway,
                                              django_capture_on_commit_callbacks):
    server = gateway({"errcode": 93000, "errmsg": "invalid webhook url"})
    settings.ANJU_WECOM_WEBHOOK_URL = server.url
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[alice], kind="k", title="t", channels=["wecom"])
    delivery = NotificationDelivery.objects.get()
    assert delivery.state == "failed" and delivery.attempts == 1
    assert "93000" in delivery.error


def test_endpoint_down_is_recorded_as_failure(alice, settings,
                                              django_capture_on_commit_callbacks):
    settings.ANJU_WECOM_WEBHOOK_URL = _free_port_url()
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[alice], kind="k", title="t", channels=["wecom"])
    delivery = NotificationDelivery.objects.get()
    assert delivery.state == "failed"
    assert "unreachable" in delivery.error


def test_http_sms_gateway_posts_json(alice, settings, gateway,
                                     django_capture_on_commit_callbacks):
    server = gateway({"code": 0})
    settings.ANJU_SMS_BACKEND = "anju.core.notifications.channels.HttpSmsGateway"
    settings.ANJU_SMS_GATEWAY_URL = server.url
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[alice], kind="k", title="验房提醒", channels=["sms"])
    assert server.received == [{"phone": "+8613800138000", "text": "验房提醒"}]
    assert NotificationDelivery.objects.get().state == "sent"


def test_http_sms_gateway_refusal_is_failure(alice, settings, gateway,
                                             django_capture_on_commit_callbacks):
    server = gateway({"code": 40001, "message": "quota exceeded"})
    settings.ANJU_SMS_BACKEND = "anju.core.notifications.channels.HttpSmsGateway"
    settings.ANJU_SMS_GATEWAY_URL = server.url
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[alice], kind="k", title="t", channels=["sms"])
    delivery = NotificationDelivery.objects.get()
    assert delivery.state == "failed" and "40001" in delivery.error


def test_logging_sms_gateway_masks_the_number(caplog):
    with caplog.at_level(logging.INFO, logger="anju.core.notifications.channels"):
        LoggingSmsGateway().send("+8613800138000", "您好")
    assert "+86138****8000" in caplog.text
    assert "13800138000" not in caplog.text
    assert mask_phone("13800138000") == "138****8000"


# --- reading --------------------------------------------------------------------------------
def test_user_cannot_mark_anothers_notification(alice, bob):
    [mine] = notify(recipients=[alice], kind="k", title="alice's", channels=[])
    assert notification_mark_read(user=bob, ids=[mine.pk]) == 0
    assert notification_mark_all_read(user=bob) == 0
    mine.refresh_from_db()
    assert mine.read_at is None
    assert notification_mark_read(user=alice, ids=[mine.pk]) == 1
    assert unread_count(user=alice) == 0


def test_inbox_keyset_pages(alice):
    for i in range(5):
        notify(recipients=[alice], kind="k", title=f"n{i}", channels=[])
    first = inbox_page(user=alice, limit=2)
    assert [n.title for n in first.items] == ["n4", "n3"]
    second = inbox_page(user=alice, limit=2, cursor=first.next_cursor)
    assert [n.title for n in second.items] == ["n2", "n1"]
    third = inbox_page(user=alice, limit=2, cursor=second.next_cursor)
    assert [n.title for n in third.items] == ["n0"] and third.next_cursor is None
    assert [n.title for n in inbox_page(user=alice, cursor="garbage").items][:1] == ["n4"]


def test_notifications_per_day_counts_local_days(alice):
    notify(recipients=[alice], kind="k", title="today", channels=[])
    old = notify(recipients=[alice], kind="k", title="old", channels=[])[0]
    Notification.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    series = notifications_per_day(user=alice, days=14)
    assert len(series) == 14
    assert series[-1] == (timezone.localdate(), 1)
    assert series[-4] == (timezone.localdate() - timedelta(days=3), 1)
    assert sum(n for _d, n in series) == 2


# --- pages and API --------------------------------------------------------------------------
def test_inbox_page_lists_only_own(client, alice, bob):
    notify(recipients=[alice], kind="k", title="给王芳", channels=[])
    notify(recipients=[bob], kind="k", title="给李强", channels=[])
    client.force_login(alice)
    html = client.get(reverse("core:inbox")).content.decode()
    assert "给王芳" in html and "给李强" not in html


def test_inbox_query_count_is_constant(client, alice, django_assert_num_queries):
    client.force_login(alice)
    notify(recipients=[alice], kind="k", title="one", channels=[])
    with CaptureQueriesContext(connection) as first:
        client.get(reverse("core:inbox"))
    for i in range(15):
        notify(recipients=[alice], kind="k", title=f"n{i}", body="正文", url="/x/", channels=[])
    with django_assert_num_queries(len(first.captured_queries)):
        assert client.get(reverse("core:inbox")).status_code == 200


def test_htmx_mark_read_swaps_the_row_and_updates_the_badge(client, alice, bob):
    [mine] = notify(recipients=[alice], kind="k", title="t", channels=[])
    [theirs] = notify(recipients=[bob], kind="k", title="t", channels=[])
    client.force_login(alice)
    response = client.post(reverse("core:inbox_mark_read"), {"ids": [mine.pk]},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert f'id="notification-{mine.pk}"' in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {"anju:unread": 0}
    response = client.post(reverse("core:inbox_mark_read"), {"ids": [theirs.pk]},
                           headers={"HX-Request": "true"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_without_htmx_redirects(client, alice):
    notify(recipients=[alice], kind="k", title="t", channels=[])
    client.force_login(alice)
    response = client.post(reverse("core:inbox_mark_all_read"), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("core:inbox")
    assert unread_count(user=alice) == 0


def test_chart_endpoint_returns_echarts_option(client, alice, django_assert_max_num_queries):
    notify(recipients=[alice], kind="k", title="t", channels=[])
    client.force_login(alice)
    with django_assert_max_num_queries(6):
        option = client.get(reverse("core:inbox_chart")).json()
    assert len(option["xAxis"]["data"]) == 14
    assert option["series"][0]["data"][-1] == 1


def test_api_lists_own_and_marks_read(client, alice, bob, django_assert_max_num_queries):
    notify(recipients=[alice], kind="k", title="a1", channels=[])
    [a2] = notify(recipients=[alice], kind="k", title="a2", channels=[])
    [b1] = notify(recipients=[bob], kind="k", title="b1", channels=[])
    client.force_login(alice)
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/notifications/").json()
    assert [n["title"] for n in body["results"]] == ["a2", "a1"]
    response = client.post("/api/v1/notifications/read/", {"ids": [a2.pk, b1.pk]},
                           content_type="application/json")
    assert response.json() == {"marked": 1, "unread": 1}
    b1.refresh_from_db()
    assert b1.read_at is None
    unread = client.get("/api/v1/notifications/?unread=true").json()["results"]
    assert [n["title"] for n in unread] == ["a1"]
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 1, "unread": 0}


def test_api_rejects_bad_ids_with_field_error(client, alice):
    client.force_login(alice)
    response = client.post("/api/v1/notifications/read/", {"ids": ["x"]},
                           content_type="application/json")
    assert response.status_code == 400
    assert "ids" in json.dumps(response.json())


def test_api_query_count_constant(client, alice, django_assert_num_queries):
    client.force_login(alice)
    notify(recipients=[alice], kind="k", title="one", channels=[])
    with CaptureQueriesContext(connection) as first:
        client.get("/api/v1/notifications/")
    for i in range(10):
        notify(recipients=[alice], kind="k", title=f"n{i}", channels=[])
    with django_assert_num_queries(len(first.captured_queries)):
        client.get("/api/v1/notifications/")


@pytest.mark.parametrize(("language", "texts"), [("zh-hans", ["收件箱", "标为已读"]),
                                                 ("en", ["Inbox", "Mark as read"])])
def test_inbox_page_speaks_the_users_language(client, alice, settings, language, texts):
    notify(recipients=[alice], kind="k", title="t", channels=[])
    client.force_login(alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = client.get(reverse("core:inbox")).content.decode()
    assert all(text in html for text in texts)


@pytest.mark.django_db(transaction=True)
def test_the_badge_is_kept_and_follows_every_change(make_user):
    """Outside a transaction the badge is read once per half minute, and every service that
    changes it (a new notice, read one, read all) shows the new number on the next page."""
    reader = make_user("reader", "sales_consultant")

    def counted() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            value = unread_count(user=reader)
        return value, len(captured)

    notify(recipients=[reader], kind="test", title="一", channels=[])
    assert counted() == (1, 1)
    assert counted() == (1, 0)  # kept
    first, = notify(recipients=[reader], kind="test", title="二", channels=[])
    notify(recipients=[reader], kind="test", title="三", channels=[])
    assert counted()[0] == 3
    notification_mark_read(user=reader, ids=[first.pk])
    assert counted()[0] == 2
    notification_mark_all_read(user=reader)
    assert counted() == (0, 1)
    with transaction.atomic():
        notify(recipients=[reader], kind="test", title="四", channels=[])
        assert unread_count(user=reader) == 1  # read fresh inside, never kept
        transaction.set_rollback(True)
    assert counted()[0] == 0
