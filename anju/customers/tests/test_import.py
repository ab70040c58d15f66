"""Excel/CSV import: validation with reasons, dedup, resume, error sheet, pages."""

import csv
import datetime
import io
import random

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from stdnum.cn import ric

from anju.core.crypto import lookup_hash
from anju.core.normalise import normalise_phone
from anju.customers.importing import pipeline, services
from anju.customers.importing.errorsheet import error_sheet
from anju.customers.importing.mapping import auto_mapping
from anju.customers.importing.pipeline import import_job_process
from anju.customers.importing.validation import _phone
from anju.customers.models import (
    Customer,
    CustomerNeed,
    CustomerPhone,
    CustomerSearchTerm,
    ImportJob,
    ImportRejectedRow,
)
from anju.customers.search import customer_search

HEADERS = ["姓名", "手机号", "身份证号", "性别", "生日", "来源渠道", "意向项目", "预算(万元)",
           "面积", "职业", "地址", "备注"]


def id_number(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")  # it ignores the last character


GOOD_ID = id_number("11010119900307123")       # a man born 1990-03-07
OTHER_ID = id_number("32010219851212002")      # a woman born 1985-12-12
BAD_ID = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")


def csv_bytes(rows, headers=HEADERS, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, headers=HEADERS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def row(name="张三", phone="", id_no="", gender="", birthday="", channel="", projects="",
        budget="", area="", job="", address="", notes=""):
    return [name, phone, id_no, gender, birthday, channel, projects, budget, area, job,
            address, notes]


@pytest.fixture
def run_import(people, org, django_capture_on_commit_callbacks):
    """Uploads `content` as `name`, keeps the proposed mapping, starts it; the task runs on
    commit (the immediate backend) and the finished job is returned."""

    def run(content: bytes, name="客户.csv", *, user=None, language="en", project=None,
            owner=None, columns=None):
        user = user or people["consultant"]
        upload = SimpleUploadedFile(name, content)
        job = services.import_job_create(actor=user, upload=upload,
                                         project=project or org["a"], owner=owner,
                                         language=language)
        if columns is not None:
            job = services.import_job_set_mapping(actor=user, job=job, columns=columns)
        with django_capture_on_commit_callbacks(execute=True):
            services.import_job_start(actor=user, job=job)
        job.refresh_from_db()
        return job

    return run


def test_bad_rows_are_rejected_with_reasons_and_good_rows_created_once(run_import, people,
                                                                       org):
    future = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    rows = [
        row("张三", "138-0013-8000", GOOD_ID, "", "", "抖音", "四季花城、不存在的盘",
            "200-300", "90~120㎡", "教师", "杭州西湖区", "喜欢南向"),
        row("李四", "+86 139 0000 1111", OTHER_ID, "女", "1985/12/12"),
        row("短号", "13800"),                          # short phone
        row("字母", "138abc38000"),                      # letters in phone
        row("错号", "13700001111", BAD_ID),              # wrong ID checksum
        row("", "13700002222"),                          # empty name
        row("假日", "13700003333", "", "", "1990-02-30"),  # impossible birthday
        row("未来", "13700004444", "", "", future),       # future birthday
        row("预算", "13700005555", budget="很多"),         # budget not a number
        row("王五", "15900001111", birthday="19880808", gender="男"),
    ]
    job = run_import(csv_bytes(rows))
    assert job.state == ImportJob.State.DONE
    assert (job.total_rows, job.processed_rows) == (10, 10)
    assert (job.created_count, job.duplicate_count, job.rejected_count) == (3, 0, 7)

    assert sorted(Customer.objects.values_list("name", flat=True)) == ["张三", "李四", "王五"]
    zhang = Customer.objects.get(name="张三")
    assert zhang.primary_phone == "+8613800138000"
    assert zhang.owner == people["consultant"] and zhang.project == org["a"]
    assert zhang.company == org["first"]
    assert zhang.id_number == GOOD_ID and zhang.id_number_hash == lookup_hash(GOOD_ID)
    assert zhang.gender == "male" and zhang.birthday == datetime.date(1990, 3, 7)
    assert zhang.source_channel == "抖音" and zhang.occupation == "教师"
    assert list(zhang.interested_projects.all()) == [org["a"]]
    need = CustomerNeed.objects.get(customer=zhang)
    assert (need.budget_min_wan, need.budget_max_wan) == (200, 300)
    assert (need.area_min, need.area_max) == (90, 120)
    assert "喜欢南向" in need.notes and "不存在的盘" in need.notes
    assert list(zhang.phones.values_list("e164", "last4", "is_primary")) == [
        ("+8613800138000", "8000", True)]
    terms = set(CustomerSearchTerm.objects.filter(customer=zhang).values_list("term",
                                                                               flat=True))
    assert {"张三", "三", "zhangsan", "zs"} <= terms
    for query in ("张", "三", "zs", "zhang san", "8000"):
        assert [hit.customer for hit in customer_search(viewer=people["admin"], query=query)
                ] == [zhang], query
    li = Customer.objects.get(name="李四")
    assert li.gender == "female" and li.birthday == datetime.date(1985, 12, 12)
    wang = Customer.objects.get(name="王五")
    assert wang.birthday == datetime.date(1988, 8, 8) and wang.id_number == ""

    reasons = {r.row_number: r.reasons for r in ImportRejectedRow.objects.filter(job=job)}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 10]
    assert reasons[4] == ["手机号: This phone number is too short."]
    assert reasons[5] == ["手机号: A phone number may contain only digits, spaces, dashes "
                          "and a leading +."]
    assert reasons[6][0].startswith("身份证号: This ID card number is not valid")
    assert reasons[7] == ["姓名: Enter a name."]
    assert reasons[8] == ["生日: This date does not exist."]
    assert reasons[9] == ["生日: A birthday cannot be in the future."]
    assert reasons[10][0].startswith("预算(万元): Write the budget in 万元")
    assert ImportRejectedRow.objects.get(job=job, row_number=4).values[:2] == ["短号", "13800"]


def test_reasons_are_in_the_language_of_the_user_who_uploaded(run_import):
    job = run_import(csv_bytes([row("短号", "13800")]), language="zh-hans")
    assert ImportRejectedRow.objects.get(job=job).reasons == ["手机号: 电话号码太短。"]


def test_duplicates_inside_the_file_and_against_the_ledger_are_counted_not_created(
        run_import, make_customer):
    existing = make_customer("老客户", phones=["13800138000"])
    rows = [
        row("老客户", "138-0013-8000"),                    # in the ledger, written another way
        row("新甲", "+86 139 1111 2222"),
        row("新甲", "13911112222"),                        # same phone as the row above
        row("新乙", "13911113333", GOOD_ID.lower()[:-1] + GOOD_ID[-1].lower()),
        row("新乙", "13911114444", " ".join([GOOD_ID[:6], GOOD_ID[6:14], GOOD_ID[14:]])),
        row("新丙", "13911115555", "", "", "", "", "", "", "", "", "", ""),
    ]
    job = run_import(csv_bytes(rows))
    assert (job.created_count, job.duplicate_count, job.rejected_count) == (3, 3, 0)
    assert Customer.objects.count() == 4
    assert CustomerPhone.objects.get(e164="+8613800138000").customer == existing
    assert Customer.objects.filter(name="新乙").count() == 1
    assert Customer.objects.filter(name="新甲").count() == 1


def test_reimporting_the_same_file_creates_nothing(run_import, client_for, people):
    content = csv_bytes([row("张三", "13800138000", GOOD_ID), row("李四", "13900001111")])
    first = run_import(content)
    assert first.created_count == 2
    second = run_import(content)
    assert (second.created_count, second.duplicate_count) == (0, 2)
    assert Customer.objects.count() == 2
    # the page says so before anything starts
    upload = SimpleUploadedFile("客户.csv", content)
    third = services.import_job_create(actor=people["consultant"], upload=upload,
                                       project=first.project, language="en")
    client = client_for(people["consultant"])
    client.cookies["django_language"] = "en"
    response = client.get(reverse("customers:import_detail", args=[third.pk]))
    assert "This very file was already imported" in response.content.decode()


def test_a_crash_after_a_chunk_loses_nothing_and_the_rerun_resumes(run_import, monkeypatch):
    rows = [row(f"客户{i}", f"1390000{i:04d}") for i in range(7)]
    rows.insert(3, row("短号", "13800"))  # a rejected row in the second chunk
    content = csv_bytes(rows)
    real_write = pipeline.ChunkWriter.write
    calls = {"n": 0}

    def crashing_write(self, chunk, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real_write(self, chunk, **kwargs)

    monkeypatch.setattr(pipeline.ChunkWriter, "write", crashing_write)
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 2)
    monkeypatch.setattr(pipeline.import_job_process, "__kwdefaults__", {"chunk_size": 2})
    job = run_import(content)  # the task fails (the backend records it); the job says so
    assert job.state == ImportJob.State.FAILED and "worker killed" in job.error
    assert job.processed_rows == 4
    assert (job.created_count, job.rejected_count) == (3, 1)
    assert Customer.objects.count() == 3

    monkeypatch.setattr(pipeline.ChunkWriter, "write", real_write)
    job = import_job_process(job_id=job.pk, chunk_size=2)
    assert job.state == ImportJob.State.DONE
    assert (job.processed_rows, job.created_count, job.duplicate_count,
            job.rejected_count) == (8, 7, 0, 1)
    names = sorted(Customer.objects.values_list("name", flat=True))
    assert names == sorted(f"客户{i}" for i in range(7))
    assert CustomerPhone.objects.count() == 7
    assert ImportRejectedRow.objects.filter(job=job).count() == 1


def test_a_rolled_back_chunk_leaves_no_half_written_rows(run_import, monkeypatch):
    def failing_terms(self, rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline.ChunkWriter, "_insert_terms", failing_terms)
    job = run_import(csv_bytes([row("张三", "13800138000")]))
    assert job.state == ImportJob.State.FAILED and "disk full" in job.error
    assert Customer.objects.count() == 0 and CustomerPhone.objects.count() == 0
    assert ImportJob.objects.get().processed_rows == 0


def test_a_finished_job_run_again_changes_nothing(run_import):
    job = run_import(csv_bytes([row("张三", "13800138000")]))
    again = import_job_process(job_id=job.pk)
    assert again.created_count == 1 and Customer.objects.count() == 1


def test_xlsx_with_date_and_number_cells(run_import):
    rows = [
        ["张三", 13800138000, GOOD_ID, "男", datetime.datetime(1990, 3, 7), "来访", "", 250,
         100, "", "", ""],
        ["李四", "13900001111", "", "女", 32000, "", "", "", "", "", "", ""],  # Excel serial
        [None] * 12,  # blank rows are skipped, not rejected
        ["", "13900002222", "", "", "", "", "", "", "", "", "", ""],
    ]
    job = run_import(xlsx_bytes(rows), name="客户.xlsx")
    assert job.file_format == "xlsx"
    assert (job.created_count, job.rejected_count) == (2, 1)
    zhang = Customer.objects.get(name="张三")
    assert zhang.primary_phone == "+8613800138000"
    assert zhang.birthday == datetime.date(1990, 3, 7)
    assert Customer.objects.get(name="李四").birthday == datetime.date(1987, 8, 11)
    assert ImportRejectedRow.objects.get(job=job).row_number == 5


def test_gb18030_csv_from_chinese_excel(run_import):
    job = run_import(csv_bytes([row("张三", "13800138000")], encoding="gb18030"))
    assert job.created_count == 1
    assert Customer.objects.get().name == "张三"


def test_known_headers_are_mapped_and_odd_ones_left_for_the_user():
    columns, unknown = auto_mapping(["客户姓名", "手机", "电话", "预算（万元）", "Handy",
                                     "出生日期", "错误原因"])
    assert columns == {"0": "name", "1": "phone", "2": "phone2", "3": "budget", "4": "",
                       "5": "birthday", "6": ""}
    assert unknown == [4]


def test_mapping_step_for_odd_headers(people, org, client_for, django_capture_on_commit_callbacks):
    content = csv_bytes([["张三", "13800138000", "x"]], headers=["Kundenname", "Handy", "Egal"])
    client = client_for(people["consultant"])
    client.cookies["django_language"] = "en"
    response = client.post(reverse("customers:import_list"), {
        "file": SimpleUploadedFile("odd.csv", content), "project": org["a"].pk})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.mapping["columns"] == {"0": "", "1": "", "2": ""}
    page = client.get(response["Location"]).content.decode()
    assert "Kundenname" in page and "Handy" in page
    # starting without a name and a phone is refused, with the reason
    response = client.post(response["Location"], {"action": "start"})
    assert response.status_code == 400
    assert "Choose which column holds the name" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:import_detail", args=[job.pk]),
                               {"col_0": "name", "col_1": "phone", "col_2": "",
                                "action": "start"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and job.created_count == 1
    assert job.mapping["columns"] == {"0": "name", "1": "phone", "2": ""}
    assert Customer.objects.get().primary_phone == "+8613800138000"


def test_preview_shows_per_row_errors_before_anything_is_written(people, org, client_for,
                                                                 make_customer):
    make_customer("老客户", phones=["13800138000"])
    content = csv_bytes([row("张三", "13800"), row("老客户", "138 0013 8000"),
                         row("李四", "13900001111")])
    client = client_for(people["consultant"])
    response = client.post(reverse("customers:import_list"), {
        "file": SimpleUploadedFile("c.csv", content), "project": org["a"].pk})
    page = client.get(response["Location"]).content.decode()
    assert Customer.objects.count() == 1
    assert 'class="preview-rejected" data-row="2"' in page
    assert 'class="preview-duplicate" data-row="3"' in page
    assert 'class="preview-ok" data-row="4"' in page
    assert "电话号码太短" in page  # the page's language (Chinese by default)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100, "save it as .xlsx"),
    ("scan.pdf", b"%PDF-1.4 ...", "Upload an Excel workbook (.xlsx) or a CSV file"),
    ("fake.xlsx", b"name,phone\n", "not a valid .xlsx workbook"),
    ("empty.csv", b"", "file is empty"),
])
def test_other_files_get_a_clear_error(people, org, client_for, name, content, message):
    client = client_for(people["consultant"])
    client.cookies["django_language"] = "en"
    response = client.post(reverse("customers:import_list"), {
        "file": SimpleUploadedFile(name, content), "project": org["a"].pk})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_files_above_the_size_limit_are_refused(people, org, client_for, settings):
    settings.ANJU_IMPORT_MAX_BYTES = 50
    client = client_for(people["consultant"])
    client.cookies["django_language"] = "en"
    response = client.post(reverse("customers:import_list"), {
        "file": SimpleUploadedFile("big.csv", csv_bytes([row("张三", "13800138000")] * 5)),
        "project": org["a"].pk})
    assert response.status_code == 400
    assert "at most 50" in response.content.decode()


