import csv
import datetime
import decimal
import io
import zipfile

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from anju.core.exports import Column, ExportNeedsApproval, export_table, neutralise

PHONE = "+8613800138000"
ID = "11010519491231002X"

ROWS = [
    {"name": "张三", "phone": PHONE, "id_number": ID, "budget": decimal.Decimal("1250000.50"),
     "born": datetime.date(1949, 12, 31),
     "seen": datetime.datetime(2026, 11, 24, 2, 30, tzinfo=datetime.UTC)},
    {"name": "=HYPERLINK(\"http://evil\",\"click\")", "phone": "+861088886666",
     "id_number": "", "budget": None, "born": None, "seen": None},
    {"name": "+1+2", "phone": "", "id_number": None, "budget": 0, "born": None, "seen": None},
    {"name": "-3", "phone": None, "id_number": None, "budget": -5, "born": None, "seen": None},
    {"name": "@SUM(A1)", "phone": None, "id_number": None, "budget": None, "born": None,
     "seen": None},
    {"name": "\tcmd", "phone": None, "id_number": None, "budget": None, "born": None, "seen": None},
]

COLUMNS = [
    Column("姓名", "name"),
    Column("手机", "phone", kind="phone"),
    Column("身份证号", "id_number", kind="id_number"),
    Column("预算", "budget", kind="money"),
    Column("出生日期", "born", kind="date"),
    Column("来访时间", "seen", kind="datetime"),
]


def make_user(username, role_code):
    from anju.accounts.models import Role

    return get_user_model().objects.create_user(
        username=username, password="pw-" + "x" * 12, role=Role.objects.get(code=role_code),
        phone=PHONE, display_name="用户" + username)


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content(response).decode("utf-8-sig"))))


def read_xlsx(response):
    return openpyxl.load_workbook(io.BytesIO(content(response))).active


@pytest.fixture
def marketing(db):
    return make_user("marketing1", "marketing")          # export, no unmask


@pytest.fixture
def manager(db):
    return make_user("manager1", "sales_manager")        # export, unmask, approve


def test_neutralise():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("+86") == "'+86"
    assert neutralise("-3") == "'-3"
    assert neutralise("@x") == "'@x"
    assert neutralise("\tx") == "'\tx"
    assert neutralise("\rx") == "'\rx"
    assert neutralise("张三") == "张三"


@pytest.mark.django_db
def test_user_without_export_right_is_refused_and_nothing_logged():
    from anju.core.models import SensitiveAccess

    consultant = make_user("consultant1", "sales_consultant")
    with pytest.raises(PermissionDenied):
        export_table(user=consultant, target="test.rows", columns=COLUMNS, rows=ROWS,
                     file_format="csv", filename="x")
    assert not SensitiveAccess.objects.exists()


@pytest.mark.django_db
def test_csv_masks_neutralises_and_logs(marketing):
    from anju.core.models import SensitiveAccess

    response = export_table(user=marketing, target="test.rows", columns=COLUMNS, rows=ROWS,
                            file_format="csv", filename="客户列表", unmask=True)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert "filename*=utf-8''%E5%AE%A2" in response["Content-Disposition"]
    table = read_csv(response)
    assert table[0] == ["姓名", "手机", "身份证号", "预算", "出生日期", "来访时间"]
    # Masked although unmask was asked: marketing may not unmask.
    assert table[1] == ["张三", "138****8000", "1****************X", "1250000.50", "1949-12-31",
                        "2026-11-24 10:30:00"]      # shown in Asia/Shanghai
    assert table[2][:2] == ["'=HYPERLINK(\"http://evil\",\"click\")", "010****6666"]
    assert [row[0] for row in table[3:]] == ["'+1+2", "'-3", "'@SUM(A1)", "'\tcmd"]
    assert table[4][3] == "-5"       # a number stays a number

    access = SensitiveAccess.objects.get()
    assert access.action == "export" and access.target == "test.rows"
    assert access.user == marketing
    assert access.detail["rows"] == 6
    assert access.detail["columns"] == ["姓名", "手机", "身份证号", "预算", "出生日期", "来访时间"]
    assert access.detail["format"] == "csv"
    assert access.detail["unmasked"] is False


@pytest.mark.django_db
def test_unmasked_only_when_allowed_and_asked(manager):
    from anju.core.models import SensitiveAccess

    masked = read_csv(export_table(user=manager, target="t", columns=COLUMNS, rows=ROWS[:1],
                                   file_format="csv", filename="x"))
    assert masked[1][1:3] == ["138****8000", "1****************X"]
    plain = read_csv(export_table(user=manager, target="t", columns=COLUMNS, rows=ROWS[:1],
                                  file_format="csv", filename="x", unmask=True))
    assert plain[1][1:3] == ["138 0013 8000", ID]
    assert [a.detail["unmasked"] for a in SensitiveAccess.objects.order_by("id")] == [False, True]


