import csv
import io

import pytest
from django.urls import reverse

from anju.core.models import ExportRequest, Notification, SensitiveAccess


def _csv(response):
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(content)))


@pytest.fixture
def customers(people, make_customer, org):
    make_customer("张三", phones=["13800138000"], owner=people["consultant"],
                  id_number="11010519491231002X")
    make_customer("=HYPERLINK(\"x\")", owner=people["peer"])
    make_customer("王五", owner=people["consultant_b"], stage="buyer", project=org["b"])


def test_manager_exports_filtered_list_masked_and_logged(people, customers, client_for):
    client = client_for(people["manager"])
    response = client.get(reverse("customers:export"), {"format": "csv", "stage": "potential"})
    assert response.status_code == 200
    rows = _csv(response)
    names = [row[0] for row in rows[1:]]
    assert sorted(names) == sorted(["张三", "'=HYPERLINK(\"x\")"])
    flat = "\n".join(",".join(row) for row in rows)
    assert "138****8000" in flat and "13800138000" not in flat
    assert "11010519491231002X" not in flat
    log = SensitiveAccess.objects.get(action="export")
    assert log.user == people["manager"] and log.detail["rows"] == 2


def test_xlsx_export(people, customers, client_for):
    response = client_for(people["manager"]).get(reverse("customers:export"),
                                                 {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_export_is_scoped(people, customers, client_for, make_user, org):
    # marketing (project A, may export) sees A's customers only: not 王五 of project B
    rows = _csv(client_for(people["marketing"]).get(reverse("customers:export"),
                                                    {"format": "csv"}))
    assert "王五" not in [row[0] for row in rows]
    assert len(rows) == 3


def test_consultant_may_not_export(people, customers, client_for):
    response = client_for(people["consultant"]).get(reverse("customers:export"),
                                                    {"format": "csv"})
    assert response.status_code == 403


def test_bulk_export_needs_approval_then_downloads(people, customers, client_for, settings):
    settings.ANJU_EXPORT_APPROVAL_THRESHOLD = 1
    marketing = client_for(people["marketing"])
    response = marketing.get(reverse("customers:export"), {"format": "csv", "tier": "potential"})
    assert response.status_code == 202
    request = ExportRequest.objects.get()
    assert request.state == "pending" and request.query == "tier=potential"
    assert not SensitiveAccess.objects.filter(action="export").exists()
    # approvers who can see the requester were told
    assert Notification.objects.filter(kind="export_request",
                                       recipient=people["manager"]).exists()
    # no download before approval
    download = reverse("customers:export-download", args=[request.pk])
    assert marketing.get(download).status_code == 404
    # the requester cannot approve; an outsider manager cannot either
    assert marketing.post(reverse("core:export-request-decide", args=[request.pk]),
                          {"decision": "approve"}).status_code == 403
    manager = client_for(people["manager"])
    page = manager.get(reverse("core:export-requests"))
    assert f"export-request-{request.pk}" in page.content.decode()
    manager.post(reverse("core:export-request-decide", args=[request.pk]),
                 {"decision": "approve", "note": "季度回访"})
    request.refresh_from_db()
    assert request.state == "approved" and request.decided_by == people["manager"]
    assert Notification.objects.filter(kind="export_decided",
                                       recipient=people["marketing"]).exists()
    # another user cannot use the approval
    assert client_for(people["peer"]).get(download).status_code == 404
    response = marketing.get(download)
    assert response.status_code == 200
    rows = _csv(response)
    assert len(rows) == 3  # header + two customers of project A
    assert SensitiveAccess.objects.get(action="export").detail["approved"] is True


def test_rejected_export_cannot_be_downloaded(people, customers, client_for, settings):
    settings.ANJU_EXPORT_APPROVAL_THRESHOLD = 1
    marketing = client_for(people["marketing"])
    marketing.get(reverse("customers:export"), {"format": "xlsx"})
    request = ExportRequest.objects.get()
    client_for(people["manager"]).post(reverse("core:export-request-decide", args=[request.pk]),
                                       {"decision": "reject"})
    request.refresh_from_db()
    assert request.state == "rejected"
    assert marketing.get(reverse("customers:export-download",
                                 args=[request.pk])).status_code == 404