def test_project_out_of_scope_is_refused(people, org):
    with pytest.raises(Exception) as caught:
        services.import_job_create(actor=people["consultant"], project=org["c"],
                                   upload=SimpleUploadedFile("a.csv", csv_bytes([])))
    assert "project" in caught.value.message_dict


def test_error_sheet_has_the_original_columns_a_reason_and_is_formula_safe(run_import):
    job = run_import(csv_bytes([row("=HYPERLINK(\"http://x\")", "13800"),
                                row("李四", "13900001111")]))
    workbook = openpyxl.load_workbook(error_sheet(job))
    sheet = workbook.active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == [*HEADERS, "Reason rejected", "Row in the uploaded file"]
    assert values[1][0] == "'=HYPERLINK(\"http://x\")"
    assert values[1][1] == "13800"
    assert values[1][12] == "手机号: This phone number is too short."
    assert values[1][13] == 2
    assert len(values) == 2
    assert all(cell.data_type != "f" for cells in sheet.iter_rows() for cell in cells)


def test_error_sheet_download_in_chinese(run_import, client_for, people):
    job = run_import(csv_bytes([row("张三", "13800")]), language="zh-hans")
    response = client_for(people["consultant"]).get(
        reverse("customers:import_errors", args=[job.pk]))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.cell(2, 13).value == "手机号: 电话号码太短。"
    # another consultant cannot see the job at all
    other = client_for(people["outsider"]).get(
        reverse("customers:import_errors", args=[job.pk]))
    assert other.status_code == 404


