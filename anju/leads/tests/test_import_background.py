"""The lead import runs in the background: the upload is queued, the page shows how far it
has got, any number of rows goes through (only the file's size is capped), bad rows come
back in an error sheet in the uploader's language, and a crash ends the import failed with a
message instead of leaving it running."""

import io
from datetime import timedelta

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anju.leads import importing, tasks
from anju.leads.models import Lead, LeadImport

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet_file(rows, name="展会名单.xlsx") -> SimpleUploadedFile:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return SimpleUploadedFile(name, data.getvalue(), content_type=XLSX)


def upload(client, org, file, channel=None):
    data = {"project": org["a"].pk, "file": file}
    if channel is not None:
        data["channel"] = channel.pk
    return client.post(reverse("leads:import"), data)


def sheet_rows(file) -> list[tuple]:
    book = openpyxl.load_workbook(file)
    return list(book.active.iter_rows(values_only=True))


@pytest.mark.timeout(900)
def test_a_12000_row_sheet_goes_through_with_the_right_counts(org, staff, roster, channels,
                                                              client_for):
    """Over twice the old cap of 5,000 rows. One row in four is a good lead (each goes
    through the whole capture); the others are junk of three kinds, refused by the checks."""
    rows = [["姓名", "手机", "预算", "购房时间", "备注"]]
    junk = (["<script>", "13900000000", "", "", ""], ["李四", "12", "", "", ""],
            ["王五", "13900000001", "abc", "", ""])
    for index in range(12_000):
        if index % 4 == 0:
            rows.append(["访客", f"13{8 + index % 2}{index:08d}", 150 + index % 200,
                         "三个月内", ""])
        else:
            rows.append(junk[index % 4 - 1])
    client = client_for(staff["c1"])
    response = upload(client, org, sheet_file(rows), channels["web"])
    job = LeadImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:import_detail", args=[job.pk])
    assert job.status == "done" and job.error == ""
    assert (job.total_rows, job.total, job.created, job.known, job.rejected) == (
        12_000, 12_000, 3_000, 0, 9_000)
    assert Lead.objects.filter(project=org["a"], method="import").count() == 3_000
    assert Lead.objects.filter(created_by=staff["c1"]).count() == 3_000  # as the uploader
    # the job keeps the first rejected rows; the sheet has every one
    assert len(job.rejected_rows) == LeadImport.REJECTED_KEPT
    errors = client.get(reverse("leads:import_errors", args=[job.pk]))
    assert errors.status_code == 200 and errors["Content-Type"] == XLSX
    values = sheet_rows(io.BytesIO(b"".join(errors.streaming_content)))
    assert len(values) == 9_001
    assert [row[-1] for row in values[1:5]] == [3, 4, 5, 7]
    assert values[-1][-1] == 12_001
    assert values[2][-2].startswith("手机号: ") and values[3][-2].startswith("预算（万元）: ")
    assert not job.file  # the uploaded sheet (phones in clear) is not kept
    page = client.get(response["Location"]).content.decode()
    assert "every 2s" not in page  # done: no polling
    assert "共 12000 行：新线索 3000 条，已知客户 0 人，拒绝 9000 行。" in page


