"""Price-list import (一房一价): preview with per-row errors, cancel writes nothing, apply
writes the good rows once, the error sheet in the reader's language, re-import is a no-op."""

import csv
import io
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import Workbook, load_workbook

from anju.property.models import Building, PriceImport, Unit
from anju.property.price_import import (
    price_import_apply,
    price_import_cancel,
    price_import_check,
)
from anju.property.services import unit_transition

HEADER = ["楼栋", "房号", "户型", "建筑面积", "套内面积", "表价", "单价", "底价"]


def rows():
    return [
        HEADER,
        ["1号楼", "101", "A户型", "98.50", "80.00", "1200000", "", "1150000"],  # change
        ["1", "1-102", "", "", "", "", "12500", ""],  # code + label, unit price × 98.50
        ["1号楼", "201", "", "", "", "1020000.00", "", "969000.00"],  # same as now
        ["9号楼", "101", "", "", "", "1000000", "", ""],  # unknown building
        ["1号楼", "999", "", "", "", "1000000", "", ""],  # unknown unit
        ["1号楼", "202", "Z户型", "", "", "abc", "", ""],  # two reasons
        ["1号楼", "301", "", "", "", "1000000", "", "1200000"],  # floor above list
        ["1号楼", "101", "", "", "", "1300000", "", ""],  # twice in the file
        ["", "", "", "", "", "", "", ""],  # blank: skipped
        ["1号楼", "302", "", "98.50", "", "1000000", "20000", ""],  # mismatch
    ]