def test_progress_endpoint_polls_while_running_and_stops_when_done(run_import, people, org,
                                                                    client_for):
    job = run_import(csv_bytes([row("张三", "13800138000"), row("短号", "1")]))
    client = client_for(people["consultant"])
    url = reverse("customers:import_progress", args=[job.pk])
    html = client.get(url).content.decode()
    assert 'data-state="done"' in html and "hx-trigger" not in html
    assert 'id="import-created">1<' in html and 'id="import-rejected">1<' in html
    ImportJob.objects.filter(pk=job.pk).update(state="running", processed_rows=1,
                                               total_rows=2)
    html = client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in html and '<progress max="2" value="1">' in html
    # the manager of the project follows it; a consultant of another company cannot
    assert client_for(people["manager"]).get(url).status_code == 200
    assert client_for(people["outsider"]).get(url).status_code == 404


def test_owner_can_be_a_chosen_consultant_but_not_by_a_consultant(run_import, people, org):
    job = run_import(csv_bytes([row("张三", "13800138000")]), user=people["manager"],
                     owner=people["peer"])
    assert Customer.objects.get().owner == people["peer"] and job.created_count == 1
    with pytest.raises(Exception) as caught:
        services.import_job_create(actor=people["consultant"], project=org["a"],
                                   owner=people["peer"],
                                   upload=SimpleUploadedFile("a.csv", csv_bytes([])))
    assert "owner" in caught.value.message_dict