def test_bad_rows_come_back_with_their_row_numbers_and_reasons_in_chinese(
        org, staff, roster, channels, client_for, make_customer):
    make_customer("老客户", phones=["13600136000"], owner=staff["c2"])
    rows = [["姓名", "手机", "预算", "户型", "备注"],
            ["张伟", "13800138000", 300, "", ""],
            ["<script>alert(1)</script>", "13800138001", "", "", ""],
            ["李四", "12", "", "", ""],
            [None, None, None, None, None],
            ["老客户", "13600136000", "", "", ""],
            ["王五", "13800138002", "abc", "", "+<b>加粗</b>"]]
    client = client_for(staff["c1"])
    response = upload(client, org, sheet_file(rows))
    job = LeadImport.objects.get()
    assert (job.status, job.total_rows, job.total, job.created, job.known, job.rejected) == (
        "done", 5, 5, 1, 1, 3)
    reasons = {row["row"]: "；".join(row["reasons"]) for row in job.rejected_rows}
    assert set(reasons) == {3, 4, 7}
    assert reasons[3].endswith(": 此处仅允许纯文本：不能包含标记、脚本或链接。")
    assert reasons[4].startswith("手机号: ")
    assert "预算（万元）: " in reasons[7] and "备注: " in reasons[7]
    sheet = client.get(reverse("leads:import_errors", args=[job.pk]))
    values = sheet_rows(io.BytesIO(b"".join(sheet.streaming_content)))
    assert values[0] == ("姓名", "手机", "预算", "户型", "备注", "错误原因", "原文件行号")
    assert [row[-1] for row in values[1:]] == [3, 4, 7]
    assert values[3][4] == "'+<b>加粗</b>"  # a cell that would start a formula is prefixed
    assert values[2][-2] == reasons[4]
    page = client.get(response["Location"]).content.decode()
    assert "手机号: " in page and reverse("leads:import_errors", args=[job.pk]) in page


def test_the_uploader_reads_the_reasons_in_their_own_language(org, staff, roster,
                                                               client_for):
    client = client_for(staff["c1"])
    client.cookies["django_language"] = "en"
    upload(client, org, sheet_file([["name", "phone"], ["Li Si", "12"]]))
    job = LeadImport.objects.get()
    assert job.language == "en" and job.rejected_rows[0]["reasons"][0].startswith("phone: ")


def test_the_progress_card_polls_every_two_seconds_until_the_import_ends(org, staff,
                                                                        client_for):
    job = LeadImport.objects.create(project=org["a"], created_by=staff["c1"],
                                    original_name="名单.xlsx", headers=["姓名", "手机"],
                                    status="running", total_rows=12_000, total=4_800,
                                    created=4_000, rejected=800,
                                    rejected_rows=[{"row": 3, "values": ["x", "1"],
                                                    "reasons": ["手机号: 太短"]}])
    client = client_for(staff["c1"])
    url = reverse("leads:import_progress", args=[job.pk])
    detail = client.get(reverse("leads:import_detail", args=[job.pk])).content.decode()
    assert f'hx-get="{url}"' in detail and 'hx-trigger="every 2s"' in detail
    card = client.get(url).content.decode()
    assert 'data-status="running"' in card and 'hx-trigger="every 2s"' in card
    assert '<progress max="12000" value="4800">' in card
    assert "已处理 4800 / 12000 行（40%）" in card
    assert "errors.xlsx" not in card  # the download comes when it is done
    LeadImport.objects.filter(pk=job.pk).update(status="done", total=12_000)
    card = client.get(url).content.decode()
    assert 'data-status="done"' in card and "hx-trigger" not in card
    assert "<progress" not in card and "errors.xlsx" in card and "太短" in card


def test_the_progress_pages_are_scoped_and_cost_the_same_whatever_the_errors(
        org, staff, client_for):
    job = LeadImport.objects.create(project=org["a"], created_by=staff["c1"],
                                    original_name="名单.xlsx", headers=["姓名", "手机"],
                                    status="done", total_rows=3, total=3, rejected=1,
                                    rejected_rows=[{"row": 2, "values": [], "reasons": ["x"]}])
    assert client_for(staff["cb"]).get(
        reverse("leads:import_progress", args=[job.pk])).status_code == 404
    assert client_for(staff["c2"]).get(
        reverse("leads:import_detail", args=[job.pk])).status_code == 404  # not theirs
    client = client_for(staff["c1"])
    counts = []
    for name in ("leads:import_detail", "leads:import_progress"):
        with CaptureQueriesContext(connection) as few:
            assert client.get(reverse(name, args=[job.pk])).status_code == 200
        LeadImport.objects.filter(pk=job.pk).update(rejected=300, rejected_rows=[
            {"row": n, "values": ["x"], "reasons": ["y"]} for n in range(300)])
        with CaptureQueriesContext(connection) as many:
            assert client.get(reverse(name, args=[job.pk])).status_code == 200
        counts.append((len(few), len(many)))
    assert all(few == many for few, many in counts)