def csv_bytes(table) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(table)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(table) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in table:
        sheet.append([float(c) if c.replace(".", "").isdigit() and "." in c else c
                      for c in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def building(make_building):
    return make_building(floors=3, per_floor=2, code="1")


@pytest.mark.parametrize(("name", "make"), [("价格.csv", csv_bytes), ("价格.xlsx", xlsx_bytes)])
def test_preview_then_apply_once(staff, org, building, name, make):
    job = price_import_check(actor=staff["manager"], project_id=org["a"].pk, name=name,
                             data=make(rows()))
    assert job.state == "preview"
    assert (job.total_rows, job.changed_count, job.unchanged_count, job.rejected_count) == (
        9, 2, 1, 6)
    assert Unit.objects.get(label="1-101").list_price == Decimal("1010000.00")  # not yet
    rejected = {r["row"]: r for r in job.rejected}
    assert sorted(rejected) == [5, 6, 7, 8, 9, 11]
    assert len(rejected[7]["reasons"]) == 2

    applied = price_import_apply(actor=staff["manager"], import_id=job.pk)
    assert applied.applied_count == 2
    first = Unit.objects.get(label="1-101")
    assert (first.list_price, first.floor_price, first.usable_area) == (
        Decimal("1200000.00"), Decimal("1150000.00"), Decimal("80.00"))
    assert Unit.objects.get(label="1-102").list_price == Decimal("1231250.00")
    assert Building.objects.get(pk=building.pk).revision == 1
    assert LogEntry.objects.get_for_object(first).count() == 1
    with pytest.raises(ValidationError):
        price_import_apply(actor=staff["manager"], import_id=job.pk)

    again = price_import_check(actor=staff["manager"], project_id=org["a"].pk, name=name,
                               data=make(rows()))
    assert (again.changed_count, again.unchanged_count) == (0, 3)
    price_import_apply(actor=staff["manager"], import_id=again.pk)
    assert Building.objects.get(pk=building.pk).revision == 1
    assert LogEntry.objects.get_for_object(first).count() == 1


def test_cancel_writes_nothing(staff, org, building):
    job = price_import_check(actor=staff["manager"], project_id=org["a"].pk, name="p.csv",
                             data=csv_bytes(rows()))
    price_import_cancel(actor=staff["manager"], import_id=job.pk)
    assert Unit.objects.get(label="1-101").list_price == Decimal("1010000.00")
    with pytest.raises(ValidationError):
        price_import_apply(actor=staff["manager"], import_id=job.pk)
    assert PriceImport.objects.get(pk=job.pk).state == "cancelled"


def test_units_taken_by_a_deal_keep_their_price(staff, org, building):
    unit = Unit.objects.get(label="1-101")
    unit_transition(unit_id=unit.pk, to_status="reserved", actor=staff["manager"])
    job = price_import_check(actor=staff["manager"], project_id=org["a"].pk, name="p.csv",
                             data=csv_bytes(rows()[:2]))
    assert job.rejected_count == 1 and job.changed_count == 0
    # taken between the preview and the apply: skipped, reported
    other = Unit.objects.get(label="1-102")
    job = price_import_check(actor=staff["manager"], project_id=org["a"].pk, name="p.csv",
                             data=csv_bytes([HEADER, rows()[2]]))
    unit_transition(unit_id=other.pk, to_status="held", actor=staff["manager"])
    job = price_import_apply(actor=staff["manager"], import_id=job.pk)
    assert job.applied_count == 0 and job.rejected_count == 1
    assert Unit.objects.get(pk=other.pk).list_price == Decimal("1010000.00")


@pytest.mark.parametrize(("name", "data", "text"), [
    ("p.csv", b"", "empty"),
    ("p.xls", b"\xd0\xcf\x11\xe0xxxx", ".xls"),
    ("p.xlsx", b"PK\x03\x04 broken", "xlsx"),
    ("p.pdf", b"%PDF", "xlsx"),
    ("p.csv", "楼栋,户型\n1号楼,A\n".encode(), "房号"),
])
def test_bad_files_are_refused_clearly(staff, org, building, name, data, text):
    with translation.override("en"), pytest.raises(ValidationError) as error:
        price_import_check(actor=staff["manager"], project_id=org["a"].pk, name=name,
                           data=data)
    assert text in " ".join(error.value.message_dict["file"])
    assert not PriceImport.objects.exists()


def test_import_pages_and_error_sheet_in_the_users_language(staff, org, building, client_for):
    client = client_for(staff["manager"])
    assert client.get("/property/imports/").status_code == 200
    upload = SimpleUploadedFile("价格表.csv", csv_bytes(rows()))
    response = client.post("/property/imports/", {"project": org["a"].pk, "file": upload})
    job = PriceImport.objects.get()
    assert response.status_code == 302 and response.url == f"/property/imports/{job.pk}/"
    page = client.get(response.url).content.decode()
    assert "没有楼栋“9号楼”" in page and 'id="changed-count">2<' in page

    sheet = client.get(f"/property/imports/{job.pk}/errors/")
    assert sheet.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(sheet.streaming_content)))
    values = list(book.active.values)
    assert values[0][-2:] == ("错误原因", "原文件行号")
    assert values[1][0] == "9号楼" and "没有楼栋" in values[1][-2]
    client.cookies["django_language"] = "en"
    english = load_workbook(io.BytesIO(b"".join(
        client.get(f"/property/imports/{job.pk}/errors/").streaming_content)))
    assert "no building" in list(english.active.values)[1][-2]

    assert client.post(f"/property/imports/{job.pk}/apply/").status_code == 302
    assert Unit.objects.get(label="1-101").list_price == Decimal("1200000.00")
    assert client_for(staff["consultant"]).get("/property/imports/").status_code == 403
    assert client_for(staff["outsider"]).get(f"/property/imports/{job.pk}/").status_code == 404


def test_import_page_query_count(staff, org, building, client_for, page_queries):
    client = client_for(staff["manager"])
    job = price_import_check(actor=staff["manager"], project_id=org["a"].pk, name="p.csv",
                             data=csv_bytes(rows()))
    page_queries(client, f"/property/imports/{job.pk}/")
    assert page_queries(client, f"/property/imports/{job.pk}/")[1] == 2  # import, unit types
    big = price_import_check(actor=staff["manager"], project_id=org["a"].pk, name="p.csv",
                             data=csv_bytes(rows() + rows()[1:] * 5))
    assert page_queries(client, f"/property/imports/{big.pk}/") == page_queries(
        client, f"/property/imports/{job.pk}/")
    assert page_queries(client, "/property/imports/")[1] == 1  # recent imports