def test_fast_phone_path_agrees_with_the_full_parser():
    rng = random.Random(4)
    samples = [f"1{rng.randint(0, 99):02d}{rng.randint(0, 99999999):08d}" for _ in range(3000)]
    samples += ["+86 138 0013 8000", "138-0013-8000", "(138) 0013 8000", "14012345678"]
    for sample in samples:
        try:
            expected = normalise_phone(sample)
        except Exception:
            expected = None
        _phone.cache_clear()
        try:
            got = _phone(sample)
        except Exception:
            got = None
        assert got == expected, sample


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_pages_make_a_constant_number_of_queries(run_import, people, client_for):
    client = client_for(people["consultant"])
    run_import(csv_bytes([row("张三", "13800138000")]))
    list_url = reverse("customers:import_list")
    _count(client, list_url)  # the page frame keeps a few things a while (names, menus)
    few = _count(client, list_url)
    for index in range(4):
        run_import(csv_bytes([row(f"客户{index}", f"1390000{index:04d}")]))
    assert _count(client, list_url) == few
    job = ImportJob.objects.first()
    progress = _count(client, reverse("customers:import_progress", args=[job.pk]))
    bad = run_import(csv_bytes([row("短号", "13800")] * 5))
    assert _count(client, reverse("customers:import_progress", args=[bad.pk])) == progress
    upload = SimpleUploadedFile("p.csv", csv_bytes([row(f"客户{i}", f"1370000{i:04d}")
                                                     for i in range(30)]))
    draft = services.import_job_create(actor=people["consultant"], upload=upload,
                                       project=job.project)
    detail = reverse("customers:import_detail", args=[draft.pk])
    small = _count(client, detail)
    assert small <= 12
    upload = SimpleUploadedFile("p2.csv", csv_bytes([row(f"客户{i}", f"1360000{i:04d}")
                                                      for i in range(3)]))
    draft2 = services.import_job_create(actor=people["consultant"], upload=upload,
                                        project=job.project)
    assert _count(client, reverse("customers:import_detail", args=[draft2.pk])) == small