@pytest.mark.django_db
def test_xlsx_writes_formulas_as_text_and_masks(marketing):
    response = export_table(user=marketing, target="test.rows", columns=COLUMNS, rows=ROWS,
                            file_format="xlsx", filename="客户列表")
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "xlsx" in response["Content-Disposition"]
    raw = content(response)
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml                    # not a single formula cell

    sheet = openpyxl.load_workbook(io.BytesIO(raw)).active
    rows = list(sheet.iter_rows(values_only=False))
    assert [c.value for c in rows[0]] == [str(column.header) for column in COLUMNS]
    first = rows[1]
    assert [c.value for c in first[:3]] == ["张三", "138****8000", "1****************X"]
    assert first[3].value == pytest.approx(1250000.5) and first[3].data_type == "n"
    assert first[4].value == datetime.datetime(1949, 12, 31)
    assert first[5].value == datetime.datetime(2026, 11, 24, 10, 30)
    for row, text in zip(rows[2:], ['=HYPERLINK("http://evil","click")', "+1+2", "-3",
                                    "@SUM(A1)", "\tcmd"], strict=True):
        assert row[0].value == text
        assert row[0].data_type == "s"


@pytest.mark.django_db
def test_big_exports_need_approval(settings, marketing, manager):
    from anju.core.models import SensitiveAccess

    settings.ANJU_EXPORT_APPROVAL_THRESHOLD = 3
    small = export_table(user=marketing, target="t", columns=COLUMNS, rows=ROWS[:3],
                         file_format="xlsx", filename="x")
    assert small.status_code == 200
    with pytest.raises(ExportNeedsApproval) as info:
        export_table(user=marketing, target="t", columns=COLUMNS, rows=iter(ROWS),
                     file_format="xlsx", filename="x")
    assert info.value.threshold == 3
    assert isinstance(info.value, PermissionDenied)
    assert "3" in str(info.value)
    # A user who may approve exports is not stopped.
    assert len(read_csv(export_table(user=manager, target="t", columns=COLUMNS, rows=ROWS,
                                     file_format="csv", filename="x"))) == 7
    assert SensitiveAccess.objects.count() == 2       # the refused export is not logged


@pytest.mark.django_db
def test_a_refused_export_closes_its_database_iterator(settings, marketing):
    """A half-read `.iterator()` holds a server-side cursor on PostgreSQL; left to garbage
    collection it would be closed inside a later transaction and abort it."""
    import inspect

    from django.contrib.auth import get_user_model

    settings.ANJU_EXPORT_APPROVAL_THRESHOLD = 1
    for index in range(3):
        get_user_model().objects.create(username=f"row{index}")
    rows = get_user_model().objects.order_by("id").iterator(chunk_size=1)
    with pytest.raises(ExportNeedsApproval):
        export_table(user=marketing, target="t", columns=[Column("user", "username")],
                     rows=rows, file_format="csv", filename="x")
    assert inspect.getgeneratorstate(rows) == inspect.GEN_CLOSED
    assert get_user_model().objects.filter(username="row2").exists()


@pytest.mark.django_db
def test_export_of_a_queryset_in_constant_queries(marketing, django_assert_num_queries):
    User = get_user_model()
    for index in range(20):
        make_user(f"u{index}", "sales_consultant")
    columns = [Column("用户名", "username"), Column("姓名", "display_name"),
               Column("角色", lambda u: u.role.code), Column("手机", "phone", kind="phone"),
               Column("加入", "date_joined", kind="datetime"), Column("启用", "is_active",
                                                                   kind="bool")]
    marketing.may("export")  # loads the role once, as the request would have
    with django_assert_num_queries(2):  # the rows, and the log row
        response = export_table(user=marketing, target="accounts.user", columns=columns,
                                rows=User.objects.select_related("role").order_by("id"),
                                file_format="xlsx", filename="users")
    sheet = read_xlsx(response)
    assert sheet.max_row == 22  # header, marketing1 and 20 more
    assert sheet.cell(row=3, column=4).value == "138****8000"
    assert sheet.cell(row=3, column=6).value == "是"
    assert isinstance(sheet.cell(row=3, column=5).value, datetime.datetime)
    joined = timezone.localtime(User.objects.order_by("id")[1].date_joined).replace(tzinfo=None)
    assert abs(sheet.cell(row=3, column=5).value - joined) < datetime.timedelta(seconds=1)


def test_column_kinds_are_checked():
    with pytest.raises(ValueError):
        Column("x", "x", kind="colour")


@pytest.mark.django_db
def test_nested_accessors_and_english_headers(marketing):
    from django.utils.translation import gettext_lazy as _
    from django.utils.translation import override

    rows = [{"customer": {"name": "李四"}}]
    with override("en"):
        table = read_csv(export_table(user=marketing, target="t", filename="x", file_format="csv",
                                      columns=[Column(_("Name"), "customer.name")], rows=rows))
    assert table == [["Name"], ["李四"]]