def test_a_crash_ends_the_import_failed_with_a_readable_message(org, staff, roster,
                                                               client_for, monkeypatch):
    real = importing.lead_capture
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 150:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(importing, "lead_capture", flaky)
    rows = [["姓名", "手机"]] + [["访客", f"1380000{i:04d}"] for i in range(300)]
    client = client_for(staff["c1"])
    response = upload(client, org, sheet_file(rows))
    assert response.status_code == 302  # the upload itself went fine
    job = LeadImport.objects.get()
    assert job.status == "failed" and job.finished_at is not None
    assert job.total == 100  # the first batch is saved, the broken one is not
    assert Lead.objects.count() == 100
    assert "RuntimeError" in job.error and "101" in job.error  # rows up to row 101 saved
    assert not job.file
    card = client.get(reverse("leads:import_progress", args=[job.pk])).content.decode()
    assert 'data-status="failed"' in card and "hx-trigger" not in card
    assert "101" in card and 'class="errorlist"' in card


def test_the_task_runs_as_the_uploader_with_their_scope(org, staff, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    job = importing.lead_import_run(actor=staff["c1"], project=org["a"], channel=None,
                                    upload=sheet_file([["姓名", "手机"],
                                                       ["访客", "13800138000"]]))
    assert job.status == "queued" and job.total == 0  # nothing yet: the worker does it
    staff["c1"].projects.set([org["b"]])  # moved to another project before it ran
    job = importing.lead_import_process(job_id=job.pk)
    assert job.status == "failed" and "四季花城" in job.error
    assert Lead.objects.count() == 0
    # a job that is not queued is left alone (a second delivery of the task)
    assert importing.lead_import_process(job_id=job.pk).status == "failed"


def test_an_import_whose_worker_went_away_is_marked_failed(org, staff):
    job = LeadImport.objects.create(project=org["a"], created_by=staff["c1"],
                                    original_name="名单.xlsx", status="running",
                                    total_rows=9_000, total=2_000)
    fresh = LeadImport.objects.create(project=org["a"], created_by=staff["c1"],
                                      original_name="新.xlsx", status="running")
    LeadImport.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - timedelta(minutes=11))
    assert tasks.lead_imports_fail_stalled.enqueue().return_value == 1
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.status == "failed" and "2000" in job.error
    assert fresh.status == "running"


@pytest.mark.parametrize("file,message", [
    (SimpleUploadedFile("x.xlsx", b"not a workbook", content_type=XLSX), "无法读取该 xlsx 文件"),
    (SimpleUploadedFile("x.xlsx", b"", content_type=XLSX), "空"),
    ("missing_phone", "phone"),
])
def test_a_bad_upload_is_refused_on_the_spot_naming_the_file(org, staff, client_for, file,
                                                             message):
    if file == "missing_phone":
        file = sheet_file([["姓名", "预算"], ["访客", 100]])
    response = upload(client_for(staff["c1"]), org, file)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_file_error"' in body and message in body
    assert not LeadImport.objects.exists()


def test_only_the_size_of_the_file_is_capped(org, staff, client_for, monkeypatch):
    monkeypatch.setattr(importing, "MAX_BYTES", 1024)
    big = sheet_file([["姓名", "手机"]] + [["访客", f"1380000{i:04d}"] for i in range(400)])
    response = upload(client_for(staff["c1"]), org, big)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_file_error"' in body and "文件大小为" in body and "1.0" in body
    assert not LeadImport.objects.exists()


def _openpyxl_first_row(data: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    first = next(book.worksheets[0].iter_rows(max_row=1, values_only=True), ())
    book.close()
    headers = [str(value or "").strip() for value in first]
    while headers and not headers[-1]:
        headers.pop()
    return headers


def test_the_header_is_read_without_loading_every_shared_string():
    """The upload's request reads only the first row (and the shared strings it uses): the
    same header as openpyxl, for the workbooks offices send."""
    import xlsxwriter

    samples = []
    book = openpyxl.Workbook()  # shared strings, a gap, a number, a second sheet
    sheet = book.active
    sheet.append(["手机", None, "姓名", 2024, " 备注 "])
    sheet.append(["13800138000", None, "张伟", 1, "x"])
    book.create_sheet("其他").append(["不是这张"])
    data = io.BytesIO()
    book.save(data)
    samples.append(data.getvalue())
    out = io.BytesIO()  # xlsxwriter: another writer, a header starting at B1
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    other = workbook.add_worksheet()
    other.write_row(1 - 1, 1, ["客户姓名", "联系电话", "预算（万元）"])
    other.write_row(1, 1, ["李四", "13900139000", 300])
    workbook.close()
    samples.append(out.getvalue())
    empty_first = openpyxl.Workbook()  # the first row left empty
    empty_first.active.append([])
    empty_first.active.append(["姓名", "手机"])
    data = io.BytesIO()
    empty_first.save(data)
    samples.append(data.getvalue())
    for sample in samples:
        fast = [value.strip() for value in importing._first_row_fast(io.BytesIO(sample))]
        while fast and not fast[-1]:
            fast.pop()
        assert fast == _openpyxl_first_row(sample)  # no fallback needed
        upload = SimpleUploadedFile("x.xlsx", sample, content_type=XLSX)
        assert importing._read_headers(upload) == fast
    assert importing._read_headers(SimpleUploadedFile("x.xlsx", samples[1])) == [
        "", "客户姓名", "联系电话", "预算（万元）"]


@pytest.mark.django_db(transaction=True)
def test_with_a_real_queue_the_upload_waits_for_the_worker(settings, org, make_user,
                                                           client_for):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    consultant = make_user("qc1", "sales_consultant", projects=[org["a"]])
    client = client_for(consultant)
    response = upload(client, org, sheet_file(
        [["姓名", "手机"], ["访客", "13800138000"], ["王五", "12"]]))
    job = LeadImport.objects.get()
    assert response["Location"] == reverse("leads:import_detail", args=[job.pk])
    assert job.status == "queued" and job.file  # stored for the worker
    page = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 2s"' in page
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    job.refresh_from_db()
    assert (job.status, job.total, job.created, job.rejected) == ("done", 2, 1, 1)
    card = client.get(reverse("leads:import_progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in card and "errors.xlsx" in card


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_chromium_the_progress_card_follows_the_import_and_stops_polling(open_as, org,
                                                                           make_user):
    user = make_user("pc1", "sales_consultant", projects=[org["a"]])
    job = LeadImport.objects.create(project=org["a"], created_by=user,
                                    original_name="名单.xlsx", headers=["姓名", "手机"],
                                    status="running", total_rows=200, total=50)
    page = open_as(user, reverse("leads:import_detail", args=[job.pk]))
    assert page.locator("progress").get_attribute("value") == "50"
    LeadImport.objects.filter(pk=job.pk).update(total=150)
    page.wait_for_function("() => document.querySelector('progress').value === 150",
                           timeout=6000)
    LeadImport.objects.filter(pk=job.pk).update(status="done", total=200, created=200)
    page.locator('#import-progress[data-status="done"]').wait_for(timeout=6000)
    assert "新线索 200 条" in page.locator("#import-summary").inner_text()
    polls = []
    page.on("request", lambda request: polls.append(request.url)
            if "/progress/" in request.url else None)
    page.wait_for_timeout(3000)
    assert polls == []  # done: the card no longer polls
    assert page.csp_errors == []
